"""``Controller``: the app's state and the jobs that change it, without a widget in sight.

It holds the engine session, the current file's analysis and results, the selected
segment, the attribute weights and the chosen soundtrack, and sends every piece of engine
work to the right pool (:class:`mvpt_desktop.workers.Workers`). Widgets connect to its
signals; tests drive it directly.
"""

from __future__ import annotations

import itertools
from pathlib import Path

from PySide6.QtCore import QObject, QTimer, Signal

from engine.session import EngineSession
from engine.settings import EngineSettings

from . import tasks
from .export import Soundtrack, export_job, spec_for
from .settings import GuiSettings
from .workers import JobHandle, Workers

RERANK_DELAY_MS = 40
"""Slider moves within this time are ranked once (the latest weights win)."""


class Controller(QObject):
    statusChanged = Signal(object)
    """:class:`tasks.EngineStatus`"""
    jobStarted = Signal(str, object)
    """(what is running, in words; its :class:`JobHandle`) for the progress bar."""
    opened = Signal(object)
    """:class:`tasks.Opened`: a new file was analysed."""
    resultsChanged = Signal(object)
    """:class:`tasks.Results`"""
    segmentChanged = Signal(int)
    attributesChanged = Signal(object)
    """tuple of :class:`tasks.AttributeInfo`"""
    choiceChanged = Signal(object)
    """:class:`export.Soundtrack` or None"""
    previewReady = Signal(str)
    exported = Signal(object)
    """:class:`export.ExportResult`"""
    failed = Signal(str, str)
    """(what failed, a message a creator understands)"""
    info = Signal(str)
    attributeMatrixReady = Signal(object)
    """:class:`insights.AttributeMatrix` (the Insights view's genre x class matrix)"""

    def __init__(self, settings: EngineSettings | None = None, gui: GuiSettings | None = None,
                 session: EngineSession | None = None, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.gui = gui or GuiSettings.load()
        self._owns_session = session is None
        self.session = session or EngineSession(settings or EngineSettings.load())
        self.workers = Workers(self)
        self.status: tasks.EngineStatus | None = None
        self.current: tasks.Opened | None = None
        self.results: tasks.Results | None = None
        self.segment = -1
        self.weights: dict[str, float] = {}
        self.attributes: tuple[tasks.AttributeInfo, ...] = ()
        self.choice: Soundtrack | None = None
        self.analysis_job: JobHandle | None = None
        self.rank_job: JobHandle | None = None
        self.preview_job: JobHandle | None = None
        self._rank_ids = itertools.count(1)
        self._rank_latest = 0
        self._rerank_timer = QTimer(self, singleShot=True, interval=RERANK_DELAY_MS)
        self._rerank_timer.timeout.connect(self._rerank_now)
        self.attribute_matrix = None  # the last insights.AttributeMatrix

    @property
    def k(self) -> int:
        return int(self.session.settings.top_k)

    def _submit(self, pool: str, label: str, factory, on_result=None, what: str | None = None) -> JobHandle:
        handle = getattr(self.workers, pool).submit(factory, label)
        if on_result is not None:
            handle.returned.connect(on_result)
        handle.errored.connect(lambda msg: self.failed.emit(what or label, msg))
        self.jobStarted.emit(label, handle)
        return handle

    # -- the engine ----------------------------------------------------------------------------
    def start(self) -> JobHandle:
        """Load the model in the inference worker and say what is active."""
        session = self.session
        return self._submit("inference", "Loading the model", lambda cancel: tasks.engine_status(session),
                            self._status_ready)

    def _status_ready(self, status: tasks.EngineStatus) -> None:
        self.status = status
        self.attributes = status.attributes
        self.statusChanged.emit(status)
        self.attributesChanged.emit(self.attributes)

    def apply_settings(self, settings: EngineSettings, save: bool = True) -> JobHandle:
        """A new session from new settings (the old one is closed on the inference thread)."""
        if save:
            settings.save()
        old, self.session = self.session, EngineSession(settings)
        if self._owns_session:
            self.workers.inference.submit(lambda cancel: old.close(), "close session")
        self._owns_session = True
        self.current = self.results = None
        return self.start()

    # -- opening a file ------------------------------------------------------------------------
    def open_file(self, path: str) -> JobHandle:
        """Analyse ``path`` (footage, or a song for footage-for-music) and rank at once."""
        if self.analysis_job is not None and not self.analysis_job.done:
            self.analysis_job.cancel()
        session, k, weights = self.session, self.k, dict(self.weights)
        name = Path(path).name
        self.analysis_job = self._submit(
            "inference", f"Analysing {name}",
            lambda cancel: tasks.open_media(session, path, k, weights, cancel), self._opened,
            what=f"Cannot open {name}")
        return self.analysis_job

    def cancel_analysis(self) -> None:
        if self.analysis_job is not None:
            self.analysis_job.cancel()

    def _opened(self, opened: tasks.Opened) -> None:
        self.current = opened
        self.results = opened.results
        self.attributes = opened.attributes
        self.choice = None
        self.segment = 0 if len(opened.analysis) else -1
        self.attributesChanged.emit(self.attributes)
        self.opened.emit(opened)
        self.resultsChanged.emit(self.results)
        self.segmentChanged.emit(self.segment)
        self.choiceChanged.emit(None)
        if not opened.is_music and opened.results.whole:
            self.choose_track(opened.results.whole[0])

    # -- selection -----------------------------------------------------------------------------
    def select_segment(self, index: int) -> None:
        if self.current is None:
            return
        index = max(0, min(int(index), len(self.current.analysis) - 1))
        if index != self.segment:
            self.segment = index
            self.segmentChanged.emit(index)

    def step_segment(self, delta: int) -> None:
        self.select_segment(self.segment + delta)

    def segment_rows(self, index: int | None = None) -> tuple[tasks.SuggestionRow, ...]:
        i = self.segment if index is None else index
        if self.results is None or not 0 <= i < len(self.results.per_segment):
            return ()
        return self.results.per_segment[i]

    def segment_start(self, index: int | None = None) -> float:
        i = self.segment if index is None else index
        if self.current is None or not 0 <= i < len(self.current.analysis):
            return 0.0
        return float(self.current.analysis.starts[i])

    # -- attributes ----------------------------------------------------------------------------
    def set_weight(self, name: str, weight: float) -> None:
        """Re-rank every list with ``name`` at ``weight`` (−1…1); the video is not re-analysed."""
        w = max(-1.0, min(1.0, float(weight)))
        if abs(w) < 1e-6:
            self.weights.pop(name, None)
        else:
            self.weights[name] = w
        self._rerank_timer.start()

    def rerank(self) -> JobHandle | None:
        self._rerank_timer.stop()
        return self._rerank_now()

    def _rerank_now(self) -> JobHandle | None:
        if self.current is None:
            return None
        if self.rank_job is not None and not self.rank_job.done:
            self.rank_job.cancel()  # its result would be stale anyway
        rid = next(self._rank_ids)
        self._rank_latest = rid
        session, analysis, k, weights = self.session, self.current.analysis, self.k, dict(self.weights)
        self.rank_job = self.workers.inference.submit(
            lambda cancel: tasks.rank(session, analysis, k, weights), "rank")
        self.rank_job.returned.connect(lambda res, rid=rid: self._ranked(rid, res))
        self.rank_job.errored.connect(lambda msg: self.failed.emit("Cannot re-rank", msg))
        return self.rank_job

    def _ranked(self, rid: int, results: tasks.Results) -> None:
        if rid != self._rank_latest:
            return
        self.results = results
        self.resultsChanged.emit(results)

    def create_attribute(self, name: str, *, images: str | None = None, audio: str | None = None,
                         text: str | None = None, domain: str | None = None) -> JobHandle:
        from engine.attributes import create_attribute

        session = self.session

        def job(cancel):
            yield from create_attribute(session, name, images=images, audio=audio, text=text, domain=domain,
                                        cancel=cancel)
            return tasks.attribute_infos(session)

        return self._submit("inference", f"Creating attribute '{name}'", job, self._attributes_loaded,
                            what=f"Cannot create '{name}'")

    def delete_attribute(self, name: str) -> JobHandle:
        session = self.session
        self.weights.pop(name, None)

        def job(cancel):
            session.library.catalog.delete_attribute(name, session.checkpoint_id)
            return tasks.attribute_infos(session)

        handle = self._submit("inference", f"Deleting attribute '{name}'", job, self._attributes_loaded)
        handle.returned.connect(lambda _: self.rerank())
        return handle

    def _attributes_loaded(self, infos) -> None:
        self.attributes = tuple(infos)
        self.attributesChanged.emit(self.attributes)

    # -- the soundtrack: choice, preview, export -------------------------------------------------
    def choose_suggestion(self, row: tasks.SuggestionRow) -> Soundtrack:
        """Use this track so that its suggested segment plays under the selected scene."""
        s = row.suggestion
        scene = self.segment_start()
        offset = s.start - scene
        note = f"its {s.start:.1f} s plays under the scene at {scene:.1f} s"
        if offset < 0:
            note = f"starts at the track's beginning (the scene at {scene:.1f} s gets its {scene:.1f} s)"
        return self._choose(Soundtrack(s.path, row.name, max(0.0, offset), s.item_id, note))

    def choose_track(self, row: tasks.TrackRow) -> Soundtrack:
        t = row.track
        return self._choose(Soundtrack(t.path, row.name, float(t.offset or 0.0), t.item_id,
                                       "best fit for the whole video"))

    def _choose(self, choice: Soundtrack) -> Soundtrack:
        self.choice = choice
        self.choiceChanged.emit(choice)
        return choice

    def _spec(self):
        g = self.gui
        return spec_for(self.choice, g.fade_in, g.fade_out, g.original_level)

    def make_preview(self) -> JobHandle | None:
        """Mux the footage with the chosen music into the cache; ``previewReady`` gives the file."""
        if self.current is None or self.current.is_music or self.choice is None:
            return None
        if self.preview_job is not None and not self.preview_job.done:
            self.preview_job.cancel()
        video, spec = self.current.analysis.path, self._spec()
        out = tasks.preview_path(video, spec.music_path, spec.music_offset, spec.original_level,
                                 spec.fade_in, spec.fade_out)
        self.preview_job = self._submit("io", "Preparing the preview",
                                        lambda cancel: tasks.make_preview(video, spec, out, cancel),
                                        lambda p: self.previewReady.emit(str(p)), what="Cannot preview")
        return self.preview_job

    def export(self, mp4: str | None, otio_path: str | None) -> JobHandle | None:
        if self.current is None or self.current.is_music or self.choice is None:
            self.failed.emit("Nothing to export", "open footage and choose music for it first")
            return None
        video, choice, g = self.current.analysis.path, self.choice, self.gui
        return self._submit("io", "Exporting",
                            lambda cancel: export_job(video, choice, mp4, otio_path, fade_in=g.fade_in,
                                                      fade_out=g.fade_out, original_level=g.original_level,
                                                      cancel=cancel),
                            self.exported.emit, what="Export failed")

    # -- the library ------------------------------------------------------------------------
    def add_library_folder(self, folder: str, kind: str) -> JobHandle:
        """Scan ``folder`` (io pool, worker processes), then embed it (inference thread)."""
        session = self.session

        def embed_after(report) -> None:
            self._submit("inference", f"Indexing {kind} for the model",
                         lambda cancel: _embed_job(session, kind, cancel), lambda _r: self.info.emit("library ready"),
                         what="Indexing failed")

        handle = self._submit("io", f"Scanning {Path(folder).name}", lambda cancel: tasks.scan_job(session, folder, kind, cancel),
                              embed_after, what=f"Cannot scan {folder}")
        folders = "music_folders" if kind == "music" else "footage_folders"
        current = getattr(self.session.settings, folders)
        if str(folder) not in current:
            s = self.session.settings.with_(**{folders: (*current, str(folder))})
            self.session.settings = s
            if self.gui.persist:
                s.save()
        return handle

    def remove_library_folder(self, folder: str) -> JobHandle:
        session = self.session
        for key in ("music_folders", "footage_folders"):
            current = getattr(session.settings, key)
            if folder in current:
                session.settings = session.settings.with_(**{key: tuple(f for f in current if f != folder)})
        if self.gui.persist:
            session.settings.save()
        return self._submit("io", f"Removing {Path(folder).name}", lambda cancel: session.library.remove_folder(folder),
                            what=f"Cannot remove {folder}")

    # -- exit ----------------------------------------------------------------------------------
    # -- insights ------------------------------------------------------------------------------
    def compute_attribute_matrix(self, images: str) -> JobHandle:
        """The library's music genres against a labelled image set (the Insights view)."""
        from .insights import attribute_matrix_job

        session = self.session

        def done(m) -> None:
            self.attribute_matrix = m
            self.attributeMatrixReady.emit(m)

        return self._submit("inference", "Attribute matrix", lambda cancel: attribute_matrix_job(session, images, cancel),
                            done, what="Cannot make the attribute matrix")

    def shutdown(self, timeout: float = 5.0) -> bool:
        self._rerank_timer.stop()
        ok = self.workers.shutdown(timeout)
        if ok and self._owns_session:
            self.session.close()
        return ok


def _embed_job(session: EngineSession, kind: str, cancel):
    if not session.has_model:
        return None
    return (yield from session.library.embed(session.model, kind, session.checkpoint_id, cancel=cancel))

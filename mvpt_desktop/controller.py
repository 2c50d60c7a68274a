"""``Controller``: the app's state and the jobs that change it, without a widget in sight.

It holds the engine session, the current file's analysis and results, the selected
segment, the attribute weights and the chosen soundtrack, and sends every piece of engine
work to the right pool (:class:`mvpt_desktop.workers.Workers`). Widgets connect to its
signals; tests drive it directly.
"""

from __future__ import annotations

import itertools
from dataclasses import replace
from pathlib import Path

from PySide6.QtCore import QObject, QTimer, Signal

from engine.export import CueSheet
from engine.project import Project, remember_last
from engine.session import EngineSession
from engine.settings import EngineSettings

from . import tasks
from .settings import GuiSettings
from .soundtrack import SoundtrackMixin
from .workers import JobHandle, Workers

RERANK_DELAY_MS = 40
"""Slider moves within this time are ranked once (the latest weights win)."""


class Controller(QObject, SoundtrackMixin):
    statusChanged = Signal(object)
    """:class:`tasks.EngineStatus`"""
    jobStarted = Signal(str, object)
    """(what is running, in words; its :class:`JobHandle`) for the progress bar."""
    opened = Signal(object)
    """:class:`tasks.Opened`: a new file was analysed."""
    provisionalChanged = Signal(object)
    """:class:`tasks.Opened` (``provisional``): the first (then more) scenes of the file being read
    are in, with provisional suggestions; ``opened`` follows when the whole file is read."""
    resultsChanged = Signal(object)
    """:class:`tasks.Results`"""
    segmentChanged = Signal(int)
    attributesChanged = Signal(object)
    """tuple of :class:`tasks.AttributeInfo`"""
    choiceChanged = Signal(object)
    """The :class:`CueSheet` now (possibly empty): what preview and export play."""
    weightsRestored = Signal(object)
    """{name: weight}: the sliders of a reopened video (or the last session)."""
    previewReady = Signal(str)
    auditionReady = Signal(str, float, float)
    """A file the player can play, where in it to start and for how long (s)."""
    exported = Signal(object)
    """:class:`export.ExportResult`"""
    failed = Signal(str, str)
    """(what failed, a message a creator understands)"""
    info = Signal(str)
    attributeMatrixReady = Signal(object)
    rhythmChanged = Signal(object)
    """:class:`tasks.CueRhythm` of the chosen cue (its beat grid on the video, the cuts against
    it), or None when no music is chosen."""
    libraryChanged = Signal()
    """Folders were scanned, indexed or removed (counts to show again)."""
    syncWeightChanged = Signal(float)
    speechHeard = Signal(object)
    """float64 [n, 2] (start, end) s of speech in the open footage's own sound, heard after its
    suggestions are out (the mix ducks the music there)."""
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
        self.sheet = CueSheet()
        self._restored: Project | None = None  # the project of the file being opened
        self.analysis_job: JobHandle | None = None
        self.rank_job: JobHandle | None = None
        self.preview_job: JobHandle | None = None
        self.speech_job: JobHandle | None = None
        self._rank_ids = itertools.count(1)
        self._rank_latest = 0
        self._rerank_timer = QTimer(self, singleShot=True, interval=RERANK_DELAY_MS)
        self._rerank_timer.timeout.connect(self._rerank_now)
        self._save_timer = QTimer(self, singleShot=True, interval=500)  # a slider drag saves once
        self._save_timer.timeout.connect(self._save_weights)
        self.attribute_matrix = None  # the last insights.AttributeMatrix
        self.rhythm: tasks.CueRhythm | None = None
        self.rhythm_cue = 0  # the cue whose beat grid is shown
        self._rhythm_ids = itertools.count(1)
        self._rhythm_latest = 0
        self.choiceChanged.connect(lambda _sheet: self.show_rhythm())

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
        if status.has_model:
            self.index_library()

    def index_library(self) -> JobHandle:
        """Vectors for the active model of every library item that has none yet (a model new
        from Settings or "Teach it your style", items scanned without a model; ``session.reindex``
        also reads the base features the model needs): on the inference thread, before any later
        analysis; the progress bar shows only when there is work."""
        session, label, shown = self.session, "Indexing the library for the model", []

        def job(cancel):
            if not session.unindexed():
                return 0
            done = yield from session.reindex(cancel=cancel, workers=1)  # rescans what the model lacks, embeds
            return sum(done.values())

        handle = self.workers.inference.submit(job, "index library")

        def progress(p) -> None:
            if p.total and not shown:
                shown.append(True)
                self.jobStarted.emit(label, handle)

        handle.progress.connect(progress)
        handle.returned.connect(lambda n: self._reindexed() if n else None)
        handle.errored.connect(lambda msg: self.failed.emit("Indexing failed", msg))
        return handle

    def _reindexed(self, emit: bool = True) -> None:
        """New vectors in the library: counts to show again, the open video ranked again (a
        provisional one is ranked with them when its reading ends)."""
        if emit:
            self.libraryChanged.emit()
        if self.current is not None and not self.current.provisional:
            self.rerank()

    def switch_model(self, checkpoint: str) -> JobHandle:
        """Use ``checkpoint`` from now on (saved in the settings when the GUI persists): the
        model is loaded, the library indexed for it, and the open video analysed again."""
        reopen = self.current.analysis.path if self.current is not None and not self.current.is_music else None
        handle = self.apply_settings(self.session.settings.with_(checkpoint=str(checkpoint)), save=self.gui.persist)
        if reopen is not None:
            handle.returned.connect(lambda _st: self.open_file(reopen))
        return handle

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
        for job in (self.analysis_job, self.speech_job):
            if job is not None and not job.done:
                job.cancel()
        session, k, weights = self.session, self.k, dict(self.weights)
        name = Path(path).name
        handle = self._submit(
            "inference", f"Analysing {name}",
            lambda cancel: tasks.open_media(session, path, k, weights, cancel), self._opened,
            what=f"Cannot open {name}")
        handle.progress.connect(lambda ev, h=handle: self._open_progress(h, ev))
        handle.aborted.connect(lambda h=handle: self._open_stopped(h))
        handle.errored.connect(lambda _msg, h=handle: self._open_stopped(h))
        self.analysis_job = handle
        return handle

    def _open_stopped(self, handle: JobHandle) -> None:
        """A cancelled (or failed) opening leaves no half-read file behind: the scenes shown
        provisionally go (the window shows what to do next)."""
        if handle is self.analysis_job and self.current is not None and self.current.provisional:
            self.current = self.results = None
            self.segment = -1

    def _open_progress(self, handle: JobHandle, event) -> None:
        """Scenes stream in while the file is read: show the provisional :class:`tasks.Opened`
        (the first one sets the window up, later ones only update the lists and the strip)."""
        data = getattr(event, "data", None)
        if not isinstance(data, tasks.Opened) or handle is not self.analysis_job:
            return
        first = (self.current is None or not self.current.provisional
                 or self.current.analysis.path != data.analysis.path)
        self.current, self.results = data, data.results
        if first:
            self.segment = 0
        self.provisionalChanged.emit(data)
        self.resultsChanged.emit(self.results)
        if first:
            self.segmentChanged.emit(self.segment)

    def cancel_analysis(self) -> None:
        if self.analysis_job is not None:
            self.analysis_job.cancel()

    def _opened(self, opened: tasks.Opened) -> None:
        keep = self.current is not None and self.current.provisional and \
            self.current.analysis.path == opened.analysis.path
        self.current = opened
        self.results = opened.results
        self.attributes = opened.attributes
        if self.gui.persist and not opened.is_music:
            try:  # the video to reopen at the next start, suggestions or not
                remember_last(opened.analysis.path, self.session.data_dir)
            except OSError as e:
                self.info.emit(f"the last video could not be remembered: {e}")
        if not keep:  # shown provisionally: the sheet restored at the start (and edited since) stays
            self.sheet = CueSheet()
        n = len(opened.analysis)
        self.segment = (min(self.segment, n - 1) if keep and self.segment >= 0 else 0) if n else -1
        self.attributesChanged.emit(self.attributes)
        self.opened.emit(opened)
        self.resultsChanged.emit(self.results)
        self.segmentChanged.emit(self.segment)
        self.choiceChanged.emit(self.sheet)
        if not opened.is_music:
            self._restore_sheet(opened, keep)
            self._hear_speech(opened)

    def _hear_speech(self, opened: tasks.Opened) -> None:
        """The speech in the footage's own sound (where preview and export duck the music),
        heard now that the suggestions are out, in the io pool at background priority: on the
        inference thread it would hold up re-ranking (a 2-hour file takes ~40 s to hear on a
        laptop). A re-opened file has it stored already; until it comes, a preview hears the
        sound itself."""
        if opened.analysis.speech is not None:
            return
        session, analysis = self.session, opened.analysis
        handle = self.workers.io.submit(lambda cancel: tasks.hear_speech(session, analysis, cancel=cancel),
                                        "Listening for speech")
        handle.returned.connect(self._speech_heard)
        handle.errored.connect(lambda msg: self.info.emit(
            f"The speech in {Path(analysis.path).name} could not be heard ({msg}); preview and export "
            "will listen again"))
        self.speech_job = handle

    def _speech_heard(self, analysis) -> None:
        cur = self.current
        if cur is None or cur.provisional or cur.analysis.path != analysis.path:
            return  # another file is open now
        self.current = replace(cur, analysis=analysis)
        self.speechHeard.emit(analysis.speech)

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
        self._save_timer.start()

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

    # -- the library ------------------------------------------------------------------------
    def add_library_folder(self, folder: str, kind: str) -> JobHandle:
        """Scan ``folder`` (io pool, worker processes), then embed it (inference thread)."""
        session = self.session

        def embed_after(report) -> None:
            self.libraryChanged.emit()
            h = self._submit("inference", f"Indexing {kind} for the model",
                             lambda cancel: _embed_job(session, kind, cancel), lambda _r: self.info.emit("library ready"),
                             what="Indexing failed")
            h.finished.connect(self.libraryChanged)
            h.returned.connect(lambda _r: self._reindexed(emit=False))  # the open video gets its suggestions

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
        handle = self._submit("io", f"Removing {Path(folder).name}",
                              lambda cancel: session.library.remove_folder(folder), what=f"Cannot remove {folder}")
        handle.finished.connect(self.libraryChanged)
        return handle

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

    def _save_weights(self) -> None:
        self.save_project()
        if self.gui.persist:
            self.gui = self.gui.with_(weights=dict(self.weights))
            self.gui.save()

    def shutdown(self, timeout: float = 5.0) -> bool:
        self._rerank_timer.stop()
        if self._save_timer.isActive():
            self._save_timer.stop()
            self._save_weights()
        ok = self.workers.shutdown(timeout)
        if ok and self._owns_session:
            self.session.close()
        return ok


def _embed_job(session: EngineSession, kind: str, cancel):
    if not session.has_model:
        return None
    return (yield from session.library.embed(session.model, kind, session.checkpoint_id, cancel=cancel))

"""The soundtrack half of :class:`mvpt_desktop.controller.Controller`: the cue sheet (choose,
edit, restore and save it with the video's project), its preview and export, and the chosen
cue's rhythm (its beat grid on the video, the "Sync to cuts" weight).

A mixin, not a widget and not an object of its own: it works on the controller's state
(``sheet``, ``current``, ``session``, ``gui``, ``segment``) and emits the controller's signals
(``choiceChanged``, ``rhythmChanged``, ``previewReady``, ``exported``, ``info``), so the
controller's API is what it was before the split.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from engine.export import Cue, CueSheet, scene_cue
from engine.project import Project, load_project, save_project
from engine.recommend import clock, fit_track_to_video, next_fitting_start, synced_start
from engine.recommend import slip_cue as slip_cue_music
from engine.recommend import sync_cue as sync_cue_music

from . import tasks
from .export import export_sheet_job, settings_for
from .workers import JobHandle


class SoundtrackMixin:
    """Cue sheet, preview, export and the chosen cue's rhythm (see the module doc)."""
    # -- sync ----------------------------------------------------------------------------------
    @property
    def sync_weight(self) -> float:
        return self.session.sync_weight()

    def set_sync_weight(self, weight: float) -> None:
        """How much the whole-video list follows the cuts landing on the beats (0…1): saved
        with the engine's settings, and the lists re-ranked (the video is not re-analysed)."""
        w = max(0.0, min(1.0, float(weight)))
        if abs(w - self.sync_weight) < 1e-9:
            return
        self.session.settings = self.session.settings.with_(sync_weight=w)
        if self.gui.persist:
            try:
                self.session.settings.save()
            except OSError as e:
                self.info.emit(f"the sync setting could not be saved: {e}")
        self.syncWeightChanged.emit(w)
        self._rerank_timer.start()

    # -- the beat grid of the chosen cue -------------------------------------------------------
    def show_rhythm(self, index: int | None = None) -> JobHandle | None:
        """Read the track rhythm of cue ``index`` (default: the one shown, else the first) off
        the GUI thread; ``rhythmChanged`` gives it placed on the video with the cuts."""
        cues = self.sheet.cues
        if index is not None:
            self.rhythm_cue = int(index)
        if not 0 <= self.rhythm_cue < len(cues):
            self.rhythm_cue = 0
        rid = next(self._rhythm_ids)
        self._rhythm_latest = rid
        if not cues or self.current is None or self.current.is_music:
            self.rhythm = None
            self.rhythmChanged.emit(None)
            return None
        session, cue = self.session, cues[self.rhythm_cue]
        video = getattr(self.current.analysis, "video_rhythm", None)
        handle = self.workers.io.submit(lambda cancel: tasks.cue_rhythm(session, cue, video), "beat grid")
        handle.returned.connect(lambda r, rid=rid: self._rhythm_ready(rid, r))
        handle.errored.connect(lambda msg: self.info.emit(f"the beat grid could not be read: {msg}"))
        return handle

    def _rhythm_ready(self, rid: int, rhythm: tasks.CueRhythm) -> None:
        if rid != self._rhythm_latest:
            return
        self.rhythm = rhythm
        self.rhythmChanged.emit(rhythm)

    # -- the soundtrack: the cue sheet, preview, export ------------------------------------------
    @property
    def choice(self) -> CueSheet | None:
        """The cue sheet when it has cues (what preview and export play), else None."""
        return self.sheet if self.sheet.cues else None

    def scene_bounds(self) -> list[float]:
        """The scene boundaries of the open video: [starts..., last end] (seconds)."""
        if self.current is None or not len(self.current.analysis):
            return []
        a = self.current.analysis
        return [float(x) for x in a.starts] + [float(a.ends[-1])]

    def choose_suggestion(self, row: tasks.SuggestionRow) -> Cue:
        """Add a cue: this track under the selected scene, from the segment the model matched
        to it (cues already there are cut around it)."""
        s = row.suggestion
        i = max(0, self.segment)
        a = self.current.analysis
        start, end = float(a.starts[i]), float(a.ends[i])
        on_beat = row.beat_start is not None
        cue = scene_cue(s.path, row.name, start, end, row.track_start, s.item_id,
                        note=f"suggested for scene {i + 1}" + (", started on a beat" if on_beat else ""))
        self.set_sheet(self.sheet.placed(cue))
        return cue

    def choose_track(self, row: tasks.TrackRow) -> Cue:
        """The whole-video pick: one cue over everything, from the fitted start."""
        t = row.track
        duration = float(self.current.analysis.duration)
        sheet = CueSheet.whole(t.path, row.name, duration, float(t.offset or 0.0), t.item_id,
                               note=t.note or "best fit for the whole video", crossfade=self.sheet.crossfade)
        self.set_sheet(sheet)
        return sheet.cues[0]

    def fit_track(self, row: tasks.TrackRow) -> JobHandle | None:
        """The whole-video pick fitted to the video's length: the track re-edited on its
        downbeats (and stretched a few per cent at most) so it ends with the video, as one cue.
        It opens where sync found the cuts follow the track (:func:`synced_start`), else at the
        track's intro. Decodes the track, so it runs off the GUI thread; the sheet changes when
        it is done."""
        if self.current is None or self.current.is_music or row.track.item_id is None:
            return None
        session, item_id = self.session, int(row.track.item_id)
        length = float(self.current.analysis.duration)
        track_start = synced_start(row.track)

        def placed(cue: Cue) -> None:
            note = cue.note + (f"; from {clock(track_start)}, where the cuts follow it" if track_start > 0 else "")
            cue = replace(cue, title=row.name, note=note)  # named as the lists and the other cues name it
            self.set_sheet(CueSheet((cue,), crossfade=self.sheet.crossfade))
            self.info.emit(f"{cue.title} fitted to the video's {clock(length)}: {cue.note}")

        return self._submit("io", f"Fitting {row.name} to the video",
                            lambda cancel: fit_track_to_video(session, item_id, length, track_start=track_start,
                                                              cancel=cancel),
                            placed, what="Cannot fit the track")

    def set_sheet(self, sheet: CueSheet) -> None:
        self.sheet = sheet
        self.choiceChanged.emit(sheet)
        self.save_project()

    def edit_cue(self, op: str, index: int, amount: int = 1) -> bool:
        """One edit of cue ``index``: "extend"/"shorten" (its end, by scenes), "earlier"
        (its start, ``amount`` scenes earlier; negative: later), "up"/"down" (reorder),
        "remove". False (and ``info`` says why) when the edit is not possible."""
        sheet, b = self.sheet, self.scene_bounds()
        try:
            if op == "extend":
                new = sheet.resized(index, b, end_by=amount)
            elif op == "shorten":
                new = sheet.resized(index, b, end_by=-amount)
            elif op == "earlier":
                new = sheet.resized(index, b, start_by=-amount)
            elif op in ("up", "down"):
                new = sheet.moved(index, -1 if op == "up" else +1)
            elif op == "remove":
                new = sheet.removed(index)
            else:
                raise ValueError(f"unknown edit {op!r}")
        except (ValueError, IndexError) as e:
            self.info.emit(str(e))
            return False
        self.set_sheet(new)
        return True

    def slip_cue(self, index: int, *, beats: int = 0, bars: int = 0) -> JobHandle | None:
        """Slip cue ``index``'s music ``beats`` beats or ``bars`` bars on its track's grid
        (negative: from earlier in the track); the cue keeps its place on the video. The
        track's rhythm is read off the GUI thread; ``info`` says where it now starts, or why not."""
        session = self.session
        step = f"{beats:+d} beat" if beats else f"{bars:+d} bar"
        return self._retime_cue(index, f"Slipping the music {step}", "slipped by hand",
                                lambda cue: slip_cue_music(session, cue, beats=beats, bars=bars))

    def sync_cue(self, index: int) -> JobHandle | None:
        """Slip cue ``index``'s music, within a bar either side, to where the video's cuts
        inside the cue land on its beats (the sync search over that stretch of the video)."""
        session = self.session
        video = getattr(self.current.analysis, "video_rhythm", None) if self.current is not None else None
        return self._retime_cue(index, "Aligning the music to the cuts", "aligned to the cuts in this cue",
                                lambda cue: sync_cue_music(session, cue, video))

    def next_fit(self, index: int) -> JobHandle | None:
        """Slip cue ``index``'s music to the next start in its track where the cuts inside the
        cue fit about as well as anywhere (the starts sync cannot tell apart), so the editor
        hears them one after another and keeps the one that sounds right."""
        session = self.session
        video = getattr(self.current.analysis, "video_rhythm", None) if self.current is not None else None
        return self._retime_cue(index, "Finding the next start that fits", "another start that fits the cuts",
                                lambda cue: next_fitting_start(session, cue, video))

    def _retime_cue(self, index: int, label: str, how: str, compute) -> JobHandle | None:
        """Run ``compute(cue) -> (in_point, words)`` on the io worker and slip cue ``index`` to
        the in-point it gives (its note: ``how`` and the words), if the cue is still the one it
        was asked for (the editor may have edited the sheet meanwhile). ``info`` says what
        happened; a ``ValueError`` (the track's end, a fitted cue) is said there too."""
        if not 0 <= index < len(self.sheet.cues):
            return None
        cue = self.sheet.cues[index]

        def work(cancel) -> tuple[float | None, str]:
            try:
                return compute(cue)
            except ValueError as e:  # said on the status line: not a failure
                return None, str(e)

        def done(result: tuple[float | None, str]) -> None:
            in_point, words = result
            sheet = self.sheet
            if in_point is None:
                message = words
            elif not (index < len(sheet.cues) and sheet.cues[index] == cue):
                message = f"{cue.title} changed meanwhile: nothing slipped"
            elif abs(in_point - cue.in_point) <= 1e-6:
                message = f"{cue.title} stays at {clock(cue.in_point)}: {words}"
            else:
                self.set_sheet(sheet.slipped(index, in_point, note=f"{how}: {words}"))
                message = f"{cue.title} now from {clock(in_point)}: {words}"
            self.info.emit(message)

        # not a job the status bar follows: it takes milliseconds, and its "done" would hide the words
        handle = self.workers.io.submit(work, label)
        handle.returned.connect(done)
        handle.errored.connect(lambda msg: self.failed.emit(label, msg))
        return handle

    def _restore_sheet(self, opened: tasks.Opened, keep: bool = False) -> None:
        """The reopened video's cues (``keep``: those restored when it started to stream in,
        with the edits made since), else the best whole-video track."""
        if not keep:
            project = self._restored if self._restored is not None else load_project(opened.analysis.path,
                                                                                     self.session.data_dir)
            self.sheet = self._usable(project.sheet)
        self._restored = None
        if self.sheet.cues:
            self.choiceChanged.emit(self.sheet)
        elif opened.results.whole:
            self.choose_track(opened.results.whole[0])

    def _usable(self, sheet: CueSheet) -> CueSheet:
        """``sheet`` without the cues whose music file is gone (said once)."""
        cues = tuple(c for c in sheet.cues if Path(c.music_path).is_file())
        if len(cues) < len(sheet.cues):
            self.info.emit(f"{len(sheet.cues) - len(cues)} cue(s) left out: their music files are gone")
        return CueSheet(cues, sheet.crossfade, sheet.fade_in, sheet.fade_out)

    def restore_project(self, path: str) -> Project:
        """Before opening ``path``: its stored sliders become the current ones (so the first
        ranking already uses them) and its cues the current sheet (shown while it streams in)."""
        project = load_project(path, self.session.data_dir)
        self._restored = project
        if project.weights:
            self.weights = project.weight_map
            self.weightsRestored.emit(dict(self.weights))
        self.sheet = self._usable(project.sheet)
        self.choiceChanged.emit(self.sheet)
        return project

    def save_project(self) -> None:
        if not self.gui.persist or self.current is None or self.current.is_music:
            return
        try:
            save_project(Project(self.current.analysis.path, self.sheet, tuple(sorted(self.weights.items()))),
                         self.session.data_dir)
        except OSError as e:
            self.info.emit(f"the project could not be saved: {e}")

    def save_sheet(self, path: str) -> Path:
        """Write the cue sheet as JSON (atomically), the file ``mvpt export VIDEO --cues FILE`` reads."""
        import os
        import tempfile

        out = Path(path)
        out.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{out.name}.", dir=out.parent)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                f.write(self.sheet.to_json())
            os.replace(tmp, out)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        return out

    def prepare_audition(self, path: str, start: float, seconds: float) -> JobHandle:
        """``auditionReady`` with a file the player plays: the track itself, or (for a track only
        libsndfile reads, which the player's FFmpeg refuses) the window decoded into the cache."""
        return self._submit("io", "Preparing the audition",
                            lambda cancel: tasks.audition_source(path, start, seconds),
                            lambda r: self.auditionReady.emit(r[0], float(r[1]), float(seconds)),
                            what="Cannot audition")

    def make_preview(self) -> JobHandle | None:
        """Mux the footage with the cue sheet into the cache; ``previewReady`` gives the file."""
        if self.current is None or self.current.is_music or self.choice is None:
            return None
        if self.preview_job is not None and not self.preview_job.done:
            self.preview_job.cancel()
        video, sheet, mix = self.current.analysis.path, self._sheet_for_mix(), self._mix_settings()
        session, speech = self.session, self.current.analysis.speech  # found by the analysis pass already
        self.preview_job = self._submit("io", "Preparing the preview",
                                        lambda cancel: tasks.make_sheet_preview(video, sheet, mix, cancel, session, speech),
                                        lambda p: self.previewReady.emit(str(p)), what="Cannot preview")
        return self.preview_job

    def _mix_settings(self):
        """The mix of preview and export, from the settings dialog's Mix group (ducking, the
        footage's own sound, loudness target, true peak); with the footage's sound off there is
        no dialogue to keep audible, so the music is not ducked either (settings_for)."""
        return settings_for(self.gui)

    def _sheet_for_mix(self) -> CueSheet:

        return replace(self.sheet, fade_in=self.gui.fade_in, fade_out=self.gui.fade_out)

    def export(self, mp4: str | None, otio_path: str | None) -> JobHandle | None:
        if self.current is None or self.current.is_music or self.choice is None:
            self.failed.emit("Nothing to export", "open footage and choose music for it first")
            return None
        video, sheet, mix = self.current.analysis.path, self._sheet_for_mix(), self._mix_settings()
        session, speech = self.session, self.current.analysis.speech  # found by the analysis pass already
        cuts = self.current.analysis.video_rhythm  # the OTIO marks them on the footage

        def factory(cancel):
            rhythms = tasks.sheet_rhythms(session, sheet) or None  # fades on downbeats where known
            return export_sheet_job(video, sheet, mix, mp4=mp4, otio=otio_path, rhythms=rhythms, speech=speech,
                                    video_rhythm=cuts, cancel=cancel)

        return self._submit("io", "Exporting", factory, self.exported.emit, what="Export failed")

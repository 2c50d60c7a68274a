"""The main window's transport and soundtrack: the playhead and the time, choosing and fitting
music from the lists, the cue list, the chosen cue's beat grid, audition, play and preview.

A mixin of :class:`mvpt_desktop.main_window.MainWindow` (it uses its widgets, controller and
status bar), as :mod:`mvpt_desktop.soundtrack` is the controller's soundtrack half, so the
window file holds the layout and the flow of opening a file.
"""

from __future__ import annotations

from . import player as player_module
from . import tasks
from .models import fmt_time


class WindowSoundtrackMixin:
    """Transport, cue sheet and playback of the main window (see the module doc)."""

    def _connect_soundtrack(self) -> None:
        """The cue list, the chosen cue's rhythm, the sync slider, preview, audition and export
        wired to the controller."""
        c = self.controller
        c.choiceChanged.connect(self._choice)
        self.cues.editRequested.connect(self._edit_cue)
        self.cues.slipRequested.connect(lambda i, beats, bars: c.slip_cue(i, beats=beats, bars=bars))
        self.cues.syncRequested.connect(c.sync_cue)
        self.cues.nextFitRequested.connect(c.next_fit)
        self.cues.cueSelected.connect(self._cue_selected)
        c.rhythmChanged.connect(self._rhythm)
        self.rhythm_panel.set_sync(c.sync_weight)
        self.rhythm_panel.syncChanged.connect(c.set_sync_weight)
        c.syncWeightChanged.connect(self.rhythm_panel.set_sync)
        c.statusChanged.connect(lambda _st: self.rhythm_panel.set_sync(c.sync_weight))  # new settings
        c.previewReady.connect(self._preview_ready)
        c.auditionReady.connect(self._audition_ready)
        c.exported.connect(self._exported)

    def _position(self, ms: int) -> None:
        self.timeline.set_playhead(ms / 1000.0)
        if not self.position.isSliderDown():
            self.position.setValue(ms)
        self.time_label.setText(f"{fmt_time(ms / 1000)} / {fmt_time(self.player.duration / 1000)}")

    def _duration(self, ms: int) -> None:
        self.position.setRange(0, ms)
        self.time_label.setText(f"{fmt_time(self.timeline.playhead)} / {fmt_time(ms / 1000)}")

    def _choose_row(self, row) -> None:
        c = self.controller
        self.flow.scene_picked()
        if isinstance(row, tasks.SuggestionRow):
            cue = c.choose_suggestion(row)
            i = c.sheet.index_at(cue.start + 1e-3)
            if i is not None:
                self.cues.select(i)  # the new cue is the one the editor edits next
        elif isinstance(row, tasks.TrackRow):
            self.controller.choose_track(row)

    def _fit_row(self, row) -> None:
        if isinstance(row, tasks.TrackRow):
            self.flow.scene_picked()
            self.controller.fit_track(row)

    def _choice(self, sheet) -> None:
        cues = sheet.cues if sheet is not None else ()
        self.cues.set_cues(cues)
        self.timeline.set_cues(cues)
        if not cues:
            self.choice_label.setText("No music chosen")
        elif len(cues) == 1:
            c = cues[0]
            self.choice_label.setText(f"Music: <b>{c.title}</b> from {fmt_time(c.in_point)} of the track, "
                                      f"under {fmt_time(c.start)}–{fmt_time(c.end)} ({c.note})")
        else:
            self.choice_label.setText(f"Music: {len(cues)} cues ({len({c.music_path for c in cues})} tracks), "
                                      f"crossfaded where they meet")

    def _edit_cue(self, op: str, index: int) -> None:
        if not self.controller.edit_cue(op, index):
            return
        if op in ("up", "down"):
            self.cues.select(index - 1 if op == "up" else index + 1)

    def _cue_selected(self, index: int) -> None:
        """Selecting a cue goes to its first scene."""
        sheet = self.controller.sheet
        if 0 <= index < len(sheet.cues) and self.controller.current is not None:
            if index != self.controller.rhythm_cue:
                self.controller.show_rhythm(index)  # its beat grid in the lane, the cuts against it
            scene = self.timeline.segment_at(sheet.cues[index].start + 1e-3)
            self.controller.select_segment(scene)

    def _rhythm(self, rhythm) -> None:
        """The chosen cue's beat grid in the timeline's lane and the cuts against it in the panel."""
        self.timeline.set_rhythm(rhythm)
        self.rhythm_panel.set_rhythm(rhythm)

    def _check_audio(self, playing: bool) -> None:
        """Playing with no audio device: say the preview is silent (once per start of playback)."""
        if playing:  # what plays is the editor's: it shows, the welcome page gives way
            self.central.setCurrentWidget(self.editor)
        silent = playing and not player_module.audio_outputs()
        if silent:
            self.audio_notice.setVisible(True)
            self.statusBar().showMessage(player_module.NO_AUDIO_DEVICE, 10000)
        elif playing:
            self.audio_notice.setVisible(False)

    def audition_row(self, row) -> None:
        if row is None:
            return
        start = row.track_start if isinstance(row, tasks.SuggestionRow) else (row.track.offset or 0.0)
        path = row.suggestion.path if isinstance(row, tasks.SuggestionRow) else row.track.path
        secs = self.controller.gui.audition_seconds
        if self.controller.current is not None and self.controller.current.is_music:
            self.player.play_range(path, int(start * 1000), int(secs * 1000))  # footage: show the clip
        else:  # via the engine: a track the player's FFmpeg refuses is played from a decoded excerpt
            self.player.pause()
            self.controller.prepare_audition(path, float(start), float(secs))
        self.statusBar().showMessage(f"Audition: {row.name} from {fmt_time(start)} ({secs:g} s)", int(secs * 1000))

    def _audition_ready(self, path: str, start: float, seconds: float) -> None:
        self.player.pause()
        self.audition.play_range(path, int(start * 1000), int(seconds * 1000))

    def toggle_play(self) -> None:
        c = self.controller
        if self.player.is_playing:
            self.player.pause()
        elif c.choice is not None and self._preview_for != c.choice and c.current is not None and not c.current.is_music:
            self.preview()
        else:
            self.audition.stop()
            self.player.play()

    def preview(self):
        """Play the footage with the chosen music (a muxed preview file, made once)."""
        self.audition.stop()
        handle = self.controller.make_preview()
        if handle is not None:
            self.statusBar().showMessage("Preparing the preview…")
        return handle

    def _preview_ready(self, path: str) -> None:
        at = int(self.timeline.playhead * 1000)  # from where the playhead is
        self._preview_for = self.controller.choice
        self.player.load(path, autoplay=True, start_ms=at)

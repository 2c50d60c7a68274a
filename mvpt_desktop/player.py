"""``Player``: the one object in front of QtMultimedia (Picard's pattern).

It owns a ``QMediaPlayer`` with its ``QAudioOutput`` and re-emits typed signals in
milliseconds. Pictures go to a ``QVideoSink`` and are shown by :class:`VideoView`, a plain
widget that paints the latest frame (so it also shows in a window grab, which a
``QVideoWidget`` does not). When QtMultimedia cannot be loaded (a missing system library),
``Player.available`` is False, ``unavailable_reason`` says why, and every call is a no-op.

Two players do not share a clock (measured 5–75 ms apart), so the preview plays one muxed
file: the footage with the chosen music, written by the engine's writer.
"""

from __future__ import annotations

import logging

from PySide6.QtCore import Q_ARG, QMetaObject, QObject, QSize, Qt, QTimer, QUrl, Signal, Slot
from PySide6.QtGui import QColor, QImage, QPainter
from PySide6.QtWidgets import QSizePolicy, QWidget

log = logging.getLogger(__name__)

try:  # QtMultimedia is in PySide6-Addons and needs libpulse on Linux
    from PySide6.QtMultimedia import QAudioOutput, QMediaDevices, QMediaPlayer, QVideoFrame, QVideoSink

    UNAVAILABLE: str | None = None
except Exception as e:  # noqa: BLE001 - any failure here only disables playback
    QAudioOutput = QMediaDevices = QMediaPlayer = QVideoFrame = QVideoSink = None  # type: ignore[assignment,misc]
    UNAVAILABLE = (f"playback is off: Qt Multimedia could not be loaded ({e}); install the PySide6-Addons "
                   "package (and libpulse0 on Linux) to preview in the app — export still works")


NO_AUDIO_DEVICE = ("No audio output device: the preview plays silently. Connect speakers or headphones "
                   "(or check the system's sound settings); export is not affected.")


def audio_outputs() -> list:
    """The system's audio output devices (empty without QtMultimedia or without a device)."""
    if QMediaDevices is None:
        return []
    return list(QMediaDevices.audioOutputs())


class Player(QObject):
    positionChanged = Signal(int)
    """Milliseconds."""
    durationChanged = Signal(int)
    playingChanged = Signal(bool)
    loaded = Signal(str)
    """The file is ready to play."""
    errorOccurred = Signal(str)
    frameChanged = Signal(QImage)

    def __init__(self, parent: QObject | None = None, *, video: bool = True) -> None:
        super().__init__(parent)
        self.available = UNAVAILABLE is None
        self.unavailable_reason = UNAVAILABLE
        self.source: str | None = None
        self._stop_at: int | None = None
        self._pending_seek: int | None = None
        self._settling: int | None = None
        self._autoplay = False
        self._loaded = False
        self._mp = None
        self._sink = None
        if not self.available:
            return
        self._mp = QMediaPlayer(self)
        self._audio = QAudioOutput(self)
        self._mp.setAudioOutput(self._audio)
        if video:
            self._sink = QVideoSink(self)
            self._mp.setVideoSink(self._sink)
            self._sink.videoFrameChanged.connect(self._on_frame, Qt.ConnectionType.QueuedConnection)
        self._mp.positionChanged.connect(self._on_position)
        self._mp.durationChanged.connect(lambda d: self.durationChanged.emit(int(d)))
        self._mp.playbackStateChanged.connect(
            lambda s: self.playingChanged.emit(s == QMediaPlayer.PlaybackState.PlayingState))
        self._mp.mediaStatusChanged.connect(self._on_status)
        self._mp.errorOccurred.connect(lambda _err, text: self.errorOccurred.emit(
            f"cannot play {self.source or 'this file'}: {text}"))

    # -- commands ----------------------------------------------------------------------------
    def load(self, path: str, autoplay: bool = False, start_ms: int | None = None) -> None:
        """Open ``path``; once loaded, go to ``start_ms`` and play when ``autoplay``."""
        self.source = str(path)
        self._stop_at = None
        self._pending_seek = start_ms
        self._settling = None
        self._autoplay = autoplay
        self._loaded = False
        if self._mp is None:
            return
        self._queued("setSource", Q_ARG(QUrl, QUrl.fromLocalFile(str(path))))

    def unload(self) -> None:
        """Forget the file: nothing to play, duration and position 0."""
        self.source = None
        self._stop_at = self._pending_seek = self._settling = None
        self._autoplay = self._loaded = False
        if self._mp is not None:
            self._queued("stop")
            self._queued("setSource", Q_ARG(QUrl, QUrl()))
        self.durationChanged.emit(0)
        self.positionChanged.emit(0)

    def play(self) -> None:
        if self._mp is not None and self.source:
            self._queued("play")

    def pause(self) -> None:
        if self._mp is not None:
            self._queued("pause")

    def stop(self) -> None:
        if self._mp is not None:
            self._queued("stop")

    def _queued(self, slot: str, *args, target: QObject | None = None) -> None:
        """Call a slot of the QMediaPlayer (or of ``target``, its QAudioOutput) from the event
        loop, where Python's GIL is released. Every command goes this way, never directly.

        The player's C++ side takes Qt's locks that its own threads hold while they wait for the
        GIL (a renderer thread shutting down notifies Python-made objects; the FFmpeg plugin
        deletes an object whose virtuals PySide checks for Python overrides). Called from
        Python, the GUI thread would wait for such a lock while holding the GIL: a deadlock.
        Seen here at window close (``stop``, ``setSource``) and, in CI, at a ``pause`` from the
        loaded-media slot while the plugin was deleting the previous file's objects. Queued, the
        C++ slot runs without the GIL; order is kept (one event queue).
        """
        QMetaObject.invokeMethod(self._mp if target is None else target, slot,
                                 Qt.ConnectionType.QueuedConnection, *args)

    def toggle(self) -> None:
        self.pause() if self.is_playing else self.play()

    def seek(self, ms: int) -> None:
        if self._mp is None:
            return
        if not self._loaded:  # not loaded yet: go there once it is
            self._pending_seek = max(0, int(ms))
        else:
            self._queued("setPosition", Q_ARG("qint64", max(0, int(ms))))

    def play_range(self, path: str, start_ms: int, length_ms: int) -> None:
        """An audition: ``length_ms`` of ``path`` from ``start_ms``, then stop."""
        self.stop()
        self.load(path, autoplay=True, start_ms=int(start_ms))
        self._stop_at = int(start_ms + length_ms)

    def set_volume(self, level: float) -> None:
        if self._mp is not None:
            self._queued("setVolume", Q_ARG("float", max(0.0, min(1.0, float(level)))), target=self._audio)

    def set_muted(self, muted: bool) -> None:
        if self._mp is not None:
            self._queued("setMuted", Q_ARG(bool, bool(muted)), target=self._audio)

    # -- state -------------------------------------------------------------------------------
    @property
    def is_playing(self) -> bool:
        return self._mp is not None and self._mp.playbackState() == QMediaPlayer.PlaybackState.PlayingState

    @property
    def position(self) -> int:
        return int(self._mp.position()) if self._mp is not None else 0

    @property
    def duration(self) -> int:
        return int(self._mp.duration()) if self._mp is not None else 0

    # -- slots -------------------------------------------------------------------------------
    def _on_status(self, status) -> None:
        if self.source is None or self._mp.source() != QUrl.fromLocalFile(self.source):
            return  # news about the previous file (setSource is queued): not ours any more
        if status == QMediaPlayer.MediaStatus.LoadedMedia:
            self._loaded = True
            seek = self._pending_seek
            if seek is not None:
                self._queued("setPosition", Q_ARG("qint64", int(seek)))
                self._settling = seek  # until the player reports being there
                self._pending_seek = None
            self.loaded.emit(self.source or "")
            if self._autoplay:
                self._autoplay = False
                self._queued("play")
            elif self._sink is not None:
                # paused, not stopped: a stopped player does not render seeks, so the viewer
                # would keep the first frame until playback had started once
                self._queued("pause")
        elif status == QMediaPlayer.MediaStatus.InvalidMedia:
            self.errorOccurred.emit(f"cannot play {self.source}: the file is not playable here")

    def _on_position(self, ms: int) -> None:
        if self._pending_seek is not None:
            return  # a new source reports 0 before it goes where it was asked: not news
        if self._settling is not None:
            if abs(ms - self._settling) > 500:
                return  # still the position from before the seek
            self._settling = None
        self.positionChanged.emit(int(ms))
        if self._stop_at is not None and ms >= self._stop_at:
            self._stop_at = None
            self._queued("pause")

    @Slot(object)
    def _on_frame(self, frame) -> None:
        if frame is None or not frame.isValid():
            return
        img = frame.toImage()
        if not img.isNull():
            self.frameChanged.emit(img)


class VideoView(QWidget):
    """Paints the player's latest frame, letterboxed; a message when there is none."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._image: QImage | None = None
        self._message = "Drop footage (or a song) here"
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setMinimumSize(320, 180)
        self._repaint = QTimer(self, singleShot=True, interval=0)
        self._repaint.timeout.connect(self.update)

    def sizeHint(self) -> QSize:  # noqa: N802
        return QSize(640, 360)

    def set_message(self, text: str) -> None:
        self._message = text
        self.update()

    @Slot(QImage)
    def show_image(self, image: QImage) -> None:
        self._image = image
        if not self._repaint.isActive():
            self._repaint.start()

    def clear(self) -> None:
        self._image = None
        self.update()

    @property
    def has_image(self) -> bool:
        return self._image is not None

    def paintEvent(self, event) -> None:  # noqa: N802
        p = QPainter(self)
        p.fillRect(self.rect(), QColor(16, 16, 18))
        if self._image is not None:
            img = self._image.scaled(self.size(), Qt.AspectRatioMode.KeepAspectRatio,
                                     Qt.TransformationMode.SmoothTransformation)
            p.drawImage((self.width() - img.width()) // 2, (self.height() - img.height()) // 2, img)
        else:
            p.setPen(QColor(170, 170, 170))
            p.drawText(self.rect().adjusted(20, 20, -20, -20), Qt.AlignmentFlag.AlignCenter | Qt.TextFlag.TextWordWrap,
                       self._message)
        p.end()

"""Media written in code that FFmpeg refuses but other players read (no tests here)."""

from __future__ import annotations

import struct
from pathlib import Path

import numpy as np


def _crc_table() -> list[int]:
    table = []
    for i in range(256):
        r = i << 24
        for _ in range(8):
            r = ((r << 1) ^ 0x04C11DB7) if r & 0x80000000 else r << 1
        table.append(r & 0xFFFFFFFF)
    return table


_CRC = _crc_table()


def _ogg_crc(page: bytes) -> int:
    c = 0
    for b in page:
        c = ((c << 8) & 0xFFFFFFFF) ^ _CRC[((c >> 24) & 0xFF) ^ b]
    return c


def _pages(data: bytes) -> list[bytearray]:
    out, pos = [], 0
    while pos < len(data):
        assert data[pos:pos + 4] == b"OggS"
        n = data[pos + 26]
        size = 27 + n + sum(data[pos + 27:pos + 27 + n])
        out.append(bytearray(data[pos:pos + size]))
        pos += size
    return out


def _sealed(page: bytearray, seq: int) -> bytes:
    page[18:22] = struct.pack("<I", seq)
    page[22:26] = b"\0\0\0\0"
    page[22:26] = struct.pack("<I", _ogg_crc(bytes(page)))
    return bytes(page)


def write_vorbis_with_repeated_headers(path: Path, freqs: tuple[float, float] = (440.0, 660.0),
                                       seconds: float = 5.0, rate: int = 44100, title: str = "Twice") -> Path:
    """An Ogg Vorbis file (left ``freqs[0]`` Hz, right ``freqs[1]``) whose identification,
    comment and setup headers appear a second time, on a page of their own before the audio,
    as in real tracks written by libVorbis 1.3.1 (HyperRogue's soundtrack): libvorbis players
    play it, FFmpeg refuses it ("Header processing failed")."""
    import soundfile

    t = np.arange(int(seconds * rate)) / rate
    x = 0.3 * np.stack([np.sin(2 * np.pi * freqs[0] * t), np.sin(2 * np.pi * freqs[1] * t)], axis=1)
    tmp = path.with_suffix(".tmp.ogg")
    with soundfile.SoundFile(str(tmp), "w", rate, 2, format="OGG", subtype="VORBIS") as f:
        f.title = title
        f.write(x)
    pages = _pages(tmp.read_bytes())
    tmp.unlink()
    # pages[0]: the identification header (BOS); pages[1:k]: comment + setup (granule 0).
    k = next(i for i, p in enumerate(pages) if i > 0 and struct.unpack("<q", p[6:14])[0] != 0)
    again = []
    for p in pages[:k]:
        copy = bytearray(p)
        copy[5] &= ~0x02 & 0xFF  # not a beginning-of-stream page: the same stream, its headers again
        again.append(copy)
    out = [*pages[:k], *again, *pages[k:]]
    path.write_bytes(b"".join(_sealed(p, i) for i, p in enumerate(out)))
    return path

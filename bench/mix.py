"""Benchmark of the mix (issue 15): speech detectors, loudness, true peak, ducking, clicks.

    .venv/bin/python bench/mix.py               # everything (needs espeak-ng for the VAD table)
    .venv/bin/python bench/mix.py --only vad    # just the detector comparison
    .venv/bin/python bench/mix.py --only export # just the exports

1. VAD: speech from espeak-ng (several voices, languages, speeds) placed in 60 s of
   background (music, crowd-like babble noise, wind-like gusts) at SNR +20 .. -5 dB; frame F1
   (10 ms frames) per SNR per detector (mean over the backgrounds), and seconds per minute of
   audio. Ground truth: the clean speech's active frames (same gap merging as the detectors).
2. Exports: a generated video with speech-like audio under a three-cue sheet, exported at
   web (-14) and broadcast (-23) targets; integrated loudness measured by our meter, by
   pyloudnorm and by FFmpeg's ebur128 filter (through PyAV) on the decoded MP4, true peak,
   music level under speech vs outside (dB), largest sample step at cue edges vs inside.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

SR = 16000
VOICES = [("en", 150), ("en-us", 200), ("de", 170), ("fr", 140), ("es", 220), ("en+f3", 175), ("it", 160)]
SENTENCES = [
    "Hello and welcome back to the channel, today we are walking through the old town.",
    "The weather was perfect this morning, so we took the boat across the lake.",
    "Guten Morgen, wir sind heute in den Bergen und es ist wunderschoen hier.",
    "Bonjour a tous, nous sommes arrives au marche, regardez ces couleurs.",
    "Hola amigos, esta es la playa donde vamos a pasar la tarde entera.",
    "I think this is the best coffee I have had in years, honestly.",
    "Ciao a tutti, oggi vi porto a vedere il castello sulla collina.",
]


def espeak(text: str, voice: str, speed: int, out: Path) -> np.ndarray:
    from engine.media.audio import decode_audio

    subprocess.run(["espeak-ng", "-v", voice, "-s", str(speed), "-w", str(out), text], check=True,
                   capture_output=True)
    return decode_audio(out, SR)


def music_bg(n: int, rng) -> np.ndarray:
    t = np.arange(n) / SR
    chords = [(220, 277, 330), (196, 247, 294), (175, 220, 262), (247, 311, 370)]
    x = np.zeros(n)
    for i in range(0, n, SR * 2):  # a chord every 2 s, kick + hat at 120 bpm
        f = chords[(i // (SR * 2)) % 4]
        seg = slice(i, min(n, i + SR * 2))
        for hz in f:
            x[seg] += np.sin(2 * np.pi * hz * t[seg]) * 0.2
    beat = (t % 0.5) < 0.05
    x += beat * np.sin(2 * np.pi * 60 * t) * 0.6
    hat = ((t + 0.25) % 0.5) < 0.02
    x += hat * rng.standard_normal(n) * 0.2
    return x


def crowd_bg(n: int, rng) -> np.ndarray:
    """Babble-like: band-limited noise with random syllable-rate amplitude modulation, many voices."""
    from scipy.signal import butter, lfilter

    b, a = butter(4, [300 / (SR / 2), 3000 / (SR / 2)], "band")
    x = np.zeros(n)
    for _ in range(12):
        mod = np.repeat(rng.uniform(0.2, 1.0, n // 800 + 1), 800)[:n]
        x += lfilter(b, a, rng.standard_normal(n)) * mod
    return x


def wind_bg(n: int, rng) -> np.ndarray:
    from scipy.signal import butter, lfilter

    b, a = butter(2, 200 / (SR / 2))
    gust = np.convolve(rng.uniform(0.1, 1.0, n // SR + 2), np.ones(2) / 2, "same")
    gust = np.interp(np.arange(n) / SR, np.arange(gust.size), gust)
    return lfilter(b, a, rng.standard_normal(n)) * gust * 5


def speech_scene(clips: list[np.ndarray], seconds: float, rng) -> np.ndarray:
    n = int(seconds * SR)
    x = np.zeros(n)
    pos = int(rng.uniform(0.5, 2.0) * SR)
    k = 0
    while pos < n - SR:
        c = clips[k % len(clips)]
        m = min(c.size, n - pos)
        x[pos:pos + m] += c[:m]
        pos += m + int(rng.uniform(1.0, 4.0) * SR)
        k += 1
    return x


def truth_frames(speech: np.ndarray, hop: float = 0.01) -> np.ndarray:
    from engine.mix.speech import SpeechParams, frame_labels, regions_from_probs

    w = int(hop * SR)
    rms = np.sqrt(np.mean(speech[: speech.size // w * w].reshape(-1, w) ** 2, axis=1))
    active = (rms > 0.02 * rms.max()).astype(np.float32)
    regs = regions_from_probs(active, hop, speech.size / SR, SpeechParams(min_speech=0.05, pad=0.0))
    return frame_labels(regs, speech.size / SR, hop)


def f1(pred: np.ndarray, truth: np.ndarray) -> float:
    n = min(pred.size, truth.size)
    p, t = pred[:n], truth[:n]
    tp = np.sum(p & t)
    return float(2 * tp / max(1, np.sum(p) + np.sum(t)))


def bench_vad() -> None:
    from engine.mix.speech import available_detectors, detect_speech, frame_labels

    if shutil.which("espeak-ng") is None:
        print("VAD: espeak-ng is not installed (apt-get install espeak-ng); skipped")
        return
    rng = np.random.default_rng(0)
    tmp = Path(tempfile.mkdtemp())
    clips = [espeak(s, v, sp, tmp / f"s{i}.wav") for i, (s, (v, sp)) in enumerate(zip(SENTENCES, VOICES))]
    clips = [c / (np.abs(c).max() + 1e-9) * 0.5 for c in clips]
    seconds = 60.0
    speech = speech_scene(clips, seconds, rng)
    truth = truth_frames(speech)
    p_speech = np.mean(speech[np.repeat(truth, SR // 100)[: speech.size]] ** 2)
    print(f"VAD: {len(clips)} espeak-ng voices/languages/speeds, {seconds:.0f} s scenes, "
          f"{truth.mean() * 100:.0f} % speech frames; F1 on 10 ms frames (mean over music, crowd, wind)")
    dets = available_detectors()
    snrs = [20, 10, 5, 0, -5]
    bgs = {"music": music_bg, "crowd": crowd_bg, "wind": wind_bg}
    rows: dict[str, dict] = {d: {} for d in dets}
    times: dict[str, list[float]] = {d: [] for d in dets}
    for det in dets:
        detect_speech(speech[: SR * 2], SR, detector=det)  # warm up (TorchScript profiles its first calls)
    for snr in snrs:
        for name, make in bgs.items():
            bg = make(speech.size, rng)
            bg *= np.sqrt(p_speech / np.mean(bg ** 2) / 10 ** (snr / 10))
            x = (speech + bg).astype(np.float32)
            x /= max(1.0, np.abs(x).max() / 0.99)
            for det in dets:
                t0 = time.perf_counter()
                regs = detect_speech(x, SR, detector=det)
                times[det].append(time.perf_counter() - t0)
                rows[det].setdefault(snr, {})[name] = f1(frame_labels(regs, seconds), truth)
    head = "detector  " + "".join(f"{s:>+8d} dB" for s in snrs) + "   s/min audio"
    print(head)
    for det in dets:
        cells = "".join(f"{np.mean(list(rows[det][s].values())):11.3f}" for s in snrs)
        print(f"{det:9s} {cells}   {np.median(times[det]) / (seconds / 60):8.3f}")
    print("per background (F1 at 20 / 5 / 0 / -5 dB):")
    for det in dets:
        for name in bgs:
            print(f"  {det:7s} {name:6s} " + " ".join(f"{rows[det][s][name]:.3f}" for s in (20, 5, 0, -5)))
    shutil.rmtree(tmp, ignore_errors=True)


def ebur128_lufs(path: Path) -> float:
    """Integrated loudness by FFmpeg's ebur128 filter, through PyAV's filter graph."""
    import av

    with av.open(str(path)) as c:
        s = c.streams.audio[0]
        g = av.filter.Graph()
        src = g.add_abuffer(template=s)
        eb = g.add("ebur128", "metadata=1:peak=true")
        sink = g.add("abuffersink")
        src.link_to(eb)
        eb.link_to(sink)
        g.configure()
        last = None
        for frame in c.decode(s):
            g.push(frame)
            while True:
                try:
                    f = g.pull()
                except (av.error.BlockingIOError, av.error.EOFError):
                    break
                v = f.metadata.get("lavfi.r128.I")
                if v is not None:
                    last = float(v)
        g.push(None)
        while True:
            try:
                f = g.pull()
            except (av.error.BlockingIOError, av.error.EOFError):
                break
            v = f.metadata.get("lavfi.r128.I")
            if v is not None:
                last = float(v)
    return float("nan") if last is None else last


def bench_export() -> None:
    from dataclasses import replace

    import pyloudnorm

    from engine.jobs import run
    from engine.media.audio import decode_audio_channels
    from engine.mix.cuesheet import Cue, CueSheet, MixSettings
    from engine.mix.export import export_job
    from engine.mix.loudness import integrated_loudness, true_peak_db
    from engine.mix.render import layout
    from training.synthmedia import write_audio, write_video

    tmp = Path(tempfile.mkdtemp())
    sr = 44100
    t = np.arange(40 * sr) / sr
    songs = []
    for i, (f1_, f2_) in enumerate(((220, 330), (262, 392), (196, 294))):
        left = 0.3 * np.sin(2 * np.pi * f1_ * t) * (0.7 + 0.3 * np.sin(2 * np.pi * 2 * t))
        right = 0.3 * np.sin(2 * np.pi * f2_ * t) * (0.7 + 0.3 * np.cos(2 * np.pi * 2 * t))
        songs.append(write_audio(tmp / f"song{i}.flac", np.stack([left, right]).astype(np.float32), sample_rate=sr))
    video = write_video(tmp / "v.mp4", 30.0, size=(160, 90), fps=25, gop=25, audio=False)
    speech_regions = np.array([[5.0, 9.0], [17.0, 21.0]])
    sheet = CueSheet((Cue(str(songs[0]), "a", 0, 10, 3.0), Cue(str(songs[1]), "b", 10, 20, 7.0),
                      Cue(str(songs[2]), "c", 20, 30, 1.0)))
    print("\nExports (30 s video, three stereo cues, speech regions 5-9 s and 17-21 s given; "
          "the -9 LUFS row has a clipping square wave as its middle cue, for the limiter):")
    print(f"{'target':>8} {'ours':>8} {'pyln':>8} {'ebur128':>8} {'dBTP':>7} {'duck dB':>8} "
          f"{'edge step':>10} {'inner step':>10} {'s':>6}")
    tt = np.arange(40 * sr) / sr
    hot = np.sign(np.sin(2 * np.pi * 110 * tt)) * (0.5 + 0.5 * ((tt % 0.5) < 0.05))  # clipping, with transients
    hot_song = write_audio(tmp / "hot.wav", np.stack([hot, hot]).astype(np.float32), sample_rate=sr)
    hot_sheet = CueSheet(tuple(replace(c, music_path=str(hot_song)) if i == 1 else c
                               for i, c in enumerate(sheet.cues)))
    for target, which in ((-14.0, sheet), (-23.0, sheet), (-9.0, hot_sheet)):
        out = tmp / f"e{int(-target)}.mp4"
        t0 = time.perf_counter()
        run(export_job(video, which, MixSettings(loudness_target=target), mp4=out, speech=speech_regions))
        secs = time.perf_counter() - t0
        x = decode_audio_channels(out, 48000)
        ours = integrated_loudness(x)
        pyl = pyloudnorm.Meter(48000).integrated_loudness(x.T.astype(np.float64))
        ebu = ebur128_lufs(out)
        tp = true_peak_db(x)

        def level(a, b, x=x):
            seg = x[:, int(a * 48000):int(b * 48000)]
            return 10 * np.log10(np.mean(seg ** 2) + 1e-20)

        # under speech vs outside it, within the same cue (cue 1: 6-8 vs 1-4 s; cue 2: 18-20 vs 12-15 s)
        duck = np.mean([level(6, 8) - level(1, 4), level(18, 20) - level(12, 15)])
        step = np.abs(np.diff(x, axis=1)).max(axis=0)
        segs = layout(sheet, 30.0)
        edges = np.zeros(step.size, bool)
        for sgm in segs:
            for r in sgm.ramps:
                edges[int(max(0, r.a - 0.05) * 48000):int((r.b + 0.05) * 48000)] = True
        print(f"{target:8.1f} {ours:8.2f} {pyl:8.2f} {ebu:8.2f} {tp:7.2f} {duck:8.2f} "
              f"{step[edges].max():10.4f} {step[~edges].max():10.4f} {secs:6.1f}")
    shutil.rmtree(tmp, ignore_errors=True)


def write_long_media(folder: Path, minutes: float) -> tuple[Path, Path]:
    """A ``minutes``-long video (MKV: 64x36 H.264 at 1 fps, stereo FLAC sound, quick to write:
    an espeak-ng sentence every 20 s over a low hum; noise bursts without espeak-ng) and a
    stereo FLAC song as long, both written chunk by chunk (never whole in memory)."""
    import av

    from engine.media.audio import decode_audio
    from training.synthmedia import encode_audio

    talk_clip = None
    if shutil.which("espeak-ng"):
        subprocess.run(["espeak-ng", "-v", "en", "-w", str(folder / "talk.wav"), SENTENCES[0]], check=True,
                       capture_output=True)
        talk_clip = decode_audio(folder / "talk.wav", 48000)
        talk_clip = 0.5 * talk_clip / np.abs(talk_clip).max()
    seconds = int(minutes * 60)
    video = folder / f"long{minutes:g}.mkv"
    song = folder / f"song{minutes:g}.flac"
    rng = np.random.default_rng(0)
    with av.open(str(video), "w") as c:
        vs = c.add_stream("libx264", rate=1, options={"preset": "ultrafast", "g": "10"})
        vs.width, vs.height, vs.pix_fmt = 64, 36, "yuv420p"
        aus = c.add_stream("flac", rate=48000)
        aus.layout = "stereo"
        rs = av.AudioResampler(format=aus.codec_context.format.name, layout="stereo", rate=48000, frame_size=4096)
        img = np.zeros((36, 64, 3), np.uint8)
        for i in range(seconds):
            img[:] = (i * 7) % 255
            f = av.VideoFrame.from_ndarray(img, format="rgb24")
            f.pts = i
            for p in vs.encode(f):
                c.mux(p)
            t = np.arange(48000) / 48000 + i
            x = 0.02 * np.sin(2 * np.pi * 180 * t)
            k = (i % 20) - 3  # a sentence from 3 s of every 20
            if talk_clip is None:
                x = x + 0.1 * rng.standard_normal(48000) * (0 <= k < 6)
            elif 0 <= k * 48000 < talk_clip.size:
                part = talk_clip[k * 48000:(k + 1) * 48000]
                x[:part.size] += part
            x = x.astype(np.float32)
            af = av.AudioFrame.from_ndarray(np.stack([x, x]), format="fltp", layout="stereo")
            af.sample_rate, af.pts = 48000, i * 48000
            for r in rs.resample(af):
                for p in aus.encode(r):
                    c.mux(p)
        for p in vs.encode():
            c.mux(p)
        for r in rs.resample(None):
            for p in aus.encode(r):
                c.mux(p)
        for p in aus.encode():
            c.mux(p)
    with av.open(str(song), "w") as c:
        s = c.add_stream("flac", rate=44100)
        s.layout = "stereo"
        t = np.arange((seconds + 5) * 44100) / 44100
        x = (0.3 * np.sin(2 * np.pi * 220 * t) * (0.6 + 0.4 * np.sin(2 * np.pi * 2 * t))).astype(np.float32)
        encode_audio(c, s, np.stack([x, 0.5 * x]), 44100)
    return video, song


_MEMORY_CHILD = """
import resource, sys, time
import numpy as np
from engine.jobs import run
from engine.mix.cuesheet import Cue, CueSheet, MixSettings
from engine.mix.export import export_job
video, song, minutes, out = sys.argv[1], sys.argv[2], float(sys.argv[3]), sys.argv[4]
import engine.mix.speech as sp
sp.get_detector()  # the model loaded before the baseline
base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
sheet = CueSheet((Cue(song, "a", 0, minutes * 60 / 2, 0.0), Cue(song, "b", minutes * 60 / 2, minutes * 60, 30.0)))
t0 = time.perf_counter()
r = run(export_job(video, sheet, MixSettings(), mp4=out))
print(base / 1024, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, time.perf_counter() - t0,
      len(r.speech), r.loudness_lufs)
"""


def bench_memory(minutes_list: list[float]) -> None:
    print("\nMemory (peak RSS of the whole export in a fresh process, default settings: speech found, "
          "ducked, -14 LUFS):")
    print(f"{'minutes':>8} {'RSS before MB':>14} {'peak RSS MB':>12} {'export s':>9} {'s/min':>6} "
          f"{'speech regions':>15} {'LUFS':>7}")
    for minutes in minutes_list:
        tmp = Path(tempfile.mkdtemp())
        try:
            video, song = write_long_media(tmp, minutes)
            out = subprocess.run([sys.executable, "-c", _MEMORY_CHILD, str(video), str(song), str(minutes),
                                  str(tmp / "out.mp4")], capture_output=True, text=True,
                                 cwd=Path(__file__).resolve().parents[1])
            if out.returncode != 0:
                print(f"{minutes:8g} failed: {out.stderr.strip().splitlines()[-1:]}")
                continue
            base, peak, secs, nspeech, lufs = out.stdout.split()
            print(f"{minutes:8g} {float(base):14.0f} {float(peak):12.0f} {float(secs):9.1f} "
                  f"{float(secs) / minutes:6.2f} {int(nspeech):15d} {float(lufs):7.2f}")
        finally:
            shutil.rmtree(tmp, ignore_errors=True)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--only", choices=("vad", "export", "memory"))
    ap.add_argument("--minutes", default="5,30", help="lengths (minutes) for the memory check, e.g. 5,30,120")
    a = ap.parse_args(argv)
    if a.only in (None, "vad"):
        bench_vad()
    if a.only in (None, "export"):
        bench_export()
    if a.only in (None, "memory"):
        bench_memory([float(m) for m in a.minutes.split(",")])
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

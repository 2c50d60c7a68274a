"""``mvpt learn``: a folder of generated edits (PyAV, a few seconds each) with the bad ones a
creator's folder holds — no soundtrack, speech only, a duplicate, a corrupt file in the
middle — fine-tuned from a tiny random model on the real weightless extractors."""

from __future__ import annotations

import errno
import hashlib
import json
import shutil
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest
import torch

from engine.features.registry import create_extractor
from engine.jobs import Cancelled, run
from engine.model.checkpoint import CheckpointConfig, load_checkpoint, save_checkpoint
from engine.model.config import MVPTConfig
from engine.model.factory import build_model
from training.learn import (
    MIN_DECIDE_EDITS,
    HeldOutScore,
    Judged,
    LearnError,
    decide,
    learn,
    music_likeness,
    scene_hits,
)
from training.synthmedia import encode_audio, tone, write_video

torch.set_num_threads(1)
SR = 22050
STEPS = 24  # fine-tuning steps: enough to exercise every stage, not to learn much


def speech_like(duration: float, sr: int = SR, seed: int = 0) -> np.ndarray:
    """float32 [N]: voiced syllables (a gliding 110-180 Hz buzz through two formants) of
    120-250 ms with short pauses between them and longer ones between words."""
    rng = np.random.default_rng(seed)
    out = np.zeros(int(duration * sr), np.float32)
    t = 0.0
    while t < duration - 0.3:
        n_syl = int(rng.integers(1, 4))
        for _ in range(n_syl):
            d = rng.uniform(0.12, 0.25)
            k = np.arange(int(d * sr))
            f0 = rng.uniform(110, 180) * (1 + 0.1 * np.sin(np.linspace(0, np.pi, len(k))))
            ph = 2 * np.pi * np.cumsum(f0) / sr
            voice = sum(np.sin(h * ph) / h for h in range(1, 12))
            env = np.sin(np.linspace(0, np.pi, len(k))) ** 2
            a = int(t * sr)
            seg = (0.3 * env * voice).astype(np.float32)[: max(0, len(out) - a)]
            out[a:a + len(seg)] += seg
            t += d + rng.uniform(0.04, 0.1)
        t += rng.uniform(0.2, 0.45)
    return out


def write_with_audio(path: Path, samples: np.ndarray, duration: float, hue: float) -> Path:
    """A small H.264 + AAC video with the given mono soundtrack."""
    from training.synthmedia import _frame_rgb

    with av.open(str(path), "w") as c:
        vs = c.add_stream("libx264", rate=Fraction(10), options={"preset": "ultrafast", "crf": "30"})
        vs.width, vs.height, vs.pix_fmt = 96, 64, "yuv420p"
        aus = c.add_stream("aac", rate=SR)
        aus.layout = "mono"
        for i in range(int(duration * 10)):
            frame = av.VideoFrame.from_ndarray(_frame_rgb(i, 10.0, 96, 64, hue), format="rgb24")
            frame.pts = i
            for pkt in vs.encode(frame):
                c.mux(pkt)
        for pkt in vs.encode():
            c.mux(pkt)
        encode_audio(c, aus, samples[None, :], SR)
    return path


@pytest.fixture(scope="module")
def edits(tmp_path_factory) -> Path:
    """8 good edits, one without audio, one speech-only, a duplicate, a truncated file."""
    root = tmp_path_factory.mktemp("edits")
    for i in range(8):
        write_video(root / f"edit_{i}.mp4", 4.0, size=(96, 64), fps=10, hue=i / 8, audio_freq=220.0 * 1.25 ** i)
    write_video(root / "no_sound.mp4", 4.0, size=(96, 64), fps=10, audio=False)
    write_with_audio(root / "interview.mp4", speech_like(4.0), 4.0, hue=0.3)
    shutil.copy(root / "edit_2.mp4", root / "sub_copy_of_edit_2.mp4")
    data = (root / "edit_5.mp4").read_bytes()
    (root / "edit_4b_broken.mp4").write_bytes(data[: len(data) // 2])  # sorts in the middle
    (root / "notes.txt").write_text("not a video")
    return root


@pytest.fixture(scope="module")
def base(tmp_path_factory) -> Path:
    """A tiny random MVPt on the weightless extractors' features (segments of 1 s)."""
    vis, mus = create_extractor("classic"), create_extractor("classic-music")
    torch.manual_seed(0)
    mcfg = MVPTConfig(visual_dim=vis.dim, music_dim=mus.dim, d_model=16, n_layers=1, n_heads=2, ff_dim=32,
                      out_dim=16, seq_len=4, dropout=0.0)
    out = tmp_path_factory.mktemp("base") / "model"
    ck = CheckpointConfig(model=mcfg, features={"visual": {"id": vis.id, "dim": vis.dim},
                                                "music": {"id": mus.id, "dim": mus.dim}},
                          segment_seconds=1.0, seq_len=4)
    save_checkpoint(out, build_model(mcfg), ck)
    return out


def _digest(folder: Path) -> str:
    h = hashlib.sha256()
    for p in sorted(folder.rglob("*")):
        if p.is_file():
            h.update(p.name.encode() + p.read_bytes())
    return h.hexdigest()


def test_music_likeness_tells_speech_from_music():
    music = tone(6.0, 16000, 330.0)[0]
    assert music_likeness(music, 16000)[1] == ""
    speech = speech_like(6.0, 16000)
    score, why = music_likeness(speech, 16000)
    assert "speech" in why and score < music_likeness(music, 16000)[0]
    assert "silent" in music_likeness(np.zeros(16000, np.float32), 16000)[1]


def test_learn_skips_bad_edits_with_reasons_and_writes_a_new_version(edits, base, tmp_path):
    before = _digest(base)
    events = []
    res = run(learn(edits, base, tmp_path / "mine", budget_minutes=2, threads=1, steps=STEPS), events.append)
    reasons = {s.file: s.reason for s in res.skipped}
    assert set(reasons) == {"no_sound.mp4", "interview.mp4", "sub_copy_of_edit_2.mp4", "edit_4b_broken.mp4"}
    assert "no soundtrack" in reasons["no_sound.mp4"]
    assert "speech" in reasons["interview.mp4"]
    assert "duplicate" in reasons["sub_copy_of_edit_2.mp4"] and "edit_2.mp4" in reasons["sub_copy_of_edit_2.mp4"]
    assert reasons["edit_4b_broken.mp4"]
    assert res.edits == 8 and res.held_out == 2
    assert res.checkpoint == tmp_path / "mine" / "v1"
    doc = json.loads((res.checkpoint / "config.json").read_text())
    assert doc["metrics"]["better"] == res.better
    assert doc["metrics"]["held_out_before"]["videos"] == 2 and doc["metrics"]["held_out_before"]["tracks"] == 2
    assert load_checkpoint(res.checkpoint).config.features == load_checkpoint(base).config.features
    assert _digest(base) == before  # the previous model is never touched
    assert {"features", "judge", "fine-tune"} <= {e.stage for e in events}
    assert "skipped" in res.summary()
    # 2 held-out edits cannot tell two models apart: keep the current one, and say why
    assert res.verdict == "unsure" and not res.better and not res.switch and not res.forced
    assert "not enough held-out edits" in res.reason and res.reason in res.summary()
    assert doc["metrics"]["decision"]["verdict"] == "unsure"

    # a second run reads no video again (features kept by content) and writes v2
    items = sorted((tmp_path / "mine" / "work").rglob("*.npz"))
    stamps = [p.stat().st_mtime_ns for p in items]
    res2 = run(learn(edits, base, tmp_path / "mine", budget_minutes=2, threads=1, steps=STEPS, force=True))
    assert res2.checkpoint == tmp_path / "mine" / "v2"
    assert res2.switch and res2.forced and res2.verdict == "unsure" and "anyway" in res2.reason
    assert [p.stat().st_mtime_ns for p in items] == stamps
    assert {s.file for s in res2.skipped} == set(reasons)


def test_cancel_at_any_step_leaves_no_version(edits, base, tmp_path):
    for stop_at in ("features", "fine-tune"):
        seen = {"n": 0}
        job = learn(edits, base, tmp_path / "mine", budget_minutes=2, threads=1, steps=STEPS,
                    cancel=lambda seen=seen: seen["n"] >= 3)
        with pytest.raises(Cancelled):
            for ev in job:
                seen["n"] += ev.stage == stop_at
        assert not list((tmp_path / "mine").glob("v*")) and not list((tmp_path / "mine").glob(".v*"))


def test_full_disk_during_fine_tuning_is_a_clear_error(edits, base, tmp_path, monkeypatch):
    import safetensors.torch

    def full(*a, **k):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(safetensors.torch, "save_file", full)
    with pytest.raises(LearnError, match="full"):
        run(learn(edits, base, tmp_path / "mine", budget_minutes=2, threads=1, steps=STEPS))
    mine = tmp_path / "mine"
    assert not list(mine.glob("v*"))
    assert not [p for p in mine.rglob("*") if ".tmp" in p.name]  # nothing half-written


def test_empty_and_unusable_folders(base, tmp_path, edits):
    (tmp_path / "empty").mkdir()
    with pytest.raises(LearnError, match="no video files"):
        run(learn(tmp_path / "empty", base, tmp_path / "o"))
    bad = tmp_path / "bad"
    bad.mkdir()
    shutil.copy(edits / "no_sound.mp4", bad / "a.mp4")
    shutil.copy(edits / "interview.mp4", bad / "b.mp4")
    with pytest.raises(LearnError, match="only 0 usable"):
        run(learn(bad, base, tmp_path / "o"))
    with pytest.raises(LearnError, match="not a folder"):
        run(learn(tmp_path / "missing", base, tmp_path / "o"))


def _judged(hits: list[int], scenes: list[int]) -> Judged:
    h, sc = np.array(hits), np.array(scenes)
    return Judged(HeldOutScore(100.0 * h.sum() / sc.sum(), 12.5, 5.0, 5.0, int(sc.sum()), len(sc), 40), h, sc)


def test_the_switch_decision_is_a_paired_comparison_with_an_interval():
    scenes = [20] * 10
    before = _judged([2] * 10, scenes)
    # every held-out edit gains: better, the interval above 0
    d = decide(before, _judged([5, 4, 6, 5, 3, 5, 4, 6, 5, 4], scenes))
    assert d.verdict == "better" and d.low > 0 and d.low <= d.gain <= d.high
    assert d.gain == pytest.approx(100 * (47 - 20) / 200)
    # the same total gain carried by two edits while most lose: cannot tell
    d = decide(before, _judged([16, 15, 1, 1, 1, 1, 1, 1, 1, 1], scenes))
    assert d.gain > 0 and d.verdict == "unsure" and d.low < 0 < d.high and "cannot tell" in d.reason
    # clearly worse
    d = decide(_judged([6] * 10, scenes), _judged([1, 2, 0, 1, 2, 1, 0, 2, 1, 1], scenes))
    assert d.verdict == "worse" and d.high < 0
    # a large gain on too few held-out edits is not trusted
    few = MIN_DECIDE_EDITS - 1
    d = decide(_judged([0] * few, [20] * few), _judged([20] * few, [20] * few))
    assert d.verdict == "unsure" and d.low is None and "not enough held-out edits" in d.reason
    # seeded: the same figures give the same decision
    a, b = _judged([2] * 10, scenes), _judged([3, 4, 2, 5, 1, 4, 3, 2, 4, 3], scenes)
    assert decide(a, b) == decide(a, b)


def test_scene_hits_against_brute_force():
    rng = np.random.default_rng(0)
    model = build_model(MVPTConfig(visual_dim=6, music_dim=5, d_model=8, n_layers=1, n_heads=2, ff_dim=16,
                                   out_dim=8, seq_len=4, dropout=0.0))
    vis = [torch.from_numpy(rng.normal(size=(t, 6)).astype(np.float32)) for t in (3, 5, 2, 4, 6, 1, 3)]
    mus = [torch.from_numpy(rng.normal(size=(v.shape[0], 5)).astype(np.float32)) for v in vis]
    got = scene_hits(model, vis, mus, k=5)
    from engine.model.windows import encode_many

    ov, om = encode_many(model.visual, vis), encode_many(model.music, mus)
    hits = scenes = 0
    for q in range(len(vis)):
        for s in ov[q].segments:
            best = [max(float(s @ x) for x in om[j].segments) for j in range(len(mus))]
            rank = 1 + sum(b > best[q] for b in best)
            hits += rank <= 5
            scenes += 1
    assert got["scenes"] == scenes and got["hit@5"] == pytest.approx(100 * hits / scenes)
    assert got["chance@5"] == pytest.approx(100 * 5 / 7)


def test_cli_learn(edits, base, tmp_path, capsys):
    from training.cli import main

    assert main(["learn", str(edits), "--checkpoint", str(base), "--data-dir", str(tmp_path), "--budget", "1",
                 "--threads", "1", "--device", "cpu", "--quiet", "--steps", str(STEPS), "--json", str(tmp_path / "r.json")]) == 0
    out = capsys.readouterr().out
    assert "edits used" in out and "interview.mp4" in out
    doc = json.loads((tmp_path / "r.json").read_text())
    assert Path(doc["checkpoint"]).parent == tmp_path / "models" / "learned" / "my-style"
    assert doc["switched"] is False  # an explicit --checkpoint never changes the settings

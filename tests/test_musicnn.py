"""The PyTorch port of musicnn against what the original (TF) computes, and the extractor.

Reference outputs live outside the repository, in ../shared/musicnn-reference (see its
README); these tests skip, saying why, when it or the weights are absent.
"""

from __future__ import annotations

import copy
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from engine.features.base import FeatureError, FeatureExtractor
from engine.features.musicnn import MSD_LABELS, MTT_LABELS
from engine.features.musicnn import preprocess as pre
from engine.features.musicnn.weights import find_weights
from engine.jobs import Cancelled, Progress, run
from engine.media.audio import decode_audio
from engine.media.grid import SegmentGrid

REFERENCE = Path(__file__).resolve().parents[2] / "shared" / "musicnn-reference"
CLIPS = ("tone_and_kick", "noise_beats", "piano_arpeggio")
MODELS = ("MTT_musicnn", "MSD_musicnn")

needs_reference = pytest.mark.skipif(
    not REFERENCE.is_dir(), reason=f"musicnn reference outputs not found at {REFERENCE}")


def _weights_missing() -> str | None:
    try:
        find_weights("MTT_musicnn")
        find_weights("MSD_musicnn")
    except FeatureError as exc:
        return str(exc)
    return None


needs_weights = pytest.mark.skipif(_weights_missing() is not None,
                                   reason=f"musicnn weights not installed: {_weights_missing()}")


@pytest.fixture(scope="module", autouse=True)
def _one_torch_thread():
    """One intra-op thread: on a busy 2-core machine OpenMP's spinning threads make these
    small batches ~3x slower than one thread (measured with bench/musicnn.py)."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="module")
def extractors():
    from engine.features.musicnn import MusicnnExtractor

    return {m: MusicnnExtractor(m) for m in MODELS}


def _ref(clip: str) -> dict[str, np.ndarray]:
    with np.load(REFERENCE / f"{clip}.npz") as z:
        return {k: z[k] for k in z.files}


# --- preprocessing ------------------------------------------------------------------------

def test_mel_filterbank_is_librosa_slaney():
    fb = pre.mel_filterbank()  # [96, 257]
    assert fb.shape == (96, 257) and fb.dtype == np.float32
    assert np.all(fb >= 0) and np.all(fb.sum(axis=1) > 0)  # no empty band at 16 kHz / 512
    # Slaney area normalisation: each triangle integrates (over Hz) to about 1.
    area = fb.sum(axis=1) * (16000 / 512)
    assert np.allclose(area, 1.0, rtol=0.08)
    # Band edges on the Slaney scale: linear (200/3 Hz per mel) below 1 kHz.
    assert np.isclose(pre.hz_to_mel(np.array(1000.0)), 15.0)
    assert np.isclose(pre.mel_to_hz(pre.hz_to_mel(np.array(3000.0))), 3000.0)


def test_log_compression_in_float32_stays_finite():
    """musicnn's float16 log overflows under NumPy 2; ours must not."""
    loud = np.full((4, 96), 3.0e4, dtype=np.float32)
    out = pre.log_compress(loud)
    assert np.all(np.isfinite(out)) and out.dtype == np.float32
    assert out[0, 0] == pytest.approx(np.log10(1e4 * 3.0e4 + 1), rel=1e-3)


@needs_reference
@pytest.mark.parametrize("clip", CLIPS)
def test_preprocessing_matches_reference_input_batch(clip: str):
    samples, sr = sf.read(REFERENCE / f"{clip}.wav", dtype="float32")
    assert sr == pre.SAMPLE_RATE
    batch = pre.reference_batch(samples)
    ref = _ref(clip)["input_batch"]
    assert batch.shape == ref.shape == (3, 187, 96)
    assert np.abs(batch - ref).max() <= 1e-5


@needs_reference
def test_tag_names_are_the_originals():
    ref = _ref(CLIPS[0])
    assert list(MTT_LABELS) == [str(s) for s in ref["MTT_musicnn/labels"]]
    assert list(MSD_LABELS) == [str(s) for s in ref["MSD_musicnn/labels"]]
    assert "female vocal" in MTT_LABELS and "Hip-Hop" in MSD_LABELS


# --- the network --------------------------------------------------------------------------

def _assert_close(got: np.ndarray, want: np.ndarray, what: str, tol: float = 1e-5) -> None:
    """max |got - want| <= tol * max |want| (and <= tol for values of at most 1).

    Relative to the output's scale because that is how float32 rounding grows: max_pool
    reaches ~100 and carries ~2e-4 of rounding, which TF's own result shows too (measured:
    TF and this port differ from a float64 run of the same graph by the same amount)."""
    err = float(np.abs(got - want).max())
    scale = max(1.0, float(np.abs(want).max()))
    assert err <= tol * scale, f"{what}: max abs diff {err:.3g} (scale {scale:.3g})"


@needs_reference
@needs_weights
@pytest.mark.parametrize("model", MODELS)
@pytest.mark.parametrize("clip", CLIPS)
def test_network_matches_reference_given_its_input(extractors, model: str, clip: str):
    import torch

    ref = _ref(clip)
    net = extractors[model].net
    with torch.inference_mode():
        out = net(torch.from_numpy(ref["input_batch"]))
    for name in ("taggram", "penultimate", "mean_pool", "max_pool"):
        _assert_close(getattr(out, name).numpy(), ref[f"{model}/{name}"], name)


@needs_reference
@needs_weights
@pytest.mark.parametrize("model", MODELS)
def test_wav_to_segment_features_end_to_end(extractors, model: str):
    """From the .wav: our preprocessing + network + pooling give the original's penultimate.

    With 3 s segments, the 10 s clip's patches (starting at frames 0, 187, 374, and one
    flush with the end at 439) fall one per segment, except the last two (the 1 s tail is
    merged into the third segment)."""
    ext = extractors[model]
    samples, _ = sf.read(REFERENCE / "noise_beats.wav", dtype="float32")
    ref = _ref("noise_beats")
    out = ext.analyse_audio(samples, SegmentGrid(10.0, segment_seconds=3.0))
    assert out.features.shape == (3, 400) and out.features.dtype == np.float32
    pen = ref[f"{model}/penultimate"]
    for seg in (0, 1):  # one patch each: mean == max == that patch
        _assert_close(out.features[seg, :200], pen[seg], f"segment {seg} mean")
        _assert_close(out.features[seg, 200:], pen[seg], f"segment {seg} max")
    assert np.all(out.features[2, 200:] >= out.features[2, :200] - 1e-6)  # max >= mean
    _assert_close(out.tags[0], ref[f"{model}/taggram"][0], "segment 0 tags")
    assert out.tag_names == list(MTT_LABELS if model.startswith("MTT") else MSD_LABELS)


@needs_reference
@needs_weights
def test_top_tags_as_the_original(extractors):
    samples, _ = sf.read(REFERENCE / "piano_arpeggio.wav", dtype="float32")
    out = extractors["MTT_musicnn"].analyse_audio(samples, SegmentGrid(10.0))
    assert [name for name, _ in out.top_tags(2)] == ["slow", "piano"]


# --- the extractor ------------------------------------------------------------------------

def _tone_wav(path: Path, seconds: float) -> Path:
    t = np.arange(int(seconds * 22050)) / 22050
    audio = 0.3 * np.sin(2 * np.pi * 220 * t) * (1 + np.sign(np.sin(2 * np.pi * 2 * t))) / 2
    sf.write(path, np.stack([audio, audio], axis=1).astype(np.float32), 22050)  # stereo, resampled
    return path


@needs_weights
def test_extract_from_file_is_a_job(extractors, tmp_path: Path):
    ext = extractors["MTT_musicnn"]
    assert isinstance(ext, FeatureExtractor) and ext.modality == "music"
    assert ext.id == "musicnn:MTT_musicnn:pen-meanmax:hop187:v1" and ext.dim == 400
    path = _tone_wav(tmp_path / "tone.wav", 12.0)
    grid = SegmentGrid(12.0)  # 6.7 + 5.3 s
    events: list[Progress] = []
    out = run(ext.extract_with_tags(path, grid), events.append)
    feats = out.features
    assert feats.shape == (2, 400) and feats.dtype == np.float32 and np.all(np.isfinite(feats))
    assert out.tags.shape == (2, 50) and np.all((out.tags > 0) & (out.tags < 1))
    stages = [e.stage for e in events]
    assert stages[0] == "decode" and "embed" in stages
    embeds = [e for e in events if e.stage == "embed"]
    assert embeds[-1].done == embeds[-1].total == 5  # 4 regular patches + one flush with the end
    dones = [e.done for e in embeds]
    assert dones == sorted(set(dones))  # strictly increasing
    # The job is decode_audio + analyse_audio.
    whole = ext.analyse_audio(decode_audio(path), grid)
    np.testing.assert_allclose(feats, whole.features, atol=1e-5)
    np.testing.assert_allclose(out.tags, whole.tags, atol=1e-6)


@needs_weights
def test_extract_files_shorter_and_longer_than_the_grid(extractors, tmp_path: Path):
    ext = extractors["MTT_musicnn"]
    short = _tone_wav(tmp_path / "short.wav", 1.2)  # less than one 3 s patch: repeat-padded
    feats = run(ext.extract(short, SegmentGrid(1.2)))
    np.testing.assert_allclose(feats, ext.analyse_audio(decode_audio(short), SegmentGrid(1.2)).features,
                               atol=1e-5)
    long = _tone_wav(tmp_path / "long.wav", 30.0)  # the grid covers the first 9 s only
    events: list[Progress] = []
    feats = run(ext.extract(long, SegmentGrid(9.0, segment_seconds=4.5)), events.append)
    assert feats.shape == (2, 400)
    assert [e for e in events if e.stage == "embed"][-1].done == 4  # 3 + 1 flush with 9 s; not 11


@needs_weights
def test_unreadable_file_is_a_media_error(extractors, tmp_path: Path):
    from engine.media.errors import MediaError

    bad = tmp_path / "song.wav"
    bad.write_text("not audio at all")
    ext = extractors["MTT_musicnn"]
    with pytest.raises(MediaError):
        run(ext.extract(bad, SegmentGrid(3.0)))
    with pytest.raises(MediaError):
        run(ext.extract(tmp_path / "missing.mp3", SegmentGrid(3.0)))


@needs_weights
def test_cancel_between_batches(extractors):
    ext = copy.copy(extractors["MTT_musicnn"])  # shares the network
    ext.batch_size = 1
    samples = np.random.default_rng(0).standard_normal(16000 * 12).astype(np.float32) * 0.1
    seen = []
    job = ext.analyse_job(samples, SegmentGrid(12.0), cancel=lambda: len(seen) >= 2)
    with pytest.raises(Cancelled):
        for event in job:
            seen.append(event)
    assert 2 <= len(seen) < 5  # stopped long before the 4 patches were done


@needs_weights
def test_short_audio_and_short_segments(extractors):
    ext = extractors["MSD_musicnn"]
    rng = np.random.default_rng(1)
    short = rng.standard_normal(16000).astype(np.float32) * 0.1  # 1 s: repeat-padded to 3 s
    out = ext.analyse_audio(short, SegmentGrid(1.0))
    assert out.features.shape == (1, 400) and np.all(np.isfinite(out.features))
    # 1.25 s segments are shorter than the 3 s patch hop: each still gets its nearest patch.
    tune = rng.standard_normal(16000 * 9).astype(np.float32) * 0.1
    out = ext.analyse_audio(tune, SegmentGrid(9.0, segment_seconds=1.25))
    assert out.features.shape == (7, 400) and np.all(np.isfinite(out.features))
    with pytest.raises(ValueError):
        ext.analyse_audio(np.zeros(0, dtype=np.float32), SegmentGrid(1.0))


@needs_weights
def test_batch_size_does_not_change_results(extractors):
    one_by_one = copy.copy(extractors["MTT_musicnn"])
    one_by_one.batch_size = 1
    samples = np.random.default_rng(2).standard_normal(16000 * 7).astype(np.float32) * 0.1
    grid = SegmentGrid(7.0, segment_seconds=3.5)  # 3 patches: 2 + 1 flush with the end
    a = extractors["MTT_musicnn"].analyse_audio(samples, grid).features
    b = one_by_one.analyse_audio(samples, grid).features
    np.testing.assert_allclose(a, b, atol=2e-5)


def test_missing_weights_say_what_to_run(tmp_path: Path, monkeypatch):
    from engine.features.musicnn import weights

    with pytest.raises(FeatureError, match=r"pip install --no-deps musicnn==0\.1\.0"):
        find_weights("MTT_musicnn", weights_dir=tmp_path)
    monkeypatch.setattr(weights, "_package_dirs", lambda: [])
    with pytest.raises(FeatureError) as info:
        find_weights("MTT_musicnn")
    assert "pip install --no-deps musicnn==0.1.0" in str(info.value)
    assert "make setup" in str(info.value)
    with pytest.raises(FeatureError, match="unknown musicnn model"):
        find_weights("MTT_vgg")


@needs_weights
def test_weights_found_when_a_script_named_musicnn_shadows_the_package(monkeypatch):
    """bench/musicnn.py run as a script puts a module named ``musicnn`` first on sys.path."""
    import importlib.machinery

    from engine.features.musicnn import weights

    shadow = importlib.machinery.ModuleSpec("musicnn", None, origin="/somewhere/bench/musicnn.py")
    monkeypatch.setattr(weights.importlib.util, "find_spec", lambda name: shadow)
    assert (find_weights("MSD_musicnn") / ".index").is_file()


# --- patches and pooling (no weights needed) ----------------------------------------------

def test_patches_cover_every_frame_once_or_twice():
    from engine.features.musicnn.pooling import assign_patches, patch_centres

    for n in (187, 188, 500, 561, 1251):
        starts = pre.patch_starts(n, 187)
        covered = np.zeros(n, int)
        for s in starts:
            covered[s:s + 187] += 1
        assert covered.min() == 1 and covered.max() <= 2 and starts[-1] + 187 == n
    assert list(pre.patch_starts(100, 187)) == [0]  # shorter: one (repeat-padded) patch
    grid = SegmentGrid(20.0)  # 6.7, 6.7, 6.6 s
    groups = assign_patches(grid, patch_centres(pre.patch_starts(1251, 187)))
    assert [g.tolist() for g in groups] == [[0, 1], [2, 3], [4, 5, 6]]


def test_every_segment_gets_a_patch_even_when_shorter_than_the_hop():
    from engine.features.musicnn.pooling import assign_patches, patch_centres, pool_mean_max

    centres = patch_centres(pre.patch_starts(626, 187))  # 10 s: centres 1.5, 4.5, 7.5, 8.5 s
    grid = SegmentGrid(10.0, segment_seconds=1.0)
    groups = assign_patches(grid, centres)
    assert all(len(g) >= 1 for g in groups) and len(groups) == 10
    assert groups[0].tolist() == [0]  # 0-1 s: nearest centre 1.49 s
    assert groups[1].tolist() == [0]  # 1-2 s: holds that centre
    assert groups[3].tolist() == [1]  # 3-4 s: nearest is 4.48 s
    values = np.arange(8, dtype=np.float32).reshape(4, 2)
    pooled = pool_mean_max(values, [np.array([0, 1]), np.array([3])])
    np.testing.assert_array_equal(pooled, [[1, 2, 2, 3], [6, 7, 6, 7]])


# --- the fast paths against the plain graph (random weights, no checkpoint needed) --------

def _random_musicnn(seed: int = 0):
    import torch

    from engine.features.musicnn.network import FrozenBatchNorm, Musicnn

    torch.manual_seed(seed)
    net = Musicnn()
    rng = np.random.default_rng(seed)
    for bn in net.modules():
        if isinstance(bn, FrozenBatchNorm):
            c = bn.scale.numel()
            gamma = rng.normal(size=c).astype(np.float32)  # both signs: max and min pooling
            bn.set_from(gamma, rng.normal(size=c).astype(np.float32),
                        rng.normal(size=c).astype(np.float32), rng.uniform(0.1, 2, size=c).astype(np.float32))
    net.prepare()
    return net


def test_fft_timbral_path_equals_the_direct_convolution():
    import torch

    net = _random_musicnn()
    x = torch.randn(2, 64, 96)  # the graph is fully convolutional in time; short is enough
    with torch.inference_mode():
        fast = net(x)
        net.use_fft = False
        direct = net(x)
    for name in ("penultimate", "mean_pool", "max_pool", "logits"):
        _assert_close(getattr(fast, name).numpy(), getattr(direct, name).numpy(), name)


def test_pooling_trick_equals_conv_relu_bn_max():
    """BN with a negative scale turns max-pooling into min-pooling; the branch must agree
    with the literal order of the original graph."""
    import torch
    import torch.nn.functional as F

    net = _random_musicnn(1)
    assert (net.timbral[0].bn.scale < 0).any() and (net.timbral[0].bn.scale > 0).any()
    x = torch.randn(1, 1, 64, 96)
    with torch.inference_mode():
        for branch in (*net.timbral, *net.temporal):
            z = F.relu(branch.conv(F.pad(x, (0, 0) + branch.time_pad)))  # [B, C, T, F]
            literal = branch.bn(z).amax(dim=3)
            _assert_close(branch(x).numpy(), literal.numpy(), "branch")


def test_finding_weights_does_not_load_torch():
    """The library asks find_weights which extractor to default to, before any model loads."""
    import subprocess
    import sys

    code = ("import sys; from engine.features.musicnn.weights import find_weights\n"
            "try:\n    find_weights()\nexcept Exception:\n    pass\n"
            "sys.exit('torch' in sys.modules)")
    root = Path(__file__).resolve().parents[1]
    assert subprocess.run([sys.executable, "-c", code], cwd=root).returncode == 0

"""The sync score: offsets recovered on generated pairs, the FFT search against the plain
gather, no invented grid, and the re-ranker's guarantees."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from engine.rhythm.music import MusicRhythm
from engine.rhythm.sync import (
    NO_CUTS,
    NO_STEADY_BEAT,
    _dense,
    _pearson_over_shifts,
    beat_offsets,
    beat_pulse,
    best_offset,
    describe_offset,
    rerank,
    score_offsets,
    snap_to_beat,
    snap_to_downbeat,
    sync_summary,
)
from engine.rhythm.video import VideoRhythm


def make_music(bpm: float, duration: float, seed: int, meter: int = 4) -> MusicRhythm:
    """A steady track: beats from 0.25 s, sections every 8 bars with their own loudness, an
    onset curve with accented downbeats."""
    rng = np.random.default_rng(seed)
    beats = np.arange(0.25, duration - 0.5, 60.0 / bpm)
    downbeats = beats[::meter]
    sections = np.concatenate([[0.0], downbeats[8::8]])
    t = np.arange(int(np.ceil(duration * 10))) / 10
    level = rng.uniform(0.2, 1.0, len(sections))[np.searchsorted(sections, t, side="right") - 1]
    d_beat = np.min(np.abs(beats[None, :] - t[:, None]), axis=1)
    d_down = np.min(np.abs(downbeats[None, :] - t[:, None]), axis=1)
    onset = 0.5 * np.exp(-0.5 * (d_beat / 0.05) ** 2) + 0.5 * np.exp(-0.5 * (d_down / 0.05) ** 2)
    energy = level * (0.5 + 0.5 * onset) + 0.05 * rng.random(len(t))
    return MusicRhythm(duration, True, bpm, meter=meter, beats=beats, downbeats=downbeats, sections=sections,
                       energy=(energy / energy.max()).astype(np.float32), ending=float(downbeats[-1]))


def make_video(music: MusicRhythm, offset: float, duration: float, seed: int) -> VideoRhythm:
    """Cut to ``music`` started at ``offset``, imperfectly: most cuts on downbeats, some on
    other beats, a fifth anywhere, 20 ms jitter, frame-quantised; energy half music, half noise."""
    rng = np.random.default_rng(seed)
    cuts, t = [], offset + rng.uniform(1.0, 3.0)
    while t < offset + duration - 0.5:
        r = rng.random()
        grid = music.downbeats if r < 0.6 else music.beats
        near = grid[np.argmin(np.abs(grid - t))]
        c = near + rng.normal(0, 0.02) if r < 0.8 else t
        if offset + 0.5 < c < offset + duration:
            cuts.append(np.round((c - offset) * 25) / 25)
        t += rng.choice([1, 2, 2, 4]) * 4 * 60.0 / music.tempo * rng.uniform(0.8, 1.2)
    n = int(np.ceil(duration * 10))
    me = np.interp(np.arange(n) / 10 + offset, np.arange(len(music.energy)) / 10, music.energy)
    energy = 0.5 * me + 0.5 * rng.random(n)
    cuts = np.unique(cuts)
    return VideoRhythm(duration, cuts, np.ones(len(cuts), np.float32), (), energy.astype(np.float32))


@pytest.mark.parametrize("seed", range(6))
def test_true_offset_recovered_within_a_beat(seed):
    rng = np.random.default_rng(seed)
    music = make_music(float(rng.uniform(70, 170)), 150.0, seed)
    top = music.duration - 60.0
    offset = float(rng.choice(music.downbeats[music.downbeats < top])) if seed % 2 else float(rng.uniform(0, top))
    video = make_video(music, offset, 60.0, seed + 100)
    fit = best_offset(video, music)
    beat = 60.0 / music.tempo
    assert fit.informative and fit.offset is not None
    assert abs(fit.offset - offset) <= beat, (fit, offset)
    assert fit.z > 2.0 and fit.confidence > 0.5
    assert fit.grid and sync_summary(fit).endswith("%" + (" (start unsure)" if fit.ambiguous else ""))
    assert describe_offset(fit).startswith("cuts land on its beats")
    weak = describe_offset(dataclasses.replace(fit, confidence=0.3))
    assert "little better than chance" in weak and "cuts land" not in weak
    # the same pair scored at every beat offset peaks within a beat of the truth too
    offs = beat_offsets(video, music)
    s = score_offsets(video, music, offs)
    assert s.shape == offs.shape
    assert abs(offs[np.argmax(s)] - offset) <= beat + 0.1


def test_dense_search_matches_plain_gather():
    music = make_music(120.0, 90.0, 1)
    video = make_video(music, 12.0, 40.0, 2)
    offsets, dense = _dense([video], music, 0.0, 50.0, __import__("engine.rhythm.sync", fromlist=["WEIGHTS"]).WEIGHTS,
                            beat_pulse(music))
    gathered = score_offsets(video, music, offsets, phrase=True)
    np.testing.assert_allclose(dense[0], gathered, atol=1e-9)


def test_pearson_over_shifts_matches_numpy():
    rng = np.random.default_rng(0)
    v, m = rng.random(50), rng.random(120)
    got = _pearson_over_shifts(v, m, 100)
    for s in (0, 7, 70, 90):
        L = min(50, 120 - s)
        want = np.corrcoef(v[:L], m[s:s + L])[0, 1] * L / 50
        assert got[s] == pytest.approx(want, abs=1e-9)
    batch = _pearson_over_shifts(np.stack([v, v[::-1]]), m, 100)
    np.testing.assert_allclose(batch[0], got)


def test_no_steady_beat_and_flat_energy_says_so_and_changes_nothing():
    music = make_music(100.0, 80.0, 3)
    video = make_video(music, 5.0, 30.0, 4)
    beatless = MusicRhythm(80.0, False, None, energy=np.full(800, 0.4, np.float32), ending=79.0)
    fit = best_offset(video, beatless)
    assert not fit.informative and fit.reason == NO_STEADY_BEAT and fit.offset is None
    assert fit.z == 0.0 and not fit.alternatives
    assert sync_summary(fit) == NO_STEADY_BEAT and sync_summary(None) == "—"
    assert np.all(score_offsets(video, beatless, [0.0, 1.0]) == 0.0)
    cands = [("a", 0.9), ("b", 0.7), ("c", 0.8)]
    ranked = rerank(cands, video, {k: beatless for k, _ in cands}, weight=0.8)
    assert [r.item_id for r in ranked] == ["a", "c", "b"]
    assert all(r.sync is not None and r.sync.reason == NO_STEADY_BEAT for r in ranked)


def make_beatless(duration: float, seed: int) -> tuple[MusicRhythm, np.ndarray]:
    """A track the analyser found no steady beat in (no grid): notes and chords starting at
    irregular times 0.7-4 s apart, each decaying; its 10 Hz energy curve and the note starts (s)."""
    rng = np.random.default_rng(seed)
    starts = np.cumsum(rng.uniform(0.7, 4.0, int(duration)))
    starts = starts[starts < duration - 1.0]
    t = np.arange(int(np.ceil(duration * 10))) / 10 + 0.05  # bin centres
    e = np.zeros(len(t))
    for s, a in zip(starts, rng.uniform(0.3, 1.0, len(starts))):
        e += a * np.where(t >= s, np.exp(-np.clip(t - s, 0, None) / 1.5), 0.0)
    return MusicRhythm(duration, False, None, energy=(e / e.max()).astype(np.float32), ending=duration,
                       reason=NO_STEADY_BEAT), starts


def cut_beatless(starts: np.ndarray, music: MusicRhythm, offset: float, duration: float, seed: int) -> VideoRhythm:
    """Cut on half the note starts (frame-rounded) plus a quarter as many anywhere; energy 40 % music."""
    rng = np.random.default_rng(seed)
    inside = starts[(starts > offset + 0.5) & (starts < offset + duration - 0.5)]
    cuts = inside[rng.random(len(inside)) < 0.5]
    cuts = np.concatenate([cuts, rng.uniform(offset, offset + duration, len(cuts) // 4)]) - offset
    cuts = np.unique(np.round(cuts * 25) / 25)
    n = int(np.ceil(duration * 10))
    me = np.interp(np.arange(n) / 10 + offset, np.arange(len(music.energy)) / 10, music.energy)
    energy = 0.4 * me + 0.6 * rng.random(n)
    return VideoRhythm(duration, cuts, np.ones(len(cuts), np.float32), (), energy.astype(np.float32))


@pytest.mark.parametrize("seed", range(4))
def test_no_steady_beat_still_finds_the_start_from_onsets(seed):
    """Without a grid the start is searched on the track's onsets and energy (10 ms steps):
    found, said to be off-grid ("no steady beat" in the note), no beat invented or snapped to."""
    music, starts = make_beatless(150.0, seed)
    offset = float(np.random.default_rng(seed).uniform(0, 90))
    fit = best_offset(cut_beatless(starts, music, offset, 60.0, seed + 50), music)
    assert fit.informative and not fit.grid and not fit.on_downbeat
    assert abs(fit.offset - offset) <= 0.15, (fit, offset)
    assert fit.confidence > 0.5 and "no steady beat" in describe_offset(fit)
    assert "no steady beat" in sync_summary(fit)  # `mvpt recommend`'s sync column says it too
    assert len(music.beats) == 0 and music.tempo is None  # the track itself is untouched
    # a video cut to another beatless track: the excess over unrelated videos is small
    other, other_starts = make_beatless(150.0, seed + 100)
    unrelated = best_offset(cut_beatless(other_starts, other, 30.0, 60.0, seed), music)
    assert unrelated.score - unrelated.chance < 0.5 * (fit.score - fit.chance)
    # a fit no surer than chance does not claim that the cuts follow the track
    weak = dataclasses.replace(fit, confidence=0.3)
    assert "little better than chance" in describe_offset(weak) and "cuts meet" not in describe_offset(weak)


def test_energy_is_matched_by_rank_not_level():
    """Picture energy that follows the music only through a steep monotone curve, with
    flashes: the energy terms still find the start (on levels they found it 0 times of 8)."""
    from engine.rhythm.sync import SyncWeights

    energy_only = SyncWeights(cuts=0.0, onset=0.5, sections=0.5, tempo=0.0, phrase=0.0)
    found = 0
    for seed in range(8):
        music = make_music(100.0, 150.0, seed)
        rng = np.random.default_rng(seed)
        offset, n = float(rng.uniform(0, 80)), 600
        me = np.interp(np.arange(n) / 10 + offset, np.arange(len(music.energy)) / 10, music.energy)
        e = np.exp(8 * me)
        e = e / e.max() + 0.3 * rng.random(n)
        e[rng.choice(n, 30, replace=False)] += 5.0  # flashes
        video = VideoRhythm(60.0, np.array([10.0]), np.ones(1, np.float32), (), (e / e.max()).astype(np.float32))
        found += abs(best_offset(video, music, weights=energy_only).offset - offset) <= 0.6
    assert found >= 6


def test_video_without_cuts_says_so_and_keeps_the_model_order():
    music = make_music(120.0, 60.0, 5)
    still = VideoRhythm(20.0, energy=np.zeros(200, np.float32))
    fit = best_offset(still, music)
    assert fit.reason == NO_CUTS and fit.offset is None
    cands = [(1, 0.2), (2, 0.5), (3, 0.4)]
    ranked = rerank(cands, still, {1: music, 2: make_music(90.0, 60.0, 6), 3: music}, weight=1.0)
    assert [r.item_id for r in ranked] == [2, 3, 1]


def test_weight_zero_keeps_the_model_order_and_sync_lifts_the_true_track():
    rng = np.random.default_rng(7)
    tracks = {i: make_music(float(rng.uniform(70, 170)), 150.0, 20 + i) for i in range(6)}
    video = make_video(tracks[4], float(tracks[4].downbeats[10]), 90.0, 9)
    cands = [(i, s) for i, s in zip(range(6), (0.50, 0.45, 0.44, 0.40, 0.38, 0.30))]
    assert [r.item_id for r in rerank(cands, video, tracks, weight=0.0)] == list(range(6))
    for metric in ("excess", "z"):
        ranked = rerank(cands, video, tracks, weight=0.5, metric=metric)
        assert ranked[0].item_id == 4
        assert ranked[0].sync.z > max(r.sync.z for r in ranked[1:])


def test_snap_to_downbeat():
    music = make_music(120.0, 30.0, 8)
    d = music.downbeats
    assert snap_to_downbeat(d[3] + 0.3, music) == d[3]
    assert snap_to_downbeat(d[3] + 0.3, music, tolerance=0.1) == pytest.approx(d[3] + 0.3)
    assert snap_to_downbeat(4.2, MusicRhythm(30.0, False, None)) == 4.2
    b = music.beats
    assert snap_to_beat(b[5] + 0.1, music) == b[5]
    assert snap_to_beat(4.2, MusicRhythm(30.0, False, None)) == 4.2


def test_offsets_stay_inside_the_track():
    music = make_music(128.0, 40.0, 9)
    video = make_video(music, 0.0, 60.0, 10)  # longer than the track
    fit = best_offset(video, music)
    assert fit.offset == 0.0 or fit.offset is None or 0.0 <= fit.offset <= 0.1
    fit = best_offset(make_video(music, 10.0, 20.0, 11), music, prior_offset=10.0)
    assert abs(fit.offset - 10.0) <= 60.0 / 128.0


def test_tempo_fit_reads_whole_beats_and_octaves():
    from engine.rhythm.sync import tempo_fit

    music = make_music(120.0, 120.0, 12)  # beat 0.5 s
    rng = np.random.default_rng(0)
    on_grid = np.cumsum(rng.choice([2, 4, 8], 40) * 0.5)
    half_tempo_cuts = np.cumsum(rng.choice([1, 3, 5], 40) * 0.25)  # whole beats of the x2 reading only
    random = np.cumsum(rng.uniform(0.7, 4.0, 40))
    assert tempo_fit(on_grid, music) > 0.8
    assert tempo_fit(half_tempo_cuts, music) > 0.5
    assert tempo_fit(random, music) < 0.25
    assert tempo_fit(on_grid, MusicRhythm(120.0, False, None)) == 0.0


def _phrased(seed: int, section_cuts: bool) -> tuple[MusicRhythm, VideoRhythm, float]:
    """A 120 bpm track with sections at irregular bars and flat energy (nothing but cuts to go
    by), and a 90 s video cut on every fourth downbeat (so every shift by 4 bars fits those
    cuts as well) plus, when ``section_cuts``, on each section change."""
    beats = np.arange(0.0, 200.0, 0.5)
    downbeats = beats[::4]
    bars = np.array([5, 12, 15, 22, 30, 33, 41, 46, 55, 57, 64, 72, 75, 84, 90]) + seed  # no shift repeats them
    sections = np.concatenate([[0.0], downbeats[bars]])
    music = MusicRhythm(200.0, True, 120.0, meter=4, beats=beats, downbeats=downbeats, sections=sections,
                        energy=np.full(2000, 0.5, np.float32), ending=198.0)
    offset = float(downbeats[9])
    cuts = list(downbeats[(downbeats > offset + 1) & (downbeats < offset + 89)][::4] - offset)
    if section_cuts:
        cuts += list(sections[(sections > offset + 1) & (sections < offset + 89)] - offset)
    cuts = np.unique(np.round(np.array(cuts) * 25) / 25)
    video = VideoRhythm(90.0, cuts, np.ones(len(cuts), np.float32), (), np.full(900, 0.5, np.float32))
    return music, video, offset


def test_cuts_on_section_changes_resolve_a_bar_shift():
    music, video, offset = _phrased(3, section_cuts=True)
    fit = best_offset(video, music)
    assert fit.phrase and fit.offset == pytest.approx(offset, abs=0.01) and fit.on_downbeat
    import dataclasses
    import json

    json.dumps(dataclasses.asdict(fit))  # plain Python values: the CLI prints it with --json
    # the periodic cuts alone fit every even bar shift: sync says it is not sure, and names them
    music, video, offset = _phrased(3, section_cuts=False)
    fit = best_offset(video, music)
    assert not fit.phrase and fit.ambiguous and fit.ties > 1
    assert "not sure of the start" in describe_offset(fit)


def test_the_models_offset_breaks_ties_only():
    music, video, offset = _phrased(4, section_cuts=False)
    ties = best_offset(video, music)
    assert ties.ambiguous
    near = best_offset(video, music, model_offset=offset + 0.6)  # the model is 0.3 bar off
    assert near.offset == pytest.approx(offset, abs=0.01) and near.ambiguous
    assert near.by_model or ties.offset == pytest.approx(offset, abs=0.01)
    assert "nearest the model's start" in describe_offset(near) or not near.by_model
    # when sync is sure, a wrong model start changes nothing
    music, video, offset = _phrased(4, section_cuts=True)
    sure = best_offset(video, music, model_offset=offset + 20.0)
    assert sure.offset == pytest.approx(offset, abs=0.01) and not sure.by_model


def test_the_models_content_picks_among_ties_before_its_offset():
    music, video, offset = _phrased(4, section_cuts=False)
    grid = np.arange(0.0, music.duration, 0.1)
    # the scenes match the music at the true start clearly better than anywhere else
    content = (grid, 0.2 + 0.3 * np.exp(-0.5 * ((grid - offset) / 3.0) ** 2))
    fit = best_offset(video, music, content=content, model_offset=offset + 30.0)  # the model's start is wrong
    assert fit.ambiguous and fit.offset == pytest.approx(offset, abs=0.01) and not fit.by_model
    assert fit.by_content or best_offset(video, music).offset == pytest.approx(offset, abs=0.01)
    assert "scenes match best" in describe_offset(fit) or not fit.by_content
    # flat content says nothing: the model's start breaks the tie as before
    flat = best_offset(video, music, content=(grid, np.full(len(grid), 0.3)), model_offset=offset + 0.6)
    assert not flat.by_content and flat.offset == pytest.approx(offset, abs=0.01)
    # content never overrides an offset sync is sure of
    music, video, offset = _phrased(4, section_cuts=True)
    wrong = (grid, np.exp(-0.5 * ((grid - offset - 20.0) / 3.0) ** 2))
    sure = best_offset(video, music, content=wrong)
    assert sure.offset == pytest.approx(offset, abs=0.01) and not sure.by_content


def test_content_curve_peaks_where_the_scenes_match_the_track():
    from types import SimpleNamespace

    from engine.recommend import content_curve

    rng = np.random.default_rng(0)
    seg, start = 6.7, 4  # the video is the track's segments 4..9
    m = rng.normal(size=(20, 16)).astype(np.float32)
    m /= np.linalg.norm(m, axis=1, keepdims=True)
    v = m[start:start + 6] + 0.1 * rng.normal(size=(6, 16)).astype(np.float32)
    segments = [SimpleNamespace(start=i * seg, end=(i + 1) * seg) for i in range(20)]
    catalog = SimpleNamespace(item_embeddings=lambda item, ck: (m, m.mean(0)), segments=lambda item: segments)
    session = SimpleNamespace(library=SimpleNamespace(catalog=catalog), segment_seconds=seg)
    analysis = SimpleNamespace(embeddings=v, checkpoint_id="ck", starts=np.arange(6) * seg,
                               ends=(np.arange(6) + 1) * seg)
    offsets, score = content_curve(session, analysis, 1)
    assert offsets[np.argmax(score)] == pytest.approx(start * seg, abs=0.11)
    half = np.argmin(np.abs(offsets - (start + 0.5) * seg))  # half a segment off: between the two
    assert score[half] < score.max() and score[half] > np.median(score)
    assert score[-1] < 0.2  # a start near the end covers little of the video: counted 0 past it


def test_offset_scores_are_computed_once_per_video_and_track():
    """The costly half of best_offset is kept per (video, track): re-ranking (a slider move)
    reuses it and gives the same fit; a re-analysed track or another video is computed anew."""
    from engine.rhythm.sync_cache import OffsetScoreCache

    music = make_music(100.0, 90.0, seed=1)
    video = make_video(music, 12.0, 30.0, seed=2)
    cache = OffsetScoreCache(videos=2)
    scored = cache.get(video, 7, music)
    assert cache.get(video, 7, music) is scored and cache.computed == 1
    plain, reused = best_offset(video, music, model_offset=11.0), best_offset(video, music, model_offset=11.0,
                                                                            scored=scored)
    assert plain == reused and abs(plain.offset - 12.0) <= 0.6
    faster = make_music(128.0, 90.0, seed=1)  # the same item re-analysed
    assert cache.get(video, 7, faster) is not scored and cache.computed == 2
    others = [make_video(music, 20.0, 30.0, seed=s) for s in (3, 4)]
    for v in others:
        cache.get(v, 7, music)
    assert cache.computed == 4
    cache.get(video, 7, music)  # the first video fell out (two kept)
    assert cache.computed == 5
    still = dataclasses.replace(video, cuts=np.zeros(0), cut_confidence=np.zeros(0, np.float32))
    assert cache.get(still, 7, music).reason == NO_CUTS  # says why, and best_offset with it too
    assert best_offset(still, music, scored=cache.get(still, 7, music)).reason == NO_CUTS

"""The built-in demo workspace: the whole product on data made here, with no downloads.

``build_demo`` runs the real pipeline on the demo's own small world
(:mod:`training.demo_world`: procedural tracks in ten styles and music videos cut to some of
them), in one data folder (default ``<app data>/demo``) that the app then opens:

1. **world**     ``world/`` — the music library, the training clips, the held-out clips;
2. **dataset**   ``dataset/`` — ``mvpt dataset build`` over the training clips (musicnn for
   the music; CLIP for the picture when its weights are here, else the classic extractor);
3. **model**     ``model/`` — ``mvpt train`` on those pairs, a small MVPt (minutes on two
   CPU cores), marked as the demo model in its checkpoint;
4. **library**   ``library/`` — the music folder and the footage folders scanned with the
   model's extractors and embedded (what ``mvpt library add`` does);
5. **attributes** "bright" (frames from the brightest shots of the training clips), "drums"
   and "calm" (excerpts of drum-driven and of quiet tracks), each against a domain set of
   all styles, as a user would define them in the app;
6. **proof**     for every held-out clip, how often its own track (never seen in training
   with that footage) is among the top 5 of the whole library per segment;
7. **spread**    the same proof for models trained with other seeds (``spread/seed-N/``,
   embedded into the same library), so the figures come with their range.

Every step keeps what a previous run made (the world and dataset resume, the model is
retrained only when its data or settings change, scans are incremental), so a second
``mvpt demo`` starts the app in seconds. ``demo.json`` records the figures.

Reproducibility: every stage runs with a fixed number of torch threads (``threads``, 1 by
default) and deterministic algorithms, the world is drawn from seeded generators, and every
listing is sorted, so two builds on one machine agree bit for bit. Across machines they do
not: float sums round differently with another CPU instruction set (AVX-512 or AVX2 kernels
in torch, oneDNN and numpy), and 400 training steps carry a last-bit difference into other
rankings. That is why the proof is reported with its range over training seeds: another
machine's hit rate moves about as much as another seed's, single ranks more (README, "Is the
demo the same on every machine?").
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import numpy as np

from engine.atomic import atomic_write_text
from engine.jobs import CancelCheck, Job, Progress, check_cancel, relabel
from engine.media.grid import DEFAULT_SEGMENT_SECONDS

from .build import BuildConfig, build_dataset
from .demo_examples import write_examples
from .demo_world import DemoWorld, build_world
from .train import TrainConfig, train

REPORT = "demo.json"
STAGES = ("world", "dataset", "model", "library", "attributes", "proof", "spread")
TOP_K = 5


@dataclass(frozen=True)
class DemoConfig:
    root: str                                   # the demo's data folder
    n_tracks: int = 40
    n_clips: int = 24
    held_out: int = 4
    seconds: tuple[float, float] = (60, 180)    # track lengths
    clip_seconds: tuple[float, float] = (30, 60)
    size: tuple[int, int] = (640, 360)
    fps: float = 24.0
    seed: int = 0
    segment_seconds: float = DEFAULT_SEGMENT_SECONDS
    visual: str | None = None                   # None: CLIP when its weights are here, else classic
    music: str | None = None                    # None: musicnn (installed by make setup), else classic-music
    workers: int = 2
    # the demo model: small, because 20 music videos are all it learns from
    epochs: int = 400
    d_model: int = 128
    n_layers: int = 2
    n_heads: int = 4
    ff_dim: int = 256
    out_dim: int = 128
    seq_len: int = 16
    lr: float = 1e-3
    dropout: float = 0.1
    threads: int | None = 1                     # torch threads in every stage (features, training,
                                                # embedding): float sums depend on how work is split
                                                # among threads, so a fixed count keeps machines with
                                                # other core counts on the same numbers; one, because
                                                # steps this small lose more to thread hand-offs than
                                                # they gain, badly so on a busy CPU. None: torch's default
    examples_per_attribute: int = 8
    spread_seeds: int = 5                       # models trained (seed, seed+1, ...) for the proof's range;
                                                # 1: the demo model alone

    @classmethod
    def reduced(cls, root: str, **changes) -> DemoConfig:
        """A demo small enough for a test: 6 tracks, 6 short small clips, seconds of training."""
        base = cls(root, n_tracks=6, n_clips=6, held_out=2, seconds=(20, 30), clip_seconds=(14, 20),
                   size=(160, 90), fps=12.0, segment_seconds=3.0, epochs=30, d_model=32, n_layers=1,
                   n_heads=2, ff_dim=64, out_dim=32, seq_len=8, examples_per_attribute=4, workers=1,
                   spread_seeds=3)
        return replace(base, **changes)


@dataclass
class HeldOutResult:
    clip: str
    style: str
    track: str
    segments: int
    hits: int                 # segments whose top 5 holds the clip's own track
    whole_rank: int | None    # rank of the own track for the whole video (best_soundtracks), 1-based

    @property
    def rate(self) -> float:
        return self.hits / max(1, self.segments)


@dataclass
class SeedProof:
    """The held-out proof of one model of the spread (same data and settings, another seed)."""
    seed: int
    hits: int
    segments: int
    ranks: list[int | None]   # whole-video rank per held-out clip, in the order of DemoReport.held_out

    @property
    def rate(self) -> float:
        return self.hits / max(1, self.segments)


@dataclass
class DemoReport:
    root: str
    checkpoint: str
    clips: list[str]                            # held-out clips, the app opens the first
    library_tracks: int
    footage_clips: int
    attributes: list[str]
    held_out: list[HeldOutResult] = field(default_factory=list)
    chance: float = 0.0                         # top-5 hit rate of a random ranking
    seconds: dict[str, float] = field(default_factory=dict)
    extractors: str = ""
    styles: list[dict] = field(default_factory=list)  # per track: style, musicnn's top tags, agrees
    spread: list[SeedProof] = field(default_factory=list)  # the proof per training seed (the demo model's first)
    threads: int | None = None                  # torch threads the build ran with

    @property
    def hit_rate(self) -> float:
        segs = sum(r.segments for r in self.held_out)
        return sum(r.hits for r in self.held_out) / max(1, segs)

    def save(self) -> Path:
        p = Path(self.root) / REPORT
        atomic_write_text(p, json.dumps(asdict(self), indent=1) + "\n")
        return p

    @classmethod
    def load(cls, root: str | os.PathLike[str]) -> DemoReport:
        d = json.loads((Path(root) / REPORT).read_text())
        d["held_out"] = [HeldOutResult(**r) for r in d.get("held_out", [])]
        d["spread"] = [SeedProof(**r) for r in d.get("spread", [])]
        return cls(**d)


def default_root() -> Path:
    from engine.paths import data_dir

    return data_dir() / "demo"


def session_for(root: str | os.PathLike[str], checkpoint: str | os.PathLike[str]):
    """The engine session the app gets for the demo: its checkpoint, its library, on the CPU
    unless a GPU is there."""
    from engine.session import EngineSession
    from engine.settings import EngineSettings

    return EngineSession(EngineSettings(checkpoint=str(checkpoint), data_dir=str(root)))


@contextmanager
def pinned_threads(threads: int | None) -> Iterator[None]:
    """torch's CPU threads fixed to ``threads`` and its deterministic algorithms on, restored
    afterwards (``None``: leave both as they are)."""
    if threads is None:
        yield
        return
    import torch

    before, det, warn = (torch.get_num_threads(), torch.are_deterministic_algorithms_enabled(),
                         torch.is_deterministic_algorithms_warn_only_enabled())
    torch.set_num_threads(threads)
    torch.use_deterministic_algorithms(True, warn_only=True)
    try:
        yield
    finally:
        torch.set_num_threads(before)
        torch.use_deterministic_algorithms(det, warn_only=warn)


def build_demo(cfg: DemoConfig, cancel: CancelCheck | None = None) -> Job[DemoReport]:
    """Build (or bring up to date) the demo workspace; yields Progress, returns the report."""
    with pinned_threads(cfg.threads):
        return (yield from _build_demo(cfg, cancel))


def _build_demo(cfg: DemoConfig, cancel: CancelCheck | None) -> Job[DemoReport]:
    root = Path(cfg.root)
    root.mkdir(parents=True, exist_ok=True)
    seconds: dict[str, float] = {}

    def timed(stage: str, t0: float) -> None:
        seconds[stage] = round(time.perf_counter() - t0, 1)

    t0 = time.perf_counter()
    world = yield from relabel(build_world(
        root / "world", cfg.n_tracks, cfg.n_clips, cfg.seconds, cfg.held_out, cfg.seed, cancel,
        size=cfg.size, fps=cfg.fps, clip_seconds=cfg.clip_seconds), "world")
    timed("world", t0)

    t0 = time.perf_counter()
    data = root / "dataset"
    report = yield from relabel(build_dataset(BuildConfig(
        folder=str(world.footage_dir), out=str(data), workers=cfg.workers, segment_seconds=cfg.segment_seconds,
        visual=cfg.visual, music=cfg.music, seed=cfg.seed, val_fraction=0.0, test_fraction=0.0), cancel), "dataset")
    if report.failed:
        raise RuntimeError(f"the demo dataset could not read {len(report.failed)} clips: {report.failed[0][1]}")
    timed("dataset", t0)

    t0 = time.perf_counter()
    checkpoint = yield from _train_model(cfg, data, root / "model", cancel)
    timed("model", t0)

    held = [c for c in world.clips if c.split == "held_out"]
    session = session_for(root, checkpoint)
    try:
        t0 = time.perf_counter()
        lib = session.library
        yield from _add_library(session, world, cfg, cancel)
        failed = lib.catalog.failures()
        if failed:
            raise RuntimeError(f"the demo library could not read {failed[0][0]}: {failed[0][1]}")
        styles = style_rows(world, lib.catalog)
        timed("library", t0)

        t0 = time.perf_counter()
        attributes = yield from _attributes(session, world, root / "examples", cfg, cancel)
        timed("attributes", t0)

        t0 = time.perf_counter()
        results = []
        for i, clip in enumerate(held):
            check_cancel(cancel)
            yield Progress("proof", i, len(held), clip.path.name)
            results.append((yield from relabel(held_out_result(session, world, clip, cancel), "proof")))
        timed("proof", t0)
        n_tracks = lib.catalog.status_counts("music").get("ok", 0)
        out = DemoReport(str(root), str(checkpoint), [str(c.path) for c in held], n_tracks,
                         lib.catalog.status_counts("footage").get("ok", 0), attributes, results,
                         chance=min(1.0, TOP_K / max(1, n_tracks)), seconds=seconds,
                         extractors=session.status().extractors, styles=styles, threads=cfg.threads)
    finally:
        session.close()
    yield Progress("proof", len(held), len(held), "done")

    t0 = time.perf_counter()
    out.spread = [SeedProof(cfg.seed, sum(r.hits for r in results), sum(r.segments for r in results),
                            [r.whole_rank for r in results])]
    for seed in range(cfg.seed + 1, cfg.seed + max(1, cfg.spread_seeds)):
        check_cancel(cancel)
        yield Progress("spread", seed - cfg.seed, cfg.spread_seeds, f"the model of seed {seed}")
        out.spread.append((yield from relabel(_seed_proof(cfg, seed, data, world, held, cancel), "spread")))
    timed("spread", t0)
    out.save()
    _save_app_settings(root, checkpoint, world)
    yield Progress("spread", cfg.spread_seeds, cfg.spread_seeds, "done")
    return out


def _add_library(session, world: DemoWorld, cfg: DemoConfig, cancel: CancelCheck | None) -> Job[None]:
    """The music, training footage and held-out footage folders, scanned (once) and embedded
    for the session's model."""
    for folder, kind in ((world.music_dir, "music"), (world.footage_dir, "footage"), (world.held_out_dir, "footage")):
        yield from relabel(session.library.add(folder, kind, session.model, checkpoint_id=session.checkpoint_id,
                                               workers=cfg.workers, threads=cfg.threads, cancel=cancel), "library")


def _seed_proof(cfg: DemoConfig, seed: int, data: Path, world: DemoWorld, held: list,
                cancel: CancelCheck | None) -> Job[SeedProof]:
    """Train the demo model with another ``seed`` (kept in ``spread/seed-N``, reused like the
    demo model), embed the library for it and run the held-out proof."""
    checkpoint = yield from _train_model(cfg, data, Path(cfg.root) / "spread" / f"seed-{seed}", cancel, seed=seed)
    session = session_for(cfg.root, checkpoint)
    try:
        yield from _add_library(session, world, cfg, cancel)
        results = []
        for clip in held:
            results.append((yield from held_out_result(session, world, clip, cancel)))
    finally:
        session.close()
    return SeedProof(seed, sum(r.hits for r in results), sum(r.segments for r in results),
                     [r.whole_rank for r in results])


def _save_app_settings(root: Path, checkpoint: Path, world: DemoWorld) -> None:
    """``ROOT/config/settings.json``: the app started with ``MVPT_DATA_DIR=ROOT`` is the demo,
    and whatever it saves stays in the demo folder, never in the user's own settings."""
    from engine.settings import SETTINGS_FILE, EngineSettings

    EngineSettings(checkpoint=str(checkpoint), data_dir=str(root), music_folders=(str(world.music_dir),),
                   footage_folders=(str(world.footage_dir), str(world.held_out_dir))).save(root / "config" / SETTINGS_FILE)


def _train_config(cfg: DemoConfig, data: Path, out: Path, seed: int | None = None) -> TrainConfig:
    return TrainConfig(data=str(data), out=str(out), epochs=cfg.epochs, batch_size=64, lr=cfg.lr,
                       warmup_epochs=max(1.0, cfg.epochs / 20), seq_len=cfg.seq_len, d_model=cfg.d_model,
                       n_layers=cfg.n_layers, n_heads=cfg.n_heads, ff_dim=cfg.ff_dim, out_dim=cfg.out_dim,
                       dropout=cfg.dropout, seed=cfg.seed if seed is None else seed, device="cpu",
                       threads=cfg.threads, demo=True,
                       # one checkpoint, after the last epoch: with no held-out split, "best" would be
                       # the lowest loss of one training batch among the saves, a choice that a
                       # last-bit difference between machines flips (epoch 360 or 400 here)
                       save_every=cfg.epochs)


def _train_model(cfg: DemoConfig, data: Path, out: Path, cancel: CancelCheck | None,
                 seed: int | None = None) -> Job[Path]:
    """Train the demo model (with ``seed``, default the demo's) unless ``out`` already holds one
    made from this data with these settings."""
    from .dataset import manifest_sha256

    tcfg = _train_config(cfg, data, out, seed)
    stamp = hashlib.sha256(json.dumps([manifest_sha256(data), asdict(tcfg)], sort_keys=True).encode()).hexdigest()
    stamp_file = out / "demo-stamp.txt"
    best = out / "best"
    if (best / "config.json").is_file() and stamp_file.is_file() and stamp_file.read_text().strip() == stamp:
        yield Progress("model", 1, 1, "demo model is up to date")
        return best
    stamp_file.unlink(missing_ok=True)
    yield from relabel(train(tcfg, cancel), "model")
    stamp_file.write_text(stamp + "\n")
    return best


# -- attributes ------------------------------------------------------------------------------

def _attributes(session, world: DemoWorld, examples: Path, cfg: DemoConfig, cancel: CancelCheck | None) -> Job[list[str]]:
    """Write example sets from the demo's own media and define the attributes from them."""
    from engine.attributes import create_attribute

    sets = yield from write_examples(world, examples, cfg.examples_per_attribute, cfg.segment_seconds, cancel)
    written = (examples / ".complete").stat().st_mtime
    have = {a.name: a for a in session.library.catalog.attributes(session.checkpoint_id)}
    names = []
    for name, (kind, folder, domain) in sets.items():
        check_cancel(cancel)
        old = have.get(name)
        if old is not None and old.meta.get(kind) == str(folder) and old.meta.get("domain") == str(domain) \
                and old.created_at >= written and "track_vector" in old.meta:
            names.append(name)  # defined for this model from these very examples already
            continue
        yield Progress("attributes", len(names), len(sets), f"defining '{name}'")
        yield from relabel(create_attribute(session, name, **{kind: str(folder)}, domain=str(domain),
                                            cancel=cancel), "attributes")
        names.append(name)
    return names


# -- the proof -------------------------------------------------------------------------------

def held_out_result(session, world: DemoWorld, clip, cancel: CancelCheck | None = None) -> Job[HeldOutResult]:
    """How often ``clip``'s own track is in the top 5 per segment, and its whole-video rank."""
    from engine.recommend import analyse_video, best_soundtracks, recommend_segments

    analysis = yield from analyse_video(session, clip.path, thumbnails=False, cancel=cancel)
    own = str(world.track(clip.track).path.resolve())
    per_segment = recommend_segments(session, analysis, k=TOP_K)
    hits = sum(any(str(Path(s.path).resolve()) == own for s in segs) for segs in per_segment)
    whole = best_soundtracks(session, analysis, k=len(world.tracks))
    rank = next((i + 1 for i, t in enumerate(whole) if str(Path(t.path).resolve()) == own), None)
    style = world.track(clip.track).style
    return HeldOutResult(clip.path.name, style, world.track(clip.track).path.name, len(per_segment), hits, rank)


def style_rows(world: DemoWorld, catalog, k: int = 3) -> list[dict]:
    """Does musicnn hear the style each track was made in? Its top-``k`` tags over the whole
    track (stored by the library scan) against :data:`training.demo_world.STYLE_TAGS`."""
    from .demo_world import STYLE_TAGS

    rows = []
    for t in world.tracks:
        item = catalog.item_by_path(t.path)
        tags = catalog.tags(item.id) if item is not None else None
        top = [(n, round(p, 3)) for n, p in tags.top(k)] if tags is not None else []
        rows.append({"track": t.path.name, "style": t.style, "top": top,
                     "agrees": any(n in STYLE_TAGS[t.style] for n, _ in top)})
    return rows


def format_styles(report: DemoReport, rows: bool = False) -> str:
    """One line (and, with ``rows``, the table): how many tracks musicnn tags in their style."""
    if not report.styles:
        return "musicnn style check: no tags stored (the music extractor is not musicnn)"
    out = []
    if rows:
        out.append(f"  {'track':<24} {'style':<12} agrees  musicnn's top tags (mean probability)")
        for r in report.styles:
            tags = ", ".join(f"{n} {p:.2f}" for n, p in r["top"])
            out.append(f"  {r['track']:<24} {r['style']:<12} {'yes' if r['agrees'] else 'no':<6}  {tags}")
    n = sum(r["agrees"] for r in report.styles)
    out.append(f"musicnn hears the intended style (one of its top 3 tags) in {n} of {len(report.styles)} tracks")
    return "\n".join(out)


def format_proof(report: DemoReport) -> str:
    lines = [f"Held-out clips: is the clip's own track in the top {TOP_K} of {report.library_tracks} tracks?",
             f"  {'clip':<24} {'style':<12} {'segments':>8} {'hits':>5} {'rate':>6}  whole-video rank",
             "  " + "-" * 72]
    for r in report.held_out:
        rank = f"{r.whole_rank}" if r.whole_rank is not None else "-"
        lines.append(f"  {r.clip:<24} {r.style:<12} {r.segments:>8} {r.hits:>5} {r.rate:>6.0%}  {rank}")
    segs = sum(r.segments for r in report.held_out)
    lines.append(f"  all held-out segments: {report.hit_rate:.0%} of {segs} (a random ranking: {report.chance:.0%})")
    lines += format_spread(report)
    return "\n".join(lines)


def format_spread(report: DemoReport) -> list[str]:
    """The proof's range over the training seeds, and why it is a range (see module doc)."""
    if len(report.spread) < 2:
        return []
    rates = sorted(p.rate for p in report.spread)
    seeds = [p.seed for p in report.spread]
    ranks = []
    for i, r in enumerate(report.held_out):
        got = [p.ranks[i] for p in report.spread if i < len(p.ranks) and p.ranks[i] is not None]
        if got:
            ranks.append(f"{Path(r.clip).stem} {min(got)}–{max(got)}" if min(got) != max(got)
                         else f"{Path(r.clip).stem} {got[0]}")
    return [f"  over {len(seeds)} training seeds ({seeds[0]}–{seeds[-1]}): {rates[0]:.0%}–{rates[-1]:.0%} "
            f"(median {float(np.median(rates)):.0%}); whole-video ranks {', '.join(ranks)}",
            f"  (the demo model is seed {seeds[0]}; on another CPU floats round differently: expect the rate "
            "to move about as much as between seeds, and single whole-video ranks more)"]

"""``mvpt train | eval | dataset | experiment | analyze | demo`` — the training side of the command line.

``engine/cli.py`` dispatches these subcommands here with ``argv`` starting at the subcommand
name and uses the return value as the exit code. Progress goes to stderr as a text bar.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from pathlib import Path

from engine.jobs import Cancelled, Job, Progress


class ProgressBar:
    """Wrap a job's Progress events in a tqdm bar on stderr (one bar per stage)."""

    def __init__(self, quiet: bool = False) -> None:
        self.quiet = quiet
        self.bar = None
        self.stage = None

    def __call__(self, p: Progress) -> None:
        if self.quiet:
            return
        from tqdm import tqdm

        if self.bar is None or p.stage != self.stage or (p.total and self.bar.total != p.total):
            self.close()
            self.bar = tqdm(total=p.total, desc=p.stage, file=sys.stderr, dynamic_ncols=True, leave=False,
                            mininterval=0.5)
            self.stage = p.stage
        self.bar.n = p.done
        if p.message:
            self.bar.set_postfix_str(p.message, refresh=False)
        self.bar.refresh()

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None


def drive(job: Job, quiet: bool = False):
    from engine.jobs import run

    bar = ProgressBar(quiet)
    try:
        return run(job, bar)
    finally:
        bar.close()


def _add_train(sub) -> None:
    p = sub.add_parser("train", help="train MVPT or the MLP baseline on a feature dataset")
    p.add_argument("--data", required=True, help="feature dataset folder (manifest.json + items/)")
    p.add_argument("--out", required=True, help="run folder (last/, best/, metrics.jsonl)")
    p.add_argument("--model", choices=["mvpt", "baseline"], default="mvpt")
    p.add_argument("--segment-time", choices=["visual", "music", "both", "none"], default="visual",
                   help="which tower gets temporal embeddings (paper: visual)")
    p.add_argument("--loss", choices=["infonce", "triplet"], default=None,
                   help="default: infonce for mvpt, triplet for the baseline")
    p.add_argument("--baseline-level", choices=["segment", "track"], default="segment")
    p.add_argument("--tau", type=float, default=None, help="InfoNCE temperature (default 0.05; the paper: 0.3)")
    p.add_argument("--epochs", type=int, default=None,
                   help="train a fixed number of epochs with the fixed recipe (default: a step budget with early "
                        "stopping and a model sized for the set; the fixed recipe from 1,000 training videos)")
    p.add_argument("--steps", type=int, default=None, help="step budget (default: from the set's size)")
    p.add_argument("--patience", type=int, default=None,
                   help="stop after N validations without a better score (0: never)")
    p.add_argument("--init", default=None, help="start from this checkpoint (fine-tuning; its architecture)")
    p.add_argument("--batch-size", type=int, default=None)
    p.add_argument("--lr", type=float, default=None)
    p.add_argument("--seq-len", type=int, default=None, help="L (default 30)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--device", choices=["cpu", "cuda", "auto"], default="auto")
    p.add_argument("--no-amp", action="store_true", help="train in fp32 on CUDA")
    p.add_argument("--threads", type=int, default=None, help="torch CPU threads")
    p.add_argument("--keep-epochs", action="store_true", help="keep a checkpoint folder per epoch")
    p.add_argument("--save-every", type=int, default=None, metavar="N",
                   help="validate and checkpoint every N epochs (default 1; raise it for tiny datasets)")
    p.add_argument("--max-steps", type=int, default=None, help=argparse.SUPPRESS)
    p.add_argument("--resume", action="store_true", help="continue RUN from its last finished epoch")
    p.add_argument("--quiet", action="store_true")


def _add_eval(sub) -> None:
    p = sub.add_parser("eval", help="retrieval evaluation, the paper's protocol")
    p.add_argument("--data", required=True)
    p.add_argument("--checkpoint", required=True, help="checkpoint folder or run folder (uses best/)")
    p.add_argument("--split", default="test", choices=["train", "val", "test"])
    p.add_argument("--pool", type=int, default=2000, help="candidates per pool (paper: 2000)")
    p.add_argument("--pools", type=int, default=5)
    p.add_argument("--seq-len", type=int, default=None, help="window length L (default: the model's)")
    p.add_argument("--overlap", type=int, default=None, help="window overlap (default L // 2)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--device", choices=["cpu", "cuda", "auto"], default="auto")
    p.add_argument("--json", default=None, help="write the metrics as JSON here")
    p.add_argument("--quiet", action="store_true")


def _add_dataset(sub) -> None:
    p = sub.add_parser("dataset", help="build or synthesise a feature dataset")
    dsub = p.add_subparsers(dest="dataset_cmd", required=True)
    b = dsub.add_parser("build", help="music videos in a folder -> base features -> feature dataset")
    b.add_argument("folder")
    b.add_argument("--out", required=True)
    b.add_argument("--workers", type=int, default=2)
    b.add_argument("--segment-seconds", type=float, default=6.7)
    b.add_argument("--visual", default=None, help="visual extractor name (default: the active default)")
    b.add_argument("--music", default=None, help="music extractor name (default: the active default)")
    b.add_argument("--device", default="cpu")
    b.add_argument("--seed", type=int, default=0)
    b.add_argument("--val-fraction", type=float, default=0.1)
    b.add_argument("--test-fraction", type=float, default=0.1)
    b.add_argument("--quiet", action="store_true")
    s = dsub.add_parser("synth", help="the synthetic benchmark (temporal context required)")
    s.add_argument("--out", required=True)
    s.add_argument("--videos", type=int, default=2000)
    s.add_argument("--seed", type=int, default=0)
    s.add_argument("--noise", type=float, default=None, help="per-segment noise σ (default 4.0)")
    s.add_argument("--offset", type=float, default=None, help="per-video unshared offset (default 1.0)")
    s.add_argument("--quiet", action="store_true")


def _add_experiment(sub) -> None:
    p = sub.add_parser("experiment", help="the paper's ablation table and context curve")
    esub = p.add_subparsers(dest="experiment_cmd", required=True)
    for name, helptext in (("ablation", "rows of Tables 1 and 2 that apply here"),
                           ("context", "R@10 against input sequence length L (Fig. 3)")):
        e = esub.add_parser(name, help=helptext)
        e.add_argument("--data", required=True)
        e.add_argument("--out", required=True, help="report folder")
        e.add_argument("--epochs", type=int, default=None)
        e.add_argument("--batch-size", type=int, default=None)
        e.add_argument("--device", choices=["cpu", "cuda", "auto"], default="auto")
        e.add_argument("--pool", type=int, default=2000)
        e.add_argument("--pools", type=int, default=5)
        e.add_argument("--seed", type=int, default=0)
        e.add_argument("--threads", type=int, default=None)
        e.add_argument("--reuse", action="store_true", help="reuse finished runs found under OUT/runs")
        e.add_argument("--jobs", type=int, default=1, help="runs trained at once (processes; for GPUs)")
        e.add_argument("--quiet", action="store_true")
        if name == "context":
            e.add_argument("--lengths", default="30,20,10,5,1")
            e.add_argument("--checkpoint", default=None,
                           help="evaluate this model with shorter windows instead of training one per L")
            e.add_argument("--no-retrain", action="store_true",
                           help="only evaluate the L=max model at shorter windows (no model per L)")


def _add_learn(sub) -> None:
    p = sub.add_parser("learn", help="fine-tune the current model on a folder of your finished edits",
                       description="Read a folder of finished videos that carry the music you chose, fine-tune the "
                                   "current model on them, and judge both on edits held out. Switches the app to the "
                                   "new model only when it is better there; the previous model stays. Nothing "
                                   "leaves this computer.")
    p.add_argument("folder", help="folder of finished edits (searched recursively)")
    p.add_argument("--into", default="my-style", metavar="NAME",
                   help="name of your model; versions go to <data folder>/models/learned/NAME/vN")
    p.add_argument("--budget", type=float, default=15.0, metavar="MINUTES",
                   help="time for the whole job (reading the videos + fine-tuning; default 15)")
    p.add_argument("--checkpoint", default=None, help="the model to start from (default: the current one in settings)")
    p.add_argument("--data-dir", default=None, help="data folder (default: from settings)")
    p.add_argument("--device", choices=["cpu", "cuda", "auto"], default=None, help="default: from settings")
    p.add_argument("--threads", type=int, default=None, help="torch CPU threads")
    p.add_argument("--no-switch", action="store_true", help="never change the model in settings")
    p.add_argument("--force", action="store_true",
                   help="switch to the new model even when the held-out edits cannot tell it is better")
    p.add_argument("--steps", type=int, default=None, help=argparse.SUPPRESS)
    p.add_argument("--json", default=None, help="write the result as JSON here")
    p.add_argument("--progress-json", action="store_true",
                   help="for front ends: progress as one JSON object per line on stdout, the end as one "
                        "line with result, error or cancelled; SIGTERM cancels cleanly; settings unchanged")
    p.add_argument("--quiet", action="store_true")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="mvpt", description="MVPT training and evaluation")
    sub = parser.add_subparsers(dest="cmd", required=True)
    _add_train(sub)
    _add_eval(sub)
    _add_dataset(sub)
    _add_experiment(sub)
    _add_learn(sub)
    # Subcommand groups that live with their code: each module's ``register(sub)`` adds a parser
    # whose ``func(args) -> int`` runs it.
    from .analysis.cli import register as register_analyze
    from .demo_cli import register as register_demo
    from .starter_cli import register as register_starter

    register_analyze(sub)
    register_demo(sub)
    register_starter(sub)
    return parser


def cmd_train(a: argparse.Namespace) -> int:
    from .train import TrainConfig, train

    overrides = {k: v for k, v in (("epochs", a.epochs), ("batch_size", a.batch_size), ("lr", a.lr),
                                   ("seq_len", a.seq_len), ("max_steps", a.max_steps), ("tau", a.tau),
                                   ("save_every", a.save_every), ("steps", a.steps),
                                   ("patience", a.patience), ("init", a.init))
                 if v is not None}
    cfg = TrainConfig(data=a.data, out=a.out, model=a.model, segment_time=a.segment_time, loss=a.loss,
                      baseline_level=a.baseline_level, seed=a.seed, device=a.device, amp=not a.no_amp,
                      resume=a.resume, threads=a.threads, keep_epochs=a.keep_epochs, **overrides)
    import os

    is_main = os.environ.get("RANK", "0") == "0"
    res = drive(train(cfg), a.quiet or not is_main)
    if not is_main:
        return 0
    per_epoch = sum(res.epoch_seconds) / max(1, len(res.epoch_seconds))
    for n in res.notes:
        print(f"note: {n}")
    for w in res.warnings:
        print(f"warning: {w}", file=sys.stderr)
    print(f"trained {res.steps} steps ({res.epochs_run} epochs; {res.stopped}) -> {res.run} "
          f"(best validation score {res.best_score:.2f}); "
          f"{per_epoch:.1f} s per epoch, {res.segments_per_second:.0f} segments/s")
    return 0


def cmd_eval(a: argparse.Namespace) -> int:
    import torch

    from engine.model.checkpoint import load_checkpoint

    from .dataset import open_store
    from .evaluate import evaluate, format_table
    from .train import resolve_device

    device = resolve_device(a.device)
    store = open_store(a.data)
    loaded = load_checkpoint(a.checkpoint, device=device)
    feats = loaded.config.features
    ex = store.manifest.get("extractors") or {}
    for mod in ("visual", "music"):
        want = (ex.get(mod) or {}).get("id")
        if want and want != feats[mod]["id"]:
            print(f"error: {a.data} holds {mod} features '{want}' but the model was trained on "
                  f"'{feats[mod]['id']}'", file=sys.stderr)
            return 2
    with torch.no_grad():
        rep = evaluate(loaded.model, store.split(a.split), pool=a.pool, pools=a.pools, seed=a.seed,
                       L=a.seq_len, overlap=a.overlap, device=device)
    print(format_table(rep, f"{loaded.path} on {a.data} [{a.split}]"))
    if a.json:
        Path(a.json).parent.mkdir(parents=True, exist_ok=True)
        Path(a.json).write_text(json.dumps(rep.result, indent=2) + "\n")
    return 0


def cmd_dataset(a: argparse.Namespace) -> int:
    if a.dataset_cmd == "synth":
        from .synth import SynthConfig, generate

        extra = {k: v for k, v in (("noise", a.noise), ("offset_scale", a.offset)) if v is not None}
        root = drive(generate(a.out, SynthConfig(videos=a.videos, seed=a.seed, **extra)), a.quiet)
        print(f"wrote {a.videos} synthetic music videos to {root}")
        return 0
    from .build import BuildConfig, build_dataset

    cfg = BuildConfig(folder=a.folder, out=a.out, workers=a.workers, segment_seconds=a.segment_seconds,
                      visual=a.visual, music=a.music, device=a.device, seed=a.seed,
                      val_fraction=a.val_fraction, test_fraction=a.test_fraction)
    rep = drive(build_dataset(cfg), a.quiet)
    print(rep.summary())
    return 0 if rep.ok else 1


def cmd_experiment(a: argparse.Namespace) -> int:
    from . import experiments

    common = dict(data=a.data, out=a.out, epochs=a.epochs, batch_size=a.batch_size, device=a.device,
                  pool=a.pool, pools=a.pools, seed=a.seed, threads=a.threads, reuse=a.reuse, jobs=a.jobs)
    if a.experiment_cmd == "ablation":
        report = drive(experiments.ablation(**common), a.quiet)
    else:
        lengths = [int(x) for x in a.lengths.split(",") if x.strip()]
        report = drive(experiments.context(lengths=lengths, checkpoint=a.checkpoint,
                                                   retrain=not a.no_retrain, **common), a.quiet)
    print(report.read_text())
    return 0


def cmd_learn(a: argparse.Namespace) -> int:
    from dataclasses import asdict

    from engine.settings import EngineSettings

    from .learn import LearnError, learn
    from .train import resolve_device

    settings = EngineSettings.load()
    base = a.checkpoint or settings.checkpoint
    if not base:  # what the app uses when none is configured: the starter model it ships
        from engine.paths import starter_model_dir

        starter = starter_model_dir()
        base = str(starter) if starter is not None and (starter / "config.json").is_file() else None
    if not base:
        print("error: there is no current model to start from; pass --checkpoint DIR (a starter model or "
              "one you trained) or choose a model in the app", file=sys.stderr)
        return 1
    if a.data_dir or settings.data_dir:
        root = Path(a.data_dir or settings.data_dir)
    else:
        from engine.paths import data_dir

        root = data_dir()
    out = root / "models" / "learned" / a.into
    device = str(resolve_device(a.device or settings.device).type)
    if a.progress_json:
        return _learn_for_a_front_end(a, base, out, device)
    try:
        res = drive(learn(a.folder, base, out, budget_minutes=a.budget, device=device, threads=a.threads,
                               steps=a.steps, force=a.force), a.quiet)
    except LearnError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    print(res.summary())
    switched = False
    if res.switch and res.checkpoint is not None and not a.no_switch and not a.checkpoint:
        settings.with_(checkpoint=str(res.checkpoint)).save()
        switched = True
        print(f"the app now uses {res.checkpoint} (the previous model stays at {base})")
    elif res.switch and res.checkpoint is not None:
        print(f"settings unchanged; to use it: --checkpoint {res.checkpoint}")
    else:
        print(f"still using {base}")
    if a.json:
        doc = {**asdict(res), "switched": switched}
        Path(a.json).write_text(json.dumps(doc, indent=1, default=str) + "\n")
    return 0


def _learn_for_a_front_end(a: argparse.Namespace, base: str, out: Path, device: str) -> int:
    """``mvpt learn --progress-json``: what the app runs as a child process (the GUI never imports
    training). Progress and the end are JSON lines on stdout; SIGTERM is a cancel (the job stops at
    its next check and writes no version); the settings are never changed (the app switches)."""
    import signal
    from dataclasses import asdict

    from engine.jobs import run

    from .learn import LearnError, learn

    stop = [False]
    signal.signal(signal.SIGTERM, lambda *_: stop.__setitem__(0, True))

    def say(doc: dict) -> None:
        print(json.dumps(doc, default=str), flush=True)

    try:
        res = run(learn(a.folder, base, out, budget_minutes=a.budget, cancel=lambda: stop[0], device=device,
                        threads=a.threads, steps=a.steps, force=a.force),
                  lambda p: say({"stage": p.stage, "done": p.done, "total": p.total, "message": p.message}))
    except LearnError as e:
        say({"error": str(e)})
        return 1
    except Cancelled:
        say({"cancelled": True})
        return 130
    doc = {**asdict(res), "switched": False}
    if a.json:
        Path(a.json).write_text(json.dumps(doc, indent=1, default=str) + "\n")
    say({"result": doc})
    return 0


COMMANDS: dict[str, Callable[[argparse.Namespace], int]] = {
    "train": cmd_train, "eval": cmd_eval, "dataset": cmd_dataset, "experiment": cmd_experiment,
    "learn": cmd_learn}


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return COMMANDS[args.cmd](args) if args.cmd in COMMANDS else int(args.func(args) or 0)
    except Cancelled:
        print("cancelled", file=sys.stderr)
        return 130
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except Exception as e:  # noqa: BLE001 - the CLI boundary: one readable line, not a traceback
        from engine.model.checkpoint import CheckpointError

        from .dataset import DatasetError

        if isinstance(e, (CheckpointError, DatasetError, ValueError, RuntimeError, FileNotFoundError)):
            print(f"error: {e}", file=sys.stderr)
            return 2
        raise


if __name__ == "__main__":
    raise SystemExit(main())

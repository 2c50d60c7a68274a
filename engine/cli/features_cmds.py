"""``mvpt features FILE`` (base features of one file) and ``mvpt models`` (which weights are here)."""

from __future__ import annotations

import argparse
import sys
import time

from engine.features.base import FeatureError
from engine.jobs import Progress, run
from engine.media.grid import DEFAULT_SEGMENT_SECONDS, SegmentGrid


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("features", help="compute the base features of a video or track (and cache them)")
    p.add_argument("file")
    p.add_argument("--extractor", choices=("clip", "classic", "musicnn", "classic-music"),
                   help="default: the active visual extractor for videos, the music one for audio")
    p.add_argument("--segment-seconds", type=float, default=DEFAULT_SEGMENT_SECONDS)
    p.add_argument("--device", default="cpu", help="cpu or cuda")
    p.add_argument("--model", default=None, help="CLIP model name (default ViT-B-32)")
    p.add_argument("--pretrained", default=None,
                   help="CLIP weights: an open_clip tag found locally, a file, local-dir:<folder>, or 'random'")
    p.add_argument("--no-cache", action="store_true", help="neither read nor write the feature cache")
    p.add_argument("--tags", type=int, default=5, help="how many music tags to print (musicnn)")
    p.set_defaults(func=_features)

    m = sub.add_parser("models", help="list the model weights available on this computer, and where")
    m.set_defaults(func=_models)


def _progress(event: Progress) -> None:
    if sys.stderr.isatty() and event.total:
        print(f"\r  {event.stage} {event.done}/{event.total}", end="", file=sys.stderr, flush=True)


def _features(args: argparse.Namespace) -> int:
    from engine.analysis.read import read_media
    from engine.features.cache import FeatureCache
    from engine.features.musicnn.output import MusicnnOutput
    from engine.features.registry import create_extractor, describe, plan_defaults
    from engine.media.probe import probe

    info = probe(args.file)
    name = args.extractor
    if name is None:
        plan = plan_defaults()
        name = plan.visual if info.video is not None else plan.music
    opts = {}
    if name == "clip":
        if args.model:
            opts["model_name"] = args.model
        if args.pretrained:
            opts["pretrained"] = args.pretrained
    grid = SegmentGrid(info.duration, args.segment_seconds)
    start = time.perf_counter()
    try:
        extractor = create_extractor(name, device=args.device, **opts)
        loaded = time.perf_counter()
        cache = None if args.no_cache else FeatureCache()
        feats = cache.get(extractor, args.file, grid) if cache is not None else None
        tags = []
        if feats is None:
            read = run(read_media(args.file, extractor, args.segment_seconds, info=info, grid=grid), _progress)
            feats = read.features
            if read.tags is not None:  # musicnn: its tag read-out too
                tags = MusicnnOutput(read.features, read.tags, list(read.tag_names)).top_tags(args.tags)
            if cache is not None:
                cache.put(extractor, args.file, grid, feats)
    except FeatureError as e:
        print(f"{chr(10) if sys.stderr.isatty() else ''}error: {e}", file=sys.stderr)
        return 1
    done = time.perf_counter()
    if sys.stderr.isatty():
        print(file=sys.stderr)
    print(f"{info.path}")
    print(f"  extractor  {describe(extractor)}")
    print(f"  features   {feats.shape[0]} segments × {feats.shape[1]} ({feats.dtype}), "
          f"{args.segment_seconds:g} s segments")
    if tags:
        print("  tags       " + ", ".join(f"{t} {p:.2f}" for t, p in tags))
    took = done - loaded
    print(f"  time       {took:.2f} s ({info.duration / max(took, 1e-9):.1f}× realtime) "
          f"+ {loaded - start:.2f} s loading the model")
    return 0


def _models(args: argparse.Namespace) -> int:
    from engine.features.registry import describe_active
    from engine.features.weights import list_clip_weights, search_locations

    print("Active: " + describe_active())
    print()
    print("CLIP weights on this computer:")
    entries = list_clip_weights()
    for e in entries:
        state = "ok" if e.usable else "unusable"
        print(f"  {e.model_name:<14} {e.tag or '-':<26} {state:<8} {e.source:<11} {e.path}"
              + (f"  ({e.note})" if e.note else ""))
    if not entries:
        print("  none")
    print("  searched:")
    for line in search_locations():
        print(f"    {line}")
    print("  to add: on a computer with internet run  python -c \"import open_clip; "
          "open_clip.create_model('ViT-B-32', pretrained='openai')\"  and copy its")
    print("  ~/.cache/huggingface/hub/models--timm--vit_base_patch32_clip_224.openai folder to the same place "
          "here, or use --pretrained FILE.")
    print()
    print("musicnn weights:")
    try:
        from engine.features.musicnn.weights import MODELS, find_weights
    except ImportError as e:
        print(f"  musicnn support is not available ({e})")
    else:
        for model in MODELS:
            try:
                print(f"  {model:<14} ok       {find_weights(model)}")
            except FeatureError as e:
                print(f"  {model:<14} missing  {e}")
    print()
    print("Weightless extractors (always available): classic (visual), classic-music (music)")
    return 0

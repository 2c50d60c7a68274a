"""Extractors by name, and which ones are active by default on this computer.

Names: ``clip`` (open_clip; weights from the local caches), ``classic`` (weightless visual
features), ``musicnn`` (musicnn's trained taggers), ``classic-music`` (weightless music
features). The defaults use learned models when their weights are present and fall back to
the weightless extractors otherwise; :func:`describe_active` says which, in one line the
GUI and CLI show, so the user always knows what the recommendations are built on.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from engine.features.base import FeatureError, FeatureExtractor
from engine.features.weights import DEFAULT_MODEL, DEFAULT_PRETRAINED, WeightsMissing

log = logging.getLogger(__name__)

VISUAL_NAMES = ("clip", "classic")
MUSIC_NAMES = ("musicnn", "classic-music")
NAMES = VISUAL_NAMES + MUSIC_NAMES
DEFAULT_MUSICNN = "MTT_musicnn"


def create_extractor(name: str, device: str = "cpu", **opts) -> FeatureExtractor:
    """Build an extractor by name. ``opts`` go to its constructor, e.g. for ``clip``:
    ``model_name``, ``pretrained`` (default ``"openai"``, resolved locally), ``batch_size``,
    ``frames_per_segment``; for ``musicnn``: ``model``. Raises :class:`FeatureError`."""
    if name == "clip":
        from engine.features.clip import ClipExtractor

        opts.setdefault("pretrained", DEFAULT_PRETRAINED)
        return ClipExtractor(device=device, **opts)
    if name == "classic":
        from engine.features.classic_visual import ClassicVisualExtractor

        return ClassicVisualExtractor(**opts)
    if name == "musicnn":
        try:
            from engine.features.musicnn.extractor import MusicnnExtractor
        except ImportError as e:
            raise FeatureError(f"the musicnn extractor is not available in this installation ({e})") from e
        opts.setdefault("model", DEFAULT_MUSICNN)
        return MusicnnExtractor(device=device, **opts)
    if name == "classic-music":
        try:
            from engine.features.music_classic import ClassicMusicExtractor
        except ImportError as e:
            raise FeatureError(f"the classic music extractor is not available in this installation ({e})") from e
        return ClassicMusicExtractor(**opts)
    raise FeatureError(f"unknown extractor '{name}'; choose one of: {', '.join(NAMES)}")


def extractor_name_for_id(feature_id: str) -> str | None:
    """The registry name whose extractor produces ids like ``feature_id`` (None if unknown)."""
    prefix = feature_id.split(":", 1)[0]
    name = {"classic-visual": "classic"}.get(prefix, prefix)
    return name if name in NAMES else None


def extractor_for_id(extractor_id: str, device: str = "cpu", *, clip_model: str = DEFAULT_MODEL,
                     clip_pretrained: str | None = None) -> FeatureExtractor:
    """The extractor that produces features with id ``extractor_id`` (what a checkpoint was
    trained on). Raises :class:`FeatureError` when this installation cannot make it."""
    family, _, rest = extractor_id.partition(":")
    parts = rest.split(":")
    if family == "classic-visual":
        opts = {p[0]: int(p[1:]) for p in parts if p[:1] in ("k", "w") and p[1:].isdigit()}
        ex = create_extractor("classic", device, frames_per_segment=opts.get("k", 8), work_size=opts.get("w", 72))
    elif family == "clip":
        model_name = parts[0] if parts and parts[0] else clip_model
        tag = parts[1] if len(parts) > 1 else None
        pretrained = clip_pretrained
        if tag and not tag.startswith(("sha256-", "random")) and pretrained is None:
            pretrained = tag
        ex = create_extractor("clip", device, model_name=model_name, pretrained=pretrained)
    elif family == "musicnn":
        ex = create_extractor("musicnn", device, model=parts[0] if parts and parts[0] else DEFAULT_MUSICNN)
    elif family == "classic-music":
        ex = create_extractor("classic-music", device)
    else:
        raise FeatureError(f"the model was trained on features '{extractor_id}', which this installation "
                           f"does not know; use a checkpoint trained with {', '.join(NAMES)}")
    if ex.id != extractor_id:
        raise FeatureError(f"the model was trained on features '{extractor_id}' but this installation makes "
                           f"'{ex.id}'; install the same weights (see `mvpt models`) or use a matching checkpoint")
    return ex


@dataclass(frozen=True)
class DefaultPlan:
    """Which extractors the defaults pick, and why (decided without loading any model)."""
    visual: str
    music: str
    visual_reason: str
    music_reason: str
    clip_pretrained: str = DEFAULT_PRETRAINED


def plan_defaults(clip_model: str = DEFAULT_MODEL, clip_pretrained: str = DEFAULT_PRETRAINED,
                  musicnn_model: str = DEFAULT_MUSICNN) -> DefaultPlan:
    """CLIP when its weights resolve locally, else classic; musicnn when its weights are
    installed, else classic-music."""
    try:
        from engine.features.weights import resolve_clip_weights

        rw = resolve_clip_weights(clip_model, clip_pretrained)
        visual, v_why = "clip", f"CLIP {rw.label} weights '{rw.fingerprint}' found ({rw.source})"
    except WeightsMissing:
        visual, v_why = "classic", f"no local CLIP weights '{clip_pretrained}' for {clip_model}"
    except FeatureError as e:
        visual, v_why = "classic", f"CLIP weights unusable ({str(e).splitlines()[0]})"
    except ImportError as e:
        visual, v_why = "classic", f"open_clip is not installed ({e})"
    try:
        from engine.features.musicnn.weights import find_weights

        find_weights(musicnn_model)
        music, m_why = "musicnn", f"musicnn {musicnn_model} weights installed"
    except FeatureError as e:
        music, m_why = "classic-music", f"no musicnn weights ({str(e).splitlines()[0]})"
    except ImportError as e:
        music, m_why = "classic-music", f"musicnn support is not available ({e})"
    return DefaultPlan(visual, music, v_why, m_why, clip_pretrained)


def default_extractors(device: str = "cpu", *, clip_model: str = DEFAULT_MODEL,
                       clip_pretrained: str = DEFAULT_PRETRAINED) -> tuple[FeatureExtractor, FeatureExtractor]:
    """(visual, music) extractors: the learned ones where their weights are here."""
    plan = plan_defaults(clip_model, clip_pretrained)
    visual_opts = {"model_name": clip_model, "pretrained": clip_pretrained} if plan.visual == "clip" else {}
    visual = create_extractor(plan.visual, device, **visual_opts)
    try:
        music = create_extractor(plan.music, device)
    except FeatureError:
        if plan.music == "classic-music":
            raise
        log.warning("musicnn could not be loaded; using the classic music extractor", exc_info=True)
        music = create_extractor("classic-music", device)
    return visual, music


def describe(extractor: FeatureExtractor) -> str:
    """One line about an extractor: its own description when it has one, and its id."""
    text = getattr(extractor, "description", None)
    return f"{text} [{extractor.id}]" if text else extractor.id


def describe_active(visual: FeatureExtractor | None = None, music: FeatureExtractor | None = None) -> str:
    """A line for the user: which extractors are active (given ones, or the defaults' plan)."""
    if visual is not None and music is not None:
        return f"visual: {describe(visual)} · music: {describe(music)}"
    plan = plan_defaults()
    v = describe(visual) if visual is not None else (
        f"{plan.visual} ({plan.visual_reason})" if plan.visual == "clip"
        else f"classic, weightless ({plan.visual_reason}; `mvpt models` says how to add CLIP)")
    m = describe(music) if music is not None else f"{plan.music} ({plan.music_reason})"
    return f"visual: {v} · music: {m}"

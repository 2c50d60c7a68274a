"""Finding CLIP weights on this computer, never on the network, and loading them safely.

open_clip, given a tag such as ``pretrained="openai"``, downloads on a cache miss (and
retries for ~46 s when offline). We never hand it a tag: :func:`resolve_clip_weights` looks
for the file itself, in this order, and passes open_clip only a model config:

1. an explicit file (``.safetensors``, ``.pt``, ``.pth``, ``.bin``) or ``local-dir:<dir>``
   (open_clip's layout: ``open_clip_config.json`` + a weights file);
2. the app's models folder: ``<data dir>/models/clip/<model>-<tag>.<ext>``;
3. the Hugging Face hub cache (``HF_HUB_CACHE``, default ``~/.cache/huggingface/hub``),
   where ``open_clip.create_model(model, pretrained=tag)`` on a connected machine puts them;
4. open_clip's URL cache ``~/.cache/clip`` (older downloads).

``HF_HUB_OFFLINE=1`` is set in this process before open_clip is imported, so nothing ever
waits on a network. Weight files never execute code: safetensors, or ``torch.load`` with
``weights_only=True`` and no fallback (open_clip's own loader retries *without*
``weights_only`` on a TypeError, so we do not use it); TorchScript archives (OpenAI's
original ``ViT-B-32.pt``) are refused, with a pointer to the safe copy of the same weights.
"""

from __future__ import annotations

import hashlib
import json
import os
import zipfile
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from engine.features.base import FeatureError

DEFAULT_MODEL = "ViT-B-32"
DEFAULT_PRETRAINED = "openai"
RANDOM = "random"
RANDOM_SEED = 0
WEIGHT_SUFFIXES = (".safetensors", ".pt", ".pth", ".bin")
_PREPROCESS_KEYS = ("mean", "std", "interpolation", "resize_mode")
_DIR_PREFERRED = ("open_clip_model.safetensors", "open_clip_pytorch_model.safetensors",
                  "model.safetensors", "open_clip_pytorch_model.bin", "pytorch_model.bin",
                  "open_clip_pytorch_model.pth", "model.pth")


class WeightsMissing(FeatureError):
    """The requested weights are not on this computer (the message says how to get them)."""


def import_open_clip():
    """Import open_clip with the Hugging Face hub switched to offline mode first."""
    os.environ["HF_HUB_OFFLINE"] = "1"
    try:
        import huggingface_hub.constants as hf_constants

        hf_constants.HF_HUB_OFFLINE = True  # in case it was imported before the variable was set
    except ImportError:
        pass
    import open_clip

    return open_clip


@dataclass(frozen=True)
class ResolvedWeights:
    model_name: str
    """open_clip config name (or ``local-dir:<dir>``)."""
    label: str
    """Model part of the extractor id."""
    fingerprint: str
    """Weights part of the extractor id: the tag, ``sha256-<16 hex>`` of a file, or ``random-seed0``."""
    path: Path | None
    """The weights file; None for a seeded random initialisation."""
    source: str
    """``random``, ``file``, ``local-dir``, ``app-models``, ``hf-cache`` or ``clip-cache``."""
    quick_gelu: bool = False
    preprocess: dict[str, Any] = field(default_factory=dict)
    """Preprocessing overrides from the tag's config (mean, std, interpolation, resize mode)."""

    @property
    def is_random(self) -> bool:
        return self.path is None


@lru_cache(maxsize=32)
def _sha256(path: str, size: int, mtime_ns: int) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def file_fingerprint(path: str | os.PathLike[str]) -> str:
    """``sha256-<16 hex>`` of a weights file (memoised per path, size and mtime)."""
    st = os.stat(path)
    return "sha256-" + _sha256(str(Path(path).resolve()), st.st_size, st.st_mtime_ns)[:16]


def app_clip_dir() -> Path:
    from engine.paths import models_dir

    return models_dir() / "clip"


def _clip_url_cache() -> Path:
    return Path(os.path.expanduser("~/.cache/clip"))


def _hf_cache() -> Path:
    try:
        from huggingface_hub import constants

        return Path(constants.HF_HUB_CACHE)
    except ImportError:
        return Path(os.path.expanduser("~/.cache/huggingface/hub"))


def _hf_candidates(hf_hub: str) -> tuple[str, list[str]]:
    repo, filename = os.path.split(hf_hub)  # "org/repo/" -> no file name: open_clip's default
    filename = filename or "open_clip_pytorch_model.bin"
    names = [filename]
    if filename == "open_clip_pytorch_model.bin":
        names.insert(0, "open_clip_model.safetensors")
    elif filename.endswith((".bin", ".pth")):
        names.insert(0, filename[:-4] + ".safetensors")
    return repo, names


def _find_in_hf_cache(hf_hub: str) -> Path | None:
    try:
        from huggingface_hub import try_to_load_from_cache
    except ImportError:
        return None
    repo, names = _hf_candidates(hf_hub)
    for name in names:
        found = try_to_load_from_cache(repo, name, cache_dir=_hf_cache())
        if isinstance(found, str) and os.path.isfile(found):
            return Path(found)
    return None


def is_torchscript(path: str | os.PathLike[str]) -> bool:
    """True for a TorchScript archive (loading one runs its code: we refuse)."""
    try:
        with zipfile.ZipFile(path) as z:
            return any(n.endswith("constants.pkl") or "/code/" in n for n in z.namelist())
    except (zipfile.BadZipFile, OSError):
        return False


def tag_locations(model_name: str, tag: str) -> list[tuple[str, Path | None, str]]:
    """Where a tag's weights may be, in search order: ``(source, path or None, note)``."""
    open_clip = import_open_clip()
    cfg = open_clip.get_pretrained_cfg(model_name, tag)
    out: list[tuple[str, Path | None, str]] = []
    for suffix in WEIGHT_SUFFIXES:
        out.append(("app-models", app_clip_dir() / f"{model_name}-{tag}{suffix}", ""))
    if cfg.get("hf_hub"):
        repo, names = _hf_candidates(cfg["hf_hub"])
        found = _find_in_hf_cache(cfg["hf_hub"])
        out.append(("hf-cache", found, f"{_hf_cache()} (repo {repo}, {' or '.join(names)})"))
    if cfg.get("url"):
        p = _clip_url_cache() / os.path.basename(cfg["url"])
        out.append(("clip-cache", p, "TorchScript archive: refused" if p.is_file() and is_torchscript(p) else ""))
    return out


def resolve_clip_weights(model_name: str = DEFAULT_MODEL, pretrained: str | None = DEFAULT_PRETRAINED) -> ResolvedWeights:
    """Find the weights named by ``pretrained`` locally. Raises :class:`WeightsMissing` or
    :class:`FeatureError` with a message that says what to do.

    ``pretrained``: None or ``"random"`` (seeded random init: tests, benchmarks), an open_clip
    tag (``"openai"``, ``"laion2b_s34b_b79k"``...), a weights file, or ``local-dir:<dir>``.
    A plain file carries no config: for OpenAI-trained weights use a ``-quickgelu`` model name.
    """
    open_clip = import_open_clip()
    if pretrained and pretrained.startswith("local-dir:"):
        return _resolve_local_dir(Path(pretrained[len("local-dir:"):]).expanduser())
    if model_name.startswith("local-dir:"):
        return _resolve_local_dir(Path(model_name[len("local-dir:"):]).expanduser())
    if open_clip.get_model_config(model_name) is None:
        models = ", ".join(m for m in open_clip.list_models() if m.startswith("ViT-B"))
        raise FeatureError(f"unknown CLIP model '{model_name}' (for example: {models}); "
                           f"or use local-dir:<folder> for a custom one")
    quick = model_name.endswith("-quickgelu")
    if pretrained is None or pretrained == RANDOM:
        return ResolvedWeights(model_name, model_name, f"random-seed{RANDOM_SEED}", None, RANDOM, quick)
    as_path = Path(pretrained).expanduser()
    if as_path.suffix.lower() in WEIGHT_SUFFIXES or os.sep in pretrained or as_path.is_file():
        return _resolve_file(model_name, as_path, quick)
    cfg = open_clip.get_pretrained_cfg(model_name, pretrained)
    if not cfg:
        tags = ", ".join(open_clip.list_pretrained_tags_by_model(model_name)) or "none"
        raise FeatureError(f"'{pretrained}' is neither a weights file nor an open_clip tag for {model_name} "
                           f"(known tags: {tags})")
    preprocess = {k: cfg[k] for k in _PREPROCESS_KEYS if k in cfg}
    refused = []
    for source, path, _note in tag_locations(model_name, pretrained):
        if path is None or not path.is_file():
            continue
        if is_torchscript(path):
            refused.append(str(path))
            continue
        return ResolvedWeights(model_name, model_name, pretrained, path, source,
                               bool(cfg.get("quick_gelu", quick)), preprocess)
    raise WeightsMissing(missing_message(model_name, pretrained, refused))


def missing_message(model_name: str, tag: str, refused: list[str] = ()) -> str:
    open_clip = import_open_clip()
    cfg = open_clip.get_pretrained_cfg(model_name, tag)
    repo = _hf_candidates(cfg["hf_hub"])[0] if cfg.get("hf_hub") else None
    folder = f"models--{repo.replace('/', '--')}" if repo else None
    lines = [f"CLIP weights '{tag}' for {model_name} are not on this computer, and the app never downloads "
             f"them by itself. Either:",
             f"  1. on a computer with internet, run: python -c \"import open_clip; "
             f"open_clip.create_model('{model_name}', pretrained='{tag}')\"" +
             (f" and copy the folder {folder} from its ~/.cache/huggingface/hub to {_hf_cache()} here;"
              if folder else ";"),
             f"  2. or save the weights file as {app_clip_dir() / f'{model_name}-{tag}.safetensors'} "
             f"(.pt/.bin also work);",
             "  3. or point the CLIP weights setting (--pretrained) at a .safetensors/.pt/.bin file or "
             "local-dir:<folder>.",
             "Until then the weightless 'classic' visual extractor is used. `mvpt models` lists what is available."]
    if refused:
        lines.insert(1, f"(found {', '.join(refused)}, but TorchScript archives run code when loaded; "
                        f"use the Hugging Face copy instead, as below)")
    return "\n".join(lines)


def _resolve_file(model_name: str, path: Path, quick: bool) -> ResolvedWeights:
    if not path.is_file():
        raise WeightsMissing(f"CLIP weights file not found: {path}. Check the path in the CLIP weights setting "
                             f"(`mvpt models` lists the weights on this computer).")
    if path.suffix.lower() not in WEIGHT_SUFFIXES:
        raise FeatureError(f"{path.name}: not a weights file (expected {', '.join(WEIGHT_SUFFIXES)})")
    if is_torchscript(path):
        raise FeatureError(f"{path.name} is a TorchScript archive, which runs code when loaded; use a "
                           f".safetensors or plain state-dict .pt/.bin of the same weights")
    return ResolvedWeights(model_name, model_name, file_fingerprint(path), path, "file", quick)


def _resolve_local_dir(folder: Path) -> ResolvedWeights:
    config = folder / "open_clip_config.json"
    if not config.is_file():
        raise WeightsMissing(f"local-dir:{folder}: no open_clip_config.json there (open_clip's folder layout: "
                             f"open_clip_config.json + open_clip_model.safetensors)")
    try:
        cfg = json.loads(config.read_text(encoding="utf-8"))
        cfg["model_cfg"]
    except (ValueError, KeyError, OSError) as e:
        raise FeatureError(f"local-dir:{folder}: open_clip_config.json is unreadable or has no model_cfg ({e})") from e
    files = [p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in WEIGHT_SUFFIXES]
    files.sort(key=lambda p: (_DIR_PREFERRED.index(p.name) if p.name in _DIR_PREFERRED else len(_DIR_PREFERRED),
                              p.suffix != ".safetensors", p.name))
    if not files:
        raise WeightsMissing(f"local-dir:{folder}: no weights file (.safetensors, .bin, .pt) in the folder")
    digest = hashlib.sha256(json.dumps(cfg["model_cfg"], sort_keys=True).encode()).hexdigest()[:8]
    pre = cfg.get("preprocess_cfg", {})
    return ResolvedWeights(f"local-dir:{folder}", f"local-{digest}", file_fingerprint(files[0]), files[0],
                           "local-dir", bool(cfg["model_cfg"].get("quick_gelu", False)),
                           {k: pre[k] for k in _PREPROCESS_KEYS if k in pre})


def load_state_dict(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Tensors from a weights file, without executing anything from it."""
    import torch

    path = Path(path)
    try:
        if path.suffix.lower() == ".safetensors":
            from safetensors.torch import load_file

            state = load_file(str(path), device="cpu")
        else:
            if is_torchscript(path):
                raise FeatureError(f"{path.name} is a TorchScript archive (runs code when loaded); refused")
            state = torch.load(str(path), map_location="cpu", weights_only=True)
    except FeatureError:
        raise
    except Exception as e:  # noqa: BLE001 - unpickling errors, truncated files, bad headers
        raise FeatureError(f"{path.name}: cannot be read as plain weights ({type(e).__name__}: {e}). "
                           f"Files that need code to load are refused; use .safetensors") from e
    if isinstance(state, dict) and isinstance(state.get("state_dict"), dict):
        state = state["state_dict"]
    if not isinstance(state, dict) or not state or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise FeatureError(f"{path.name}: does not hold a dictionary of tensors")
    if next(iter(state)).startswith("module."):
        state = {k[len("module."):]: v for k, v in state.items()}
    return state


@dataclass(frozen=True)
class WeightsEntry:
    model_name: str
    tag: str | None
    path: Path
    source: str
    usable: bool
    note: str = ""


def list_clip_weights() -> list[WeightsEntry]:
    """Every CLIP weights file this computer holds where the app looks (for ``mvpt models``)."""
    open_clip = import_open_clip()
    by_repo: dict[str, list[tuple[str, str]]] = {}
    by_file: dict[str, list[tuple[str, str]]] = {}
    for model, tag in open_clip.list_pretrained():
        cfg = open_clip.get_pretrained_cfg(model, tag)
        if cfg.get("hf_hub"):
            by_repo.setdefault(_hf_candidates(cfg["hf_hub"])[0], []).append((model, tag))
        if cfg.get("url"):
            by_file.setdefault(os.path.basename(cfg["url"]), []).append((model, tag))
    out: list[WeightsEntry] = []
    app = app_clip_dir()
    for p in sorted(app.glob("*")) if app.is_dir() else ():
        if p.suffix.lower() in WEIGHT_SUFFIXES:
            model, tag = _split_app_name(p.stem, open_clip)
            ts = is_torchscript(p)
            out.append(WeightsEntry(model or "?", tag, p, "app-models", not ts,
                                    "TorchScript: refused" if ts else ("" if model else "name it <model>-<tag>")))
    hub = _hf_cache()
    for d in sorted(hub.glob("models--*")) if hub.is_dir() else ():
        repo = d.name[len("models--"):].replace("--", "/")
        for model, tag in by_repo.get(repo, ()):
            found = _find_in_hf_cache(open_clip.get_pretrained_cfg(model, tag)["hf_hub"])
            if found is not None:
                out.append(WeightsEntry(model, tag, found, "hf-cache", True))
    url_cache = _clip_url_cache()
    for p in sorted(url_cache.glob("*")) if url_cache.is_dir() else ():
        for model, tag in by_file.get(p.name, ()):
            ts = is_torchscript(p)
            out.append(WeightsEntry(model, tag, p, "clip-cache", not ts, "TorchScript: refused" if ts else ""))
    return out


def _split_app_name(stem: str, open_clip) -> tuple[str | None, str | None]:
    """``ViT-B-32-openai`` -> (``ViT-B-32``, ``openai``) for a known model and tag."""
    for model in sorted(open_clip.list_models(), key=len, reverse=True):
        if stem.startswith(model + "-"):
            tag = stem[len(model) + 1:]
            return model, (tag if open_clip.get_pretrained_cfg(model, tag) else None)
    return None, None


def search_locations() -> list[str]:
    """Human-readable list of the places searched for CLIP weights."""
    return [f"app models folder: {app_clip_dir()}  (<model>-<tag>.safetensors|.pt|.bin)",
            f"Hugging Face cache: {_hf_cache()}  (set HF_HUB_CACHE or HF_HOME to move it)",
            f"open_clip URL cache: {_clip_url_cache()}"]

"""Checkpoints: ``model.safetensors`` + ``config.json`` in one folder, written atomically.

``config.json`` holds everything needed to rebuild and to trust the weights::

    {"format": "mvpt-checkpoint", "version": 1,
     "model": {... the resolved MVPTConfig / BaselineConfig ...},
     "features": {"visual": {"id": "clip:ViT-B-32:openai:v1", "dim": 512},
                  "music":  {"id": "...", "dim": ...}},
     "segment_seconds": 6.7, "seq_len": 30,
     "data": {"manifest_sha256": "...", ...}, "train": {...}, "metrics": {...},
     "param_count": 5672960}

Loading refuses, with a :class:`CheckpointError` that says what to do: pickles and
``torch.save`` archives (never unpickled), truncated or malformed safetensors, configs
that do not parse, tensors whose names or shapes do not fit the config, and base-feature
extractors other than the active ones.
"""

from __future__ import annotations

import json
import os
import shutil
import struct
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from .config import ModelConfig, config_from_dict, config_to_dict
from .factory import build_model

FORMAT = "mvpt-checkpoint"
VERSION = 1
WEIGHTS = "model.safetensors"
CONFIG = "config.json"
_MAX_HEADER = 100 * 1024 * 1024


class CheckpointError(Exception):
    """A checkpoint cannot be used. ``str(e)`` names the file and says what to do."""


@dataclass
class CheckpointConfig:
    model: ModelConfig
    features: dict[str, dict[str, Any]]          # {"visual": {"id", "dim"}, "music": {"id", "dim"}}
    segment_seconds: float
    seq_len: int
    data: dict[str, Any] = field(default_factory=dict)     # manifest hash, dataset path, sizes
    train: dict[str, Any] = field(default_factory=dict)    # resolved training settings
    metrics: dict[str, Any] = field(default_factory=dict)  # validation/test figures

    @property
    def visual_id(self) -> str:
        return str(self.features["visual"]["id"])

    @property
    def music_id(self) -> str:
        return str(self.features["music"]["id"])

    def to_dict(self) -> dict[str, Any]:
        return {"format": FORMAT, "version": VERSION, "model": config_to_dict(self.model),
                "features": self.features, "segment_seconds": self.segment_seconds,
                "seq_len": self.seq_len, "data": self.data, "train": self.train, "metrics": self.metrics}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> CheckpointConfig:
        if d.get("format") != FORMAT:
            raise ValueError(f"not an MVPT checkpoint config (format={d.get('format')!r})")
        if d.get("version") != VERSION:
            raise ValueError(f"checkpoint version {d.get('version')!r} is not supported (this build reads {VERSION})")
        feats = d["features"]
        for mod in ("visual", "music"):
            if not isinstance(feats.get(mod), dict) or "id" not in feats[mod] or "dim" not in feats[mod]:
                raise ValueError(f"features.{mod} must have an id and a dim")
        return cls(model=config_from_dict(d["model"]), features=feats,
                   segment_seconds=float(d["segment_seconds"]), seq_len=int(d["seq_len"]),
                   data=d.get("data", {}), train=d.get("train", {}), metrics=d.get("metrics", {}))


@dataclass(frozen=True)
class Encoded:
    """What a tower makes of one video's or track's base features (numpy, CPU)."""
    segments: np.ndarray
    """float32 [T, d] unit vectors, each read with the temporal context around it."""
    cls: np.ndarray
    """float32 [d] unit vector: the whole video/track ([CLS])."""
    attention: np.ndarray | None
    """float32 [T] attention-rollout weight per segment (sums to 1), when asked for."""


@dataclass
class LoadedModel:
    model: nn.Module            # in eval mode, on the requested device
    config: CheckpointConfig
    path: Path                  # the checkpoint folder
    _id: str | None = field(default=None, repr=False)

    @property
    def checkpoint_id(self) -> str:
        """Stable id (folder name + hash of the weights): keys vectors, attributes and caches."""
        if self._id is None:
            self._id = checkpoint_id_of(self.path)
        return self._id

    @property
    def is_demo(self) -> bool:
        return bool(self.config.data.get("demo"))

    def encode(self, modality: str, base: np.ndarray, *, need_weights: bool = False) -> Encoded:
        """The one way from base features to embeddings: ``base`` float32 [T, D] of one
        video (``"visual"``) or track (``"music"``), windows of L segments with context."""
        return self.encode_many(modality, [base], need_weights=need_weights)[0]

    def encode_many(self, modality: str, bases: list[np.ndarray], *, need_weights: bool = False) -> list[Encoded]:
        """:meth:`encode` for several items at once (batched windows)."""
        from engine.model.windows import encode_many

        tower = self.model.tower(modality)
        xs = [torch.as_tensor(np.asarray(b, np.float32)) for b in bases]  # each (T_i, D)
        with torch.inference_mode():
            outs = encode_many(tower, xs, L=self.config.seq_len, need_weights=need_weights)
        result = []
        for x, o in zip(xs, outs):
            att = None
            if need_weights:
                att = (o.attention.weights.float().numpy() if o.attention is not None
                       else np.full(x.shape[0], 1.0 / x.shape[0], np.float32))
            result.append(Encoded(o.segments.float().numpy().astype(np.float32),
                                  o.cls.float().numpy().astype(np.float32),
                                  None if att is None else att.astype(np.float32)))
        return result


def checkpoint_id_of(directory: str | os.PathLike[str]) -> str:
    """A stable id for a checkpoint folder: its name and a hash of its weights.

    The hash reads the safetensors header as canonical JSON (sorted keys), then the tensor
    bytes: safetensors writes its metadata map in a random order (a Rust ``HashMap``), so the
    same tensors saved twice gave two files, two ids, and a library re-embedded for nothing."""
    import hashlib

    d = Path(directory)
    h = hashlib.sha256()
    with open(d / WEIGHTS, "rb") as f:
        head = f.read(8)
        if len(head) == 8:
            n = int.from_bytes(head, "little")
            raw = f.read(n) if n <= 100 << 20 else b""
            try:
                header = json.dumps(json.loads(raw), sort_keys=True, separators=(",", ":")).encode()
            except ValueError:  # not a safetensors header: the bytes as they are
                header = head + raw
            h.update(header)
        else:
            h.update(head)
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    name = "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in d.name)[:32] or "model"
    return f"{name}-{h.hexdigest()[:16]}"


def _atomic_write_dir(target: Path, write) -> None:
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.tmp-{os.getpid()}-{time.monotonic_ns()}")
    tmp.mkdir()
    try:
        write(tmp)
        old = None
        if target.exists():
            old = target.with_name(f".{target.name}.old-{os.getpid()}-{time.monotonic_ns()}")
            os.rename(target, old)
        os.rename(tmp, target)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def save_checkpoint(directory: str | os.PathLike[str], model: nn.Module, config: CheckpointConfig,
                    metrics: dict[str, Any] | None = None) -> Path:
    """Write ``directory/model.safetensors`` and ``directory/config.json`` atomically
    (a temporary folder renamed into place). Returns the folder."""
    from safetensors.torch import save_file

    if metrics is not None:
        config.metrics = metrics
    state = {k: v.detach().to("cpu", torch.float32).contiguous() for k, v in model.state_dict().items()}
    doc = config.to_dict()
    doc["param_count"] = int(sum(v.numel() for v in state.values()))

    def write(tmp: Path) -> None:
        save_file(state, str(tmp / WEIGHTS), metadata={"format": FORMAT, "version": str(VERSION)})
        (tmp / CONFIG).write_text(json.dumps(doc, indent=2, sort_keys=False) + "\n")

    _atomic_write_dir(Path(directory), write)
    return Path(directory)


def resolve_checkpoint_dir(path: str | os.PathLike[str]) -> Path:
    """A checkpoint folder, a ``model.safetensors`` inside one, or a training run folder
    (its ``best/``, else its ``last/``)."""
    p = Path(path)
    if p.is_file():
        return p.parent
    if (p / CONFIG).exists() or (p / WEIGHTS).exists():
        return p
    for sub in ("best", "last"):
        if (p / sub / CONFIG).exists():
            return p / sub
    if not p.exists():
        raise CheckpointError(f"{p}: no such checkpoint (expected a folder with {WEIGHTS} and {CONFIG})")
    raise CheckpointError(f"{p}: not a checkpoint folder (no {CONFIG}, no best/ or last/ run checkpoint)")


def _check_safetensors_file(path: Path) -> None:
    """Refuse pickles, zip archives and truncated/malformed files before any parser sees them."""
    try:
        size = path.stat().st_size
        with open(path, "rb") as f:
            head = f.read(8)
            if head[:2] in (b"\x80\x02", b"\x80\x03", b"\x80\x04", b"\x80\x05") or head[:4] == b"PK\x03\x04":
                raise CheckpointError(
                    f"{path}: this is a pickle / torch.save file; MVPT never unpickles weights (it could run "
                    f"code). Re-export the state dict with safetensors.torch.save_file.")
            if len(head) < 8:
                raise CheckpointError(f"{path}: file is empty or truncated")
            (n,) = struct.unpack("<Q", head)
            if n > _MAX_HEADER or 8 + n > size:
                raise CheckpointError(f"{path}: not a safetensors file, or truncated (header says {n} bytes, "
                                      f"file has {size})")
            header = json.loads(f.read(n))
    except CheckpointError:
        raise
    except (OSError, ValueError, UnicodeDecodeError) as e:
        raise CheckpointError(f"{path}: cannot read the safetensors header ({e})") from e
    if not isinstance(header, dict):
        raise CheckpointError(f"{path}: malformed safetensors header")
    data_size = size - 8 - n
    end = 0
    for name, info in header.items():
        if name == "__metadata__":
            continue
        try:
            start, stop = info["data_offsets"]
        except (TypeError, KeyError, ValueError) as e:
            raise CheckpointError(f"{path}: malformed entry for tensor {name!r}") from e
        end = max(end, int(stop))
    if end > data_size:
        raise CheckpointError(f"{path}: truncated ({data_size} bytes of tensor data, {end} expected); "
                              "copy or download the checkpoint again")


def read_config(path: str | os.PathLike[str]) -> CheckpointConfig:
    d = resolve_checkpoint_dir(path)
    cfg_path = d / CONFIG
    try:
        return CheckpointConfig.from_dict(json.loads(cfg_path.read_text()))
    except FileNotFoundError as e:
        raise CheckpointError(f"{d}: {CONFIG} is missing beside the weights") from e
    except (OSError, ValueError, KeyError, TypeError) as e:
        raise CheckpointError(f"{cfg_path}: invalid checkpoint config ({e})") from e


def load_checkpoint(path_or_dir: str | os.PathLike[str], *, expect_visual_id: str | None = None,
                    expect_music_id: str | None = None, device: str | torch.device = "cpu") -> LoadedModel:
    """Load a checkpoint for inference (eval mode). ``expect_*_id``: the active extractors'
    ids; a checkpoint trained on other base features is refused."""
    from safetensors.torch import load_file

    d = resolve_checkpoint_dir(path_or_dir)
    config = read_config(d)
    for modality, expected in (("visual", expect_visual_id), ("music", expect_music_id)):
        have = config.features[modality]["id"]
        if expected is not None and expected != have:
            raise CheckpointError(
                f"{d}: this model was trained on {modality} features '{have}', but the active {modality} "
                f"extractor is '{expected}'. Select the '{have}' extractor, or use a checkpoint trained "
                f"on '{expected}' features.")
    weights = d / WEIGHTS
    if not weights.exists():
        raise CheckpointError(f"{d}: {WEIGHTS} is missing")
    _check_safetensors_file(weights)
    try:
        state = load_file(str(weights), device="cpu")
    except Exception as e:  # noqa: BLE001 - any parser failure is a bad file
        raise CheckpointError(f"{weights}: cannot read the weights ({type(e).__name__}: {e})") from e
    try:
        model = build_model(config.model)
    except (ValueError, TypeError) as e:
        raise CheckpointError(f"{d}: model config cannot be built ({e})") from e
    expected_state = model.state_dict()
    missing = sorted(set(expected_state) - set(state))
    unexpected = sorted(set(state) - set(expected_state))
    if missing or unexpected:
        raise CheckpointError(f"{weights}: tensors do not match the config (missing {missing[:5]}, "
                              f"unexpected {unexpected[:5]})")
    for k, v in expected_state.items():
        if tuple(state[k].shape) != tuple(v.shape):
            raise CheckpointError(f"{weights}: tensor {k} has shape {tuple(state[k].shape)}, the config "
                                  f"needs {tuple(v.shape)}")
        if not torch.is_floating_point(state[k]):
            raise CheckpointError(f"{weights}: tensor {k} is not floating point")
    model.load_state_dict({k: v.float() for k, v in state.items()})
    for modality in ("visual", "music"):
        dim = getattr(config.model, f"{modality}_dim")
        if int(config.features[modality]["dim"]) != dim:
            raise CheckpointError(f"{d}: features.{modality}.dim={config.features[modality]['dim']} but the "
                                  f"model expects {dim}")
    model.to(device).eval()
    return LoadedModel(model=model, config=config, path=d)

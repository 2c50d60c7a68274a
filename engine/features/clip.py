"""CLIP (open_clip) base features: the image tower per segment, the text tower for prompts.

Segment feature = mean over the segment's frames of the L2-normalised image embeddings
(the paper averages CLIP features over each segment). The mean is not re-normalised: its
length tells how consistent the segment's frames are. Text embeddings are L2-normalised, so
text prompts and segments compare by dot product.

Preprocessing follows the model's open_clip ``preprocess_cfg`` (size, mean, std,
interpolation, resize mode), done in torch on whole batches (on the GPU when there is one)
instead of PIL per image: resize (antialiased, like torchvision's tensor ``Resize``), centre
crop or pad, scale to [0, 1], normalise. ``PREPROCESS_VERSION`` is part of the ``id``;
bump it whenever this changes outputs.

On CUDA the model runs in half precision under ``inference_mode``; the batch starts large
and halves on an out-of-memory error (the size that worked is kept).
"""

from __future__ import annotations

import contextlib
import logging
import os

import numpy as np

from engine.features.base import FeatureError
from engine.features.weights import (
    DEFAULT_MODEL,
    RANDOM_SEED,
    ResolvedWeights,
    import_open_clip,
    load_state_dict,
    resolve_clip_weights,
)
from engine.jobs import CancelCheck, Job
from engine.media.grid import SegmentGrid

log = logging.getLogger(__name__)

PREPROCESS_VERSION = 1
CPU_BATCH = 32
CUDA_BATCH = 256


class ClipExtractor:
    modality = "visual"

    def __init__(self, model_name: str = DEFAULT_MODEL, pretrained: str | None = None, device: str = "cpu",
                 batch_size: int | None = None, frames_per_segment: int = 4) -> None:
        """``pretrained``: None/``"random"`` (seeded random init), an open_clip tag found in the
        local caches, a weights file, or ``local-dir:<dir>`` (see :mod:`engine.features.weights`)."""
        import torch

        self.weights: ResolvedWeights = resolve_clip_weights(model_name, pretrained)
        if str(device).startswith("cuda") and not torch.cuda.is_available():
            raise FeatureError(f"device '{device}' was requested but CUDA is not available here; use 'cpu'")
        open_clip = import_open_clip()
        rw = self.weights
        with torch.random.fork_rng(devices=[]), _quiet_open_clip():
            torch.manual_seed(RANDOM_SEED)  # a random-init model is the same model every time
            try:
                model = open_clip.create_model(rw.model_name, pretrained=None, load_weights=False,
                                               force_quick_gelu=rw.quick_gelu,
                                               force_preprocess_cfg=rw.preprocess or None,
                                               pretrained_image=False, pretrained_text=False, device="cpu")
            except Exception as e:  # noqa: BLE001 - open_clip raises RuntimeError/ValueError/OSError
                raise FeatureError(f"cannot build CLIP model '{rw.model_name}': {e}") from e
        if rw.path is not None:
            _load_weights(model, rw.path)
        self.device = torch.device(device)
        self.half = self.device.type == "cuda"
        model = model.to(self.device)
        if self.half:
            model = model.half()
        self.model = model.eval()
        self.preprocess_cfg = dict(model.visual.preprocess_cfg)
        size = self.preprocess_cfg["size"]
        self.image_size: tuple[int, int] = (size, size) if isinstance(size, int) else tuple(size)
        self.dim = int(getattr(model.visual, "output_dim", 0) or self._probe_dim())
        self.frames_per_segment = int(frames_per_segment)
        self.batch_size = int(batch_size or (CUDA_BATCH if self.half else CPU_BATCH))
        self.model_name = model_name
        self.id = f"clip:{rw.label}:{rw.fingerprint}:p{PREPROCESS_VERSION}"
        where = "random weights (tests/benchmarks only)" if rw.is_random else f"weights {rw.fingerprint} from {rw.path}"
        self.description = f"CLIP {rw.label}, {where}, on {self.device}"
        self._tokenizer = None

    # --- image tower -------------------------------------------------------------------
    def preprocess(self, frames: np.ndarray):
        """uint8 ``[N, H, W, 3]`` -> normalised float tensor ``[N, 3, S, S]`` on the device."""
        import torch
        import torch.nn.functional as F

        cfg = self.preprocess_cfg
        th, tw = self.image_size
        x = torch.from_numpy(np.ascontiguousarray(frames)).to(self.device)
        x = x.permute(0, 3, 1, 2).float()  # [N, 3, H, W], 0..255
        h, w = x.shape[-2:]
        mode = cfg.get("resize_mode", "shortest")
        interp = cfg.get("interpolation", "bicubic")
        if mode == "squash":
            new = (th, tw)
        else:
            # torchvision's Resize(int): one side to the target, the other scaled and truncated.
            short, long_ = (h, w) if h <= w else (w, h)
            if mode == "shortest":
                new_short, new_long = min(th, tw), int(min(th, tw) * long_ / short)
            else:  # "longest": the long side fits, then pad
                new_short, new_long = int(round(max(th, tw) * short / long_)), max(th, tw)
            new = (new_short, new_long) if h <= w else (new_long, new_short)
        if tuple(new) != (h, w):
            torch_mode = {"bicubic": "bicubic", "bilinear": "bilinear"}.get(interp, "bilinear")
            x = F.interpolate(x, size=new, mode=torch_mode, align_corners=False, antialias=True).clamp_(0, 255)
        h, w = x.shape[-2:]
        if h < th or w < tw:  # "longest": pad to the square with the fill colour, centred
            pad_t, pad_l = (th - h) // 2, (tw - w) // 2
            x = F.pad(x, (pad_l, tw - w - pad_l, pad_t, th - h - pad_t), value=float(cfg.get("fill_color", 0)))
            h, w = x.shape[-2:]
        top, left = int(round((h - th) / 2.0)), int(round((w - tw) / 2.0))
        x = x[..., top:top + th, left:left + tw] / 255.0
        mean = torch.tensor(cfg["mean"], device=self.device).view(1, 3, 1, 1)
        std = torch.tensor(cfg["std"], device=self.device).view(1, 3, 1, 1)
        x = (x - mean) / std
        return x.half() if self.half else x

    def encode_images(self, images: list[np.ndarray]) -> np.ndarray:
        """Still images (uint8 ``[H, W, 3]``, any sizes) -> float32 ``[N, dim]``, L2-normalised:
        each image read as a one-frame segment. Used for attributes from examples."""
        return np.concatenate([self.encode_frames(np.asarray(img)[None]) for img in images]) if images \
            else np.zeros((0, self.dim), np.float32)

    def encode_frames(self, frames: np.ndarray) -> np.ndarray:
        """uint8 ``[N, H, W, 3]`` frames -> float32 ``[N, dim]``, L2-normalised, batched."""
        import torch

        frames = np.asarray(frames)
        if frames.ndim != 4 or frames.shape[-1] != 3:
            raise ValueError(f"expected uint8 frames [N, H, W, 3], got {frames.shape}")
        out = np.empty((len(frames), self.dim), dtype=np.float32)
        i = 0
        while i < len(frames):
            n = min(self.batch_size, len(frames) - i)
            try:
                with torch.inference_mode():
                    emb = self.model.encode_image(self.preprocess(frames[i:i + n]))  # [n, dim]
                    emb = torch.nn.functional.normalize(emb.float(), dim=-1)
            except torch.cuda.OutOfMemoryError:
                if self.batch_size == 1:
                    raise FeatureError("the GPU ran out of memory even for one image; use device 'cpu'") from None
                self.batch_size = max(1, self.batch_size // 2)
                torch.cuda.empty_cache()
                log.info("CUDA out of memory; CLIP batch size now %d", self.batch_size)
                continue
            out[i:i + n] = emb.cpu().numpy()
            i += n
        return out

    @property
    def frame_short_side(self) -> int:
        return int(min(self.image_size))

    @property
    def segments_per_batch(self) -> int:
        return max(1, self.batch_size // self.frames_per_segment)

    def encode_segments(self, segments: list[np.ndarray]) -> np.ndarray:
        """Each uint8 ``[k, H, W, 3]`` -> the mean embedding of its frames: float32 ``[n, dim]``."""
        if not segments:
            return np.zeros((0, self.dim), np.float32)
        counts = [len(f) for f in segments]
        emb = self.encode_frames(np.concatenate(segments))  # [sum k, dim]
        bounds = np.cumsum([0, *counts])
        return np.stack([emb[a:b].mean(axis=0) for a, b in zip(bounds[:-1], bounds[1:])]).astype(np.float32)

    def extract(self, path: str | os.PathLike[str], grid: SegmentGrid, *,
                cancel: CancelCheck | None = None) -> Job[np.ndarray]:
        """Job: float32 ``[len(grid), dim]``, the mean embedding of each segment's frames
        (decoded by the one analysis pass)."""
        from engine.analysis.read import read_media

        read = yield from read_media(path, self, grid.segment_seconds, grid=grid, cancel=cancel)
        return read.features

    # --- text tower --------------------------------------------------------------------
    def encode_text(self, prompts: list[str]) -> np.ndarray:
        """Prompts -> float32 ``[n, dim]``, L2-normalised (the tokenizer works offline)."""
        import torch

        if self._tokenizer is None:
            try:
                self._tokenizer = import_open_clip().get_tokenizer(self.weights.model_name)
            except Exception as e:  # noqa: BLE001 - an HF tokenizer missing from the cache
                raise FeatureError(f"no tokenizer for {self.weights.model_name} on this computer: {e}") from e
        tokens = self._tokenizer(list(prompts)).to(self.device)  # [n, context]
        with torch.inference_mode():
            emb = self.model.encode_text(tokens)
            return torch.nn.functional.normalize(emb.float(), dim=-1).cpu().numpy()

    def _probe_dim(self) -> int:
        import torch

        with torch.inference_mode():
            dummy = np.zeros((1, *self.image_size, 3), dtype=np.uint8)
            return int(self.model.encode_image(self.preprocess(dummy)).shape[-1])


@contextlib.contextmanager
def _quiet_open_clip():
    """Drop open_clip's "No pretrained weights loaded" root-logger warning: we load the
    weights ourselves right after creating the model (or chose a random init on purpose)."""
    def keep(record: logging.LogRecord) -> bool:
        return not str(record.msg).startswith("No pretrained weights loaded")

    root = logging.getLogger()
    root.addFilter(keep)
    try:
        yield
    finally:
        root.removeFilter(keep)


def _load_weights(model, path) -> None:
    """Load a state dict safely (see weights.load_state_dict), then adapt it as open_clip's
    ``load_checkpoint`` does (format conversions, position-embedding resizing), strictly."""
    open_clip = import_open_clip()
    from open_clip import model as oc_model
    from open_clip.factory import convert_state_dict

    state = load_state_dict(path)
    try:
        state = convert_state_dict(model, state)
        if "positional_embedding" in state and not hasattr(model, "positional_embedding"):
            state = oc_model.convert_to_custom_text_state_dict(state)
        for key in ("logit_scale", "logit_bias"):
            mine = getattr(model, key, None)
            if key in state and mine is not None and mine.ndim != state[key].ndim:
                state[key] = state[key].reshape(mine.shape)
        if "logit_bias" not in state and getattr(model, "logit_bias", None) is not None:
            import torch

            state["logit_bias"] = torch.zeros_like(state["logit_scale"])
        state.pop("text.transformer.embeddings.position_ids", None)
        oc_model.resize_pos_embed(state, model)
        oc_model.resize_text_pos_embed(state, model)
        model.load_state_dict(state, strict=True)
    except (RuntimeError, KeyError, ValueError) as e:
        short = str(e).splitlines()[0][:300]
        raise FeatureError(f"{os.path.basename(str(path))} does not hold weights for this CLIP model "
                           f"({short}); check the model name (open_clip {open_clip.__version__})") from e

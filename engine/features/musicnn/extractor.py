"""``MusicnnExtractor``: musicnn's penultimate embedding and 50 tags, per segment.

The feature vector fed to the downstream model (``dim = 400``) is, per segment,
``concat(mean, max)`` over the segment's patches of musicnn's *penultimate* layer (the
200-d batch-normalised dense layer right before the tag logits):

- the penultimate layer is the richest representation that is still compact and was
  trained to be linearly predictive of genre, instrument and mood tags; the 50 tag
  probabilities are a linear read-out of it (plus a sigmoid), so appending them would add
  little, and the 753-d pooled front/mid-end maps are larger and less semantic;
- the mean describes the segment as a whole, the max keeps short salient events (a vocal
  entry, a drum fill) that a mean over two or three patches would blur.

The mean sigmoid tag probabilities per segment are returned too (``tags``, with
``tag_names``) for genre labels and the GUI; they are not part of ``features``.

Patches are musicnn's 3 s (187 frames) inputs cut from the whole track once, every
``hop_frames`` frames (default 187: no overlap, as musicnn's own extractor, which halves
the cost of a 1.5 s hop) plus one flush with the end, then pooled per segment by patch
centre (:mod:`.pooling`). Audio shorter than one patch is repeat-padded, as in musicnn's
training. The ``id`` names model, pooling, hop and preprocessing version.
"""

from __future__ import annotations

import os

import numpy as np
import torch

from engine.features.base import FeatureError
from engine.jobs import CancelCheck, Job, Progress, check_cancel, run
from engine.media.grid import SegmentGrid

from . import preprocess as pre
from .network import PENULTIMATE
from .output import MusicnnOutput
from .pooling import assign_patches, patch_centres, pool_mean, pool_mean_max
from .tags import labels_for
from .weights import load_pretrained

PREPROCESS_VERSION = "v1"
"""Bump when the preprocessing or pooling changes in a way that changes outputs."""


class MusicnnExtractor:
    """musicnn (Pons & Serra) in PyTorch, from the TF checkpoints of ``musicnn==0.1.0``.

    Raises :class:`FeatureError` at construction when the weights are not installed (the
    message says to run ``pip install --no-deps musicnn==0.1.0`` or ``make setup``).
    """

    modality = "music"
    sample_rate = pre.SAMPLE_RATE
    """Rate (Hz) of the mono samples :meth:`analyse_job` reads."""

    def __init__(self, model: str = "MTT_musicnn", device: str = "cpu",
                 weights_dir: str | os.PathLike[str] | None = None, *,
                 hop_frames: int = pre.PATCH_FRAMES, batch_size: int = 8) -> None:
        if hop_frames < 1 or batch_size < 1:
            raise ValueError("hop_frames and batch_size must be at least 1")
        self.model_name = model
        self.hop_frames = int(hop_frames)
        self.batch_size = int(batch_size)
        try:
            self.device = torch.device(device)
        except RuntimeError as exc:
            raise FeatureError(f"unknown device {device!r}: {exc}") from exc
        self.net = load_pretrained(model, weights_dir).to(self.device)
        self.tag_names: list[str] = list(labels_for(model))
        self.dim = 2 * PENULTIMATE
        self.id = f"musicnn:{model}:pen-meanmax:hop{self.hop_frames}:{PREPROCESS_VERSION}"

    def __repr__(self) -> str:
        return f"MusicnnExtractor({self.id!r}, device={str(self.device)!r})"

    # --- jobs ---------------------------------------------------------------------------

    def extract(self, path: str | os.PathLike[str], grid: SegmentGrid,
                cancel: CancelCheck | None = None) -> Job[np.ndarray]:
        """Decode ``path`` and return float32 ``[len(grid), dim]`` as the job's result."""
        out = yield from self.extract_with_tags(path, grid, cancel=cancel)
        return out.features

    def extract_with_tags(self, path: str | os.PathLike[str], grid: SegmentGrid,
                          cancel: CancelCheck | None = None) -> Job[MusicnnOutput]:
        """Like :meth:`extract`, returning features, tag probabilities and tag names
        (decoded by the one analysis pass, :func:`engine.analysis.read.read_media`)."""
        from engine.analysis.read import read_media

        read = yield from read_media(path, self, grid.segment_seconds, grid=grid, cancel=cancel)
        return MusicnnOutput(read.features, read.tags, list(read.tag_names))

    def analyse_audio(self, samples: np.ndarray, grid: SegmentGrid) -> MusicnnOutput:
        """Features and tags for float32 mono 16 kHz ``samples`` (synchronous)."""
        return run(self.analyse_job(samples, grid))

    def analyse_job(self, samples: np.ndarray, grid: SegmentGrid,
                    cancel: CancelCheck | None = None) -> Job[MusicnnOutput]:
        """:meth:`analyse_audio` as a job: progress per batch of patches, cancellable."""
        samples = np.asarray(samples, dtype=np.float32)
        if samples.ndim != 1 or samples.size == 0:
            raise ValueError(f"expected non-empty mono samples [n], got shape {samples.shape}")
        # Audio past the grid's end has no segment to go to: not embedded.
        keep = int(np.ceil(grid.duration * pre.SAMPLE_RATE)) + pre.N_FFT
        rep = pre.repeat_pad(pre.log_mel(samples[:keep]))  # [F >= 187, 96]
        starts = pre.patch_starts(len(rep), self.hop_frames)  # [P]
        n = len(starts)
        pen = np.empty((n, PENULTIMATE), dtype=np.float32)
        tags = np.empty((n, len(self.tag_names)), dtype=np.float32)
        yield Progress("embed", 0, n)
        for b0 in range(0, n, self.batch_size):
            check_cancel(cancel)
            b1 = min(n, b0 + self.batch_size)
            pen[b0:b1], tags[b0:b1] = self._infer(pre.make_patches(rep, starts[b0:b1]))
            yield Progress("embed", b1, n)
        groups = assign_patches(grid, patch_centres(starts))
        return MusicnnOutput(pool_mean_max(pen, groups), pool_mean(tags, groups), list(self.tag_names))

    def patch_outputs(self, patches: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Run the network on ``[P, 187, 96]`` patches: (penultimate [P, 200], taggram [P, 50])."""
        patches = np.asarray(patches, dtype=np.float32)
        if patches.ndim != 3 or patches.shape[1:] != (pre.PATCH_FRAMES, pre.N_MELS):
            raise ValueError(f"expected patches [P, {pre.PATCH_FRAMES}, {pre.N_MELS}], got {patches.shape}")
        outs = [self._infer(patches[i:i + self.batch_size]) for i in range(0, len(patches), self.batch_size)]
        return (np.concatenate([o[0] for o in outs]), np.concatenate([o[1] for o in outs]))

    def _infer(self, patches: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        x = torch.from_numpy(patches).to(self.device)  # [B, 187, 96]
        with torch.inference_mode():
            out = self.net(x)
            return out.penultimate.float().cpu().numpy(), out.taggram.float().cpu().numpy()


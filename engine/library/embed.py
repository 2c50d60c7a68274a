"""``embed(catalog, loaded_model, checkpoint_id, kind)``: contextualised vectors from stored
base features (a job). No media file is opened: changing the checkpoint re-embeds the
whole library from the catalog, even with the media drive unplugged.

For each ok item of ``kind`` that has the checkpoint's base features (extractor id and
segment length from the checkpoint's config) and no vectors under ``checkpoint_id`` yet,
the item's tower (music → f_m, footage → f_v) reads the whole sequence in windows of L
segments (:meth:`engine.model.checkpoint.LoadedModel.encode_many`): one unit vector per segment and the
[CLS] track vector. Items are embedded in batches; each batch is one transaction. With
``index_dir`` the segment and track indexes are rebuilt afterwards.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from engine.jobs import CancelCheck, Job, Progress, check_cancel

from .catalog import Catalog
from .records import modality_of

BATCH_ITEMS = 32


@dataclass
class EmbedReport:
    checkpoint_id: str
    kind: str
    extractor_id: str
    embedded: int = 0
    """Items embedded in this run."""
    already: int = 0
    """Items that had vectors under this checkpoint already."""
    missing_features: int = 0
    """ok items without the checkpoint's base features: scan them with that extractor."""
    vectors: dict[str, int] = field(default_factory=dict)
    """Vectors per level in the index after the run (when indexes were built)."""


def checkpoint_id(loaded_or_dir) -> str:
    """A stable id for a checkpoint: its folder name and a hash of its weights file (the loaded
    model keeps it: :attr:`engine.model.checkpoint.LoadedModel.checkpoint_id`)."""
    from engine.model.checkpoint import checkpoint_id_of

    if hasattr(loaded_or_dir, "checkpoint_id"):
        return loaded_or_dir.checkpoint_id
    return checkpoint_id_of(Path(getattr(loaded_or_dir, "path", loaded_or_dir)))


def embed(catalog: Catalog, loaded_model, checkpoint_id: str, kind: str, cancel: CancelCheck | None = None, *,
          index_dir: str | os.PathLike[str] | None = None, batch_items: int = BATCH_ITEMS) -> Job[EmbedReport]:
    """Embed every ready item of ``kind`` with ``loaded_model`` (see module doc)."""
    modality = modality_of(kind)
    cfg = loaded_model.config
    extractor_id = cfg.music_id if modality == "music" else cfg.visual_id
    segment_seconds = float(cfg.segment_seconds)
    out_dim = int(cfg.model.out_dim)
    catalog.register_checkpoint(checkpoint_id, dim=out_dim, path=str(getattr(loaded_model, "path", "")),
                                visual_id=cfg.visual_id, music_id=cfg.music_id, segment_seconds=segment_seconds)
    todo, missing = catalog.items_to_embed(checkpoint_id, kind, extractor_id, segment_seconds)
    report = EmbedReport(checkpoint_id, kind, extractor_id, missing_features=missing)
    report.already = catalog.status_counts(kind)["ok"] - missing - len(todo)
    total = len(todo)
    yield Progress("embed", 0, total, f"{total} {kind} items to embed with {checkpoint_id}")
    for b in range(0, total, batch_items):
        check_cancel(cancel)
        batch = []
        for item_id, processed_at in todo[b:b + batch_items]:
            feats = catalog.base_features(item_id, extractor_id)
            if feats is not None and len(feats):
                batch.append((item_id, processed_at, feats))
        if batch:
            outs = loaded_model.encode_many(modality, [x for _, _, x in batch])
            rows = [(item_id, t, o.segments, o.cls) for (item_id, t, _), o in zip(batch, outs, strict=True)]
            report.embedded += catalog.put_embeddings(checkpoint_id, kind, rows)
        yield Progress("embed", min(total, b + batch_items), total)
    if index_dir is not None:
        from .index import load_or_rebuild

        for level in ("segment", "track"):
            check_cancel(cancel)
            yield Progress("index", 0, None, f"building the {kind} {level} index")
            report.vectors[level] = len(load_or_rebuild(catalog, checkpoint_id, kind, level, index_dir))
    return report

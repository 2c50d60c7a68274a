"""The library: the catalog (SQLite), scanning of music and footage folders in isolated
worker processes, embedding with a model checkpoint from stored base features, and the
vector index (faiss)::

    from engine.jobs import run
    from engine.library import Library

    with Library() as lib:
        run(lib.scan("~/Music", "music"))
        run(lib.embed(load_checkpoint(ckpt), "music"))
        scores, ids = lib.index(ck_id, "music", "segment").search(query_vectors, k=10)
        items, segments = unpack_ids(ids)

Importing this package is light (sqlite3, numpy): faiss and torch load on use.
"""

from .catalog import Catalog
from .embed import EmbedReport, checkpoint_id, embed
from .facade import Library
from .index import IndexCorrupt, VectorIndex, load_or_rebuild
from .records import (
    Attribute,
    EmbeddingSet,
    Folder,
    IndexRecord,
    Item,
    Tags,
    modality_of,
    pack_ids,
    unpack_ids,
)
from .scan import ScanReport, scan
from .schema import SCHEMA_VERSION, CatalogError

__all__ = [
    "Attribute", "Catalog", "CatalogError", "EmbedReport", "EmbeddingSet", "Folder", "IndexCorrupt",
    "IndexRecord", "Item", "Library", "SCHEMA_VERSION", "ScanReport", "Tags", "VectorIndex", "checkpoint_id",
    "embed", "load_or_rebuild", "modality_of", "pack_ids", "scan", "unpack_ids",
]

"""The catalog's SQLite schema, as an ordered list of migrations.

``PRAGMA user_version`` holds the number of migrations applied. Opening a catalog applies
the missing ones in one transaction each, so a catalog written by an older build is
upgraded in place, and a crash during an upgrade leaves the previous version intact.
A catalog written by a *newer* build (``user_version`` above what this build knows) is
refused rather than guessed at.

Tables (version 1):

``meta``         small key/value facts (e.g. the id an extractor name resolved to)
``folders``      a registered library folder and its kind (``music`` or ``footage``)
``items``        one media file: identity (path, size, mtime, content hash), what the file
                 says (duration, title, artist), and ``status`` ``ok``/``failed`` + error.
                 ``processed_at``/``process_count`` record when and how often it was
                 decoded, so "work already done is not redone" can be checked.
``segments``     the segment grid of an ok item (index, start, end)
``features``     base features per (item, extractor id): ``[T, dim]`` float16 blobs, the
                 source of truth for re-embedding without decoding
``tags``         per-segment tag probabilities (musicnn) and their names
``checkpoints``  models whose embeddings are stored (id, dims, feature ids)
``embeddings``   per (item, checkpoint): ``[T, d]`` contextualised segment vectors and the
                 ``[d]`` track (CLS) vector
``generations``  a counter per (checkpoint, kind), bumped by triggers on every change to
                 ``embeddings``, so an index built from generation g is known stale at g+1
``indexes``      the vector index files built from the embeddings: file name, dimension,
                 count, checksum and the generation they were built from
``attributes``   attribute vectors (name, checkpoint, modality, vector, JSON meta)

Version 2 adds:

``rhythm``       per music item: its :class:`~engine.rhythm.music.MusicRhythm` as JSON
                 (tempo, beats, downbeats, sections, energy, ending) and the analysis
                 ``version`` it was made with; a row older than
                 :data:`~engine.rhythm.music.RHYTHM_VERSION` is redone by the next scan
                 (the audio is decoded again, the features are not recomputed)
"""

from __future__ import annotations

import sqlite3

MIGRATIONS: tuple[str, ...] = (
    # --- 1 -----------------------------------------------------------------------------------
    """
    CREATE TABLE meta (
        key    TEXT PRIMARY KEY,
        value  TEXT NOT NULL
    );
    CREATE TABLE folders (
        id        INTEGER PRIMARY KEY,
        path      TEXT NOT NULL UNIQUE,
        kind      TEXT NOT NULL CHECK (kind IN ('music', 'footage')),
        added_at  REAL NOT NULL
    );
    CREATE TABLE items (
        id              INTEGER PRIMARY KEY,
        folder_id       INTEGER NOT NULL REFERENCES folders(id) ON DELETE CASCADE,
        kind            TEXT NOT NULL CHECK (kind IN ('music', 'footage')),
        path            TEXT NOT NULL UNIQUE,
        size            INTEGER NOT NULL,
        mtime_ns        INTEGER NOT NULL,
        content_hash    TEXT,
        duration        REAL,
        title           TEXT,
        artist          TEXT,
        status          TEXT NOT NULL CHECK (status IN ('ok', 'failed')),
        error           TEXT,
        extractor_id    TEXT NOT NULL,
        segment_seconds REAL NOT NULL,
        processed_at    REAL NOT NULL,
        process_count   INTEGER NOT NULL DEFAULT 1
    );
    CREATE INDEX items_kind_status ON items(kind, status);
    CREATE INDEX items_folder ON items(folder_id);
    CREATE INDEX items_hash ON items(content_hash);
    CREATE TABLE segments (
        item_id  INTEGER NOT NULL REFERENCES items(id) ON DELETE CASCADE,
        idx      INTEGER NOT NULL,
        start    REAL NOT NULL,
        end      REAL NOT NULL,
        PRIMARY KEY (item_id, idx)
    ) WITHOUT ROWID;
    CREATE TABLE features (
        item_id          INTEGER NOT NULL REFERENCES items(id) ON DELETE CASCADE,
        extractor_id     TEXT NOT NULL,
        segment_seconds  REAL NOT NULL,
        rows             INTEGER NOT NULL,
        dim              INTEGER NOT NULL,
        dtype            TEXT NOT NULL,
        data             BLOB NOT NULL,
        PRIMARY KEY (item_id, extractor_id)
    );
    CREATE TABLE tags (
        item_id       INTEGER PRIMARY KEY REFERENCES items(id) ON DELETE CASCADE,
        extractor_id  TEXT NOT NULL,
        names         TEXT NOT NULL,
        rows          INTEGER NOT NULL,
        dim           INTEGER NOT NULL,
        data          BLOB NOT NULL
    );
    CREATE TABLE checkpoints (
        id               TEXT PRIMARY KEY,
        path             TEXT,
        dim              INTEGER NOT NULL,
        visual_id        TEXT,
        music_id         TEXT,
        segment_seconds  REAL,
        added_at         REAL NOT NULL
    );
    CREATE TABLE embeddings (
        item_id        INTEGER NOT NULL REFERENCES items(id) ON DELETE CASCADE,
        checkpoint_id  TEXT NOT NULL,
        kind           TEXT NOT NULL,
        rows           INTEGER NOT NULL,
        dim            INTEGER NOT NULL,
        dtype          TEXT NOT NULL,
        segments       BLOB NOT NULL,
        track          BLOB NOT NULL,
        PRIMARY KEY (checkpoint_id, item_id)
    );
    CREATE INDEX embeddings_kind ON embeddings(checkpoint_id, kind);
    CREATE TABLE generations (
        checkpoint_id  TEXT NOT NULL,
        kind           TEXT NOT NULL,
        generation     INTEGER NOT NULL,
        PRIMARY KEY (checkpoint_id, kind)
    );
    CREATE TRIGGER embeddings_ins AFTER INSERT ON embeddings BEGIN
        INSERT INTO generations VALUES (NEW.checkpoint_id, NEW.kind, 1)
        ON CONFLICT(checkpoint_id, kind) DO UPDATE SET generation = generation + 1;
    END;
    CREATE TRIGGER embeddings_del AFTER DELETE ON embeddings BEGIN
        INSERT INTO generations VALUES (OLD.checkpoint_id, OLD.kind, 1)
        ON CONFLICT(checkpoint_id, kind) DO UPDATE SET generation = generation + 1;
    END;
    CREATE TRIGGER embeddings_upd AFTER UPDATE ON embeddings BEGIN
        INSERT INTO generations VALUES (NEW.checkpoint_id, NEW.kind, 1)
        ON CONFLICT(checkpoint_id, kind) DO UPDATE SET generation = generation + 1;
    END;
    CREATE TABLE indexes (
        checkpoint_id  TEXT NOT NULL,
        kind           TEXT NOT NULL,
        level          TEXT NOT NULL CHECK (level IN ('segment', 'track')),
        file           TEXT NOT NULL,
        index_type     TEXT NOT NULL,
        dim            INTEGER NOT NULL,
        count          INTEGER NOT NULL,
        checksum       TEXT NOT NULL,
        generation     INTEGER NOT NULL,
        built_at       REAL NOT NULL,
        PRIMARY KEY (checkpoint_id, kind, level)
    );
    CREATE TABLE attributes (
        name           TEXT NOT NULL,
        checkpoint_id  TEXT NOT NULL,
        modality       TEXT NOT NULL CHECK (modality IN ('visual', 'music')),
        dim            INTEGER NOT NULL,
        vector         BLOB NOT NULL,
        meta           TEXT NOT NULL,
        created_at     REAL NOT NULL,
        PRIMARY KEY (name, checkpoint_id)
    );
    """,
    # --- 2 -----------------------------------------------------------------------------------
    """
    CREATE TABLE rhythm (
        item_id      INTEGER PRIMARY KEY REFERENCES items(id) ON DELETE CASCADE,
        version      INTEGER NOT NULL,
        data         TEXT NOT NULL,
        computed_at  REAL NOT NULL
    );
    """,
)

SCHEMA_VERSION = len(MIGRATIONS)


class CatalogError(Exception):
    """The catalog file cannot be used (newer format, damaged). The message says what to do."""


def migrate(conn: sqlite3.Connection, path: str) -> int:
    """Bring the schema at ``conn`` up to :data:`SCHEMA_VERSION`; returns the version found."""
    found = int(conn.execute("PRAGMA user_version").fetchone()[0])
    if found > SCHEMA_VERSION:
        raise CatalogError(f"{path}: this library catalog was written by a newer MVPT Desktop "
                           f"(schema {found}, this build reads up to {SCHEMA_VERSION}); update the app "
                           "or choose another data folder")
    for version in range(found, SCHEMA_VERSION):
        # executescript() commits first, so run the statements one by one in our transaction.
        conn.execute("BEGIN IMMEDIATE")
        try:
            current = int(conn.execute("PRAGMA user_version").fetchone()[0])
            if current != version:  # another process migrated meanwhile
                conn.execute("ROLLBACK")
                continue
            for stmt in _statements(MIGRATIONS[version]):
                conn.execute(stmt)
            conn.execute(f"PRAGMA user_version = {version + 1}")
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
    return found


def _statements(script: str) -> list[str]:
    """Split a script into complete statements (triggers hold ``;`` inside BEGIN ... END)."""
    out: list[str] = []
    buf = ""
    for line in script.splitlines(keepends=True):
        buf += line
        if sqlite3.complete_statement(buf):
            if buf.strip():
                out.append(buf.strip())
            buf = ""
    if buf.strip():
        raise ValueError(f"incomplete SQL statement in migration: {buf[:80]!r}")
    return out

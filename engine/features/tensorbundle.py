"""A minimal reader of TensorFlow checkpoints (the TensorBundle format), without TensorFlow.

A TF checkpoint ``<prefix>`` is two files:

- ``<prefix>.index``: an SSTable (the LevelDB table format) whose keys are variable names
  and whose values are ``BundleEntryProto`` messages (dtype, shape, shard, offset, size,
  crc32c). The entry under the empty key is a ``BundleHeaderProto`` (shards, endianness).
- ``<prefix>.data-00000-of-0000N``: the raw tensors, back to back, in C order.

We parse just enough of both (protobuf varints by hand, uncompressed blocks) to load the
small float checkpoints that ship with musicnn, and we check every checksum on the way:
the block CRCs of the table and each tensor's CRC32C. Anything unexpected is a
:class:`~engine.features.base.FeatureError` that names the file. Nothing here executes
code from the checkpoint (no pickle, no graph).
"""

from __future__ import annotations

import os
import struct
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from engine.features.base import FeatureError

_TABLE_MAGIC = 0xDB4775248B80FB57
_FOOTER_SIZE = 48  # two padded BlockHandles (2 * 20 bytes) + 8-byte magic

# TensorFlow DataType enum (types.proto) -> numpy little-endian dtype.
_DTYPES: dict[int, np.dtype] = {
    1: np.dtype("<f4"), 2: np.dtype("<f8"), 3: np.dtype("<i4"), 4: np.dtype("u1"),
    5: np.dtype("<i2"), 6: np.dtype("i1"), 9: np.dtype("<i8"), 10: np.dtype("?"),
    17: np.dtype("<u2"), 19: np.dtype("<f2"), 22: np.dtype("<u4"), 23: np.dtype("<u8"),
}


# --- CRC32C (Castagnoli), vectorised with numpy ------------------------------------------

def _make_table() -> np.ndarray:
    table = np.zeros(256, dtype=np.uint32)
    for i in range(256):
        c = i
        for _ in range(8):
            c = (c >> 1) ^ 0x82F63B78 if c & 1 else c >> 1
        table[i] = c
    return table


_CRC_TABLE = _make_table()
_CRC_LIST = [int(v) for v in _CRC_TABLE]
_CHUNK = 256  # bytes per independent lane in the vectorised CRC


def _raw_update(reg: int, data: bytes) -> int:
    """The CRC register after feeding ``data`` (no pre/post inversion)."""
    t = _CRC_LIST
    for b in data:
        reg = t[(reg ^ b) & 0xFF] ^ (reg >> 8)
    return reg


def _shift_tables(n: int) -> list[list[int]]:
    """Byte tables of the linear map "feed ``n`` zero bytes" on the 32-bit register."""
    basis = [_raw_update(1 << k, bytes(n)) for k in range(32)]
    tables = []
    for byte_pos in range(4):
        tab = [0] * 256
        for v in range(1, 256):
            low = v & -v
            tab[v] = tab[v ^ low] ^ basis[8 * byte_pos + low.bit_length() - 1]
        tables.append(tab)
    return tables


_SHIFT = _shift_tables(_CHUNK)


def crc32c(data: bytes | memoryview) -> int:
    """CRC32C of ``data``. Long inputs are cut into lanes hashed in parallel by numpy and
    combined with the (linear) zero-byte shift, so a 1 MB tensor takes milliseconds."""
    buf = np.frombuffer(data, dtype=np.uint8)
    n_lanes = len(buf) // _CHUNK
    if n_lanes < 4:
        return _raw_update(0xFFFFFFFF, bytes(buf)) ^ 0xFFFFFFFF
    lanes = buf[: n_lanes * _CHUNK].reshape(n_lanes, _CHUNK)  # [L, CHUNK]
    regs = np.zeros(n_lanes, dtype=np.uint32)
    regs[0] = 0xFFFFFFFF  # the standard initial value enters with the first lane only
    for j in range(_CHUNK):
        regs = _CRC_TABLE[(regs ^ lanes[:, j]) & 0xFF] ^ (regs >> np.uint32(8))
    s0, s1, s2, s3 = _SHIFT
    reg = 0
    for r in regs.tolist():
        reg = s0[reg & 0xFF] ^ s1[(reg >> 8) & 0xFF] ^ s2[(reg >> 16) & 0xFF] ^ s3[reg >> 24] ^ r
    reg = _raw_update(reg, bytes(buf[n_lanes * _CHUNK:]))
    return reg ^ 0xFFFFFFFF


def _unmask(masked: int) -> int:
    rot = (masked - 0xA282EAD8) & 0xFFFFFFFF
    return ((rot >> 17) | (rot << 15)) & 0xFFFFFFFF


# --- protobuf wire format -----------------------------------------------------------------

def _varint(buf: bytes, pos: int) -> tuple[int, int]:
    result = shift = 0
    while True:
        if pos >= len(buf) or shift > 63:
            raise ValueError("truncated or overlong varint")
        b = buf[pos]
        pos += 1
        result |= (b & 0x7F) << shift
        if not b & 0x80:
            return result, pos
        shift += 7


def _fields(msg: bytes) -> list[tuple[int, int | bytes]]:
    """(field number, value) pairs of a protobuf message; value is int or bytes."""
    out: list[tuple[int, int | bytes]] = []
    pos = 0
    while pos < len(msg):
        key, pos = _varint(msg, pos)
        field, wire = key >> 3, key & 7
        if wire == 0:
            value, pos = _varint(msg, pos)
        elif wire == 1:
            value, pos = int.from_bytes(msg[pos:pos + 8], "little"), pos + 8
        elif wire == 2:
            length, pos = _varint(msg, pos)
            value, pos = msg[pos:pos + length], pos + length
        elif wire == 5:
            value, pos = int.from_bytes(msg[pos:pos + 4], "little"), pos + 4
        else:
            raise ValueError(f"unsupported protobuf wire type {wire}")
        if pos > len(msg):
            raise ValueError("truncated protobuf message")
        out.append((field, value))
    return out


@dataclass(frozen=True)
class TensorEntry:
    """Where one tensor lives in the data shards (a parsed ``BundleEntryProto``)."""
    name: str
    dtype: np.dtype
    shape: tuple[int, ...]
    shard_id: int
    offset: int
    size: int
    crc32c: int | None
    sliced: bool


def _parse_entry(name: str, msg: bytes) -> TensorEntry:
    dtype_code, shape, shard, offset, size, crc, sliced = 0, [], 0, 0, 0, None, False
    for field, value in _fields(msg):
        if field == 1:
            dtype_code = int(value)  # type: ignore[arg-type]
        elif field == 2:
            assert isinstance(value, bytes)
            for f2, dim in _fields(value):
                if f2 == 2:  # TensorShapeProto.dim -> Dim.size (field 1)
                    assert isinstance(dim, bytes)
                    shape.append(next((int(v) for f3, v in _fields(dim) if f3 == 1), 0))  # type: ignore[arg-type]
                elif f2 == 3 and value:  # unknown_rank
                    raise ValueError("tensor of unknown rank")
        elif field == 3:
            shard = int(value)  # type: ignore[arg-type]
        elif field == 4:
            offset = int(value)  # type: ignore[arg-type]
        elif field == 5:
            size = int(value)  # type: ignore[arg-type]
        elif field == 6:
            crc = int(value)  # type: ignore[arg-type]
        elif field == 7:
            sliced = True
    dtype = _DTYPES.get(dtype_code, np.dtype("V1"))
    return TensorEntry(name, dtype, tuple(shape), shard, offset, size, crc, sliced)


# --- SSTable ------------------------------------------------------------------------------

def _read_block(data: bytes, offset: int, size: int) -> bytes:
    """The contents of one table block, after checking its type byte and masked CRC."""
    end = offset + size
    if offset < 0 or end + 5 > len(data):
        raise ValueError("block handle points outside the file")
    contents, kind = data[offset:end], data[end]
    (stored,) = struct.unpack_from("<I", data, end + 1)
    if crc32c(data[offset:end + 1]) != _unmask(stored):
        raise ValueError("block checksum mismatch")
    if kind != 0:
        raise ValueError(f"compressed table blocks (type {kind}) are not supported")
    return contents


def _block_entries(block: bytes) -> list[tuple[bytes, bytes]]:
    """Key/value pairs of one block (prefix-compressed keys, restart array at the end)."""
    if len(block) < 4:
        raise ValueError("block too short")
    (n_restarts,) = struct.unpack_from("<I", block, len(block) - 4)
    limit = len(block) - 4 - 4 * n_restarts
    if limit < 0:
        raise ValueError("bad restart count")
    entries: list[tuple[bytes, bytes]] = []
    key = b""
    pos = 0
    while pos < limit:
        shared, pos = _varint(block, pos)
        non_shared, pos = _varint(block, pos)
        value_len, pos = _varint(block, pos)
        if shared > len(key) or pos + non_shared + value_len > limit:
            raise ValueError("bad block entry")
        key = key[:shared] + block[pos:pos + non_shared]
        pos += non_shared
        entries.append((key, block[pos:pos + value_len]))
        pos += value_len
    return entries


def _read_table(data: bytes) -> list[tuple[bytes, bytes]]:
    if len(data) < _FOOTER_SIZE:
        raise ValueError("file too short for a table footer")
    footer = data[-_FOOTER_SIZE:]
    if int.from_bytes(footer[-8:], "little") != _TABLE_MAGIC:
        raise ValueError("not an SSTable (bad magic number)")
    _, pos = _varint(footer, 0)  # metaindex offset
    _, pos = _varint(footer, pos)  # metaindex size
    index_offset, pos = _varint(footer, pos)
    index_size, _ = _varint(footer, pos)
    entries: list[tuple[bytes, bytes]] = []
    for _, handle in _block_entries(_read_block(data, index_offset, index_size)):
        offset, p = _varint(handle, 0)
        size, _ = _varint(handle, p)
        entries.extend(_block_entries(_read_block(data, offset, size)))
    return entries


# --- the bundle ---------------------------------------------------------------------------

class TensorBundle:
    """Read-only access to the tensors of one TF checkpoint.

    ``prefix`` is the checkpoint prefix (``.../model.ckpt``) or a directory whose files are
    ``.index`` and ``.data-*`` (how musicnn ships them: the prefix is ``"<dir>/"``).
    """

    def __init__(self, prefix: str | os.PathLike[str]) -> None:
        p = str(prefix)
        if os.path.isdir(p):
            p = os.path.join(p, "")
        self.prefix = p
        index_path = Path(p + ".index")
        try:
            raw = index_path.read_bytes()
        except FileNotFoundError:
            raise FeatureError(f"TensorFlow checkpoint not found: {index_path} is missing") from None
        except OSError as exc:
            raise FeatureError(f"cannot read the checkpoint index {index_path}: {exc}") from exc
        try:
            table = _read_table(raw)
            self.num_shards = 1
            self.entries: dict[str, TensorEntry] = {}
            for key, value in table:
                if key == b"":
                    self._check_header(value)
                else:
                    name = key.decode("utf-8")
                    self.entries[name] = _parse_entry(name, value)
        except (ValueError, UnicodeDecodeError, struct.error, AssertionError) as exc:
            raise FeatureError(f"corrupt checkpoint index {index_path}: {exc}. "
                               "Reinstall the weights.") from exc
        self._shards: dict[int, bytes] = {}

    def _check_header(self, msg: bytes) -> None:
        for field, value in _fields(msg):
            if field == 1:
                self.num_shards = int(value)  # type: ignore[arg-type]
            elif field == 2 and value != 0:
                raise ValueError("big-endian checkpoints are not supported")

    def __contains__(self, name: object) -> bool:
        return name in self.entries

    def keys(self) -> list[str]:
        return sorted(self.entries)

    def _shard(self, shard_id: int) -> bytes:
        if shard_id not in self._shards:
            path = Path(f"{self.prefix}.data-{shard_id:05d}-of-{self.num_shards:05d}")
            try:
                self._shards[shard_id] = path.read_bytes()
            except FileNotFoundError:
                raise FeatureError(f"TensorFlow checkpoint is incomplete: {path} is missing") from None
            except OSError as exc:
                raise FeatureError(f"cannot read checkpoint data {path}: {exc}") from exc
        return self._shards[shard_id]

    def get(self, name: str, verify: bool = True) -> np.ndarray:
        """The tensor ``name`` as a fresh native-endian numpy array of its stored shape."""
        entry = self.entries.get(name)
        if entry is None:
            raise FeatureError(f"checkpoint {self.prefix!r} has no tensor named {name!r}")
        where = f"tensor {name!r} in checkpoint {self.prefix!r}"
        if entry.sliced:
            raise FeatureError(f"{where} is partitioned into slices, which is not supported")
        if entry.dtype.kind == "V":
            raise FeatureError(f"{where} has a data type this reader does not support")
        count = int(np.prod(entry.shape, dtype=np.int64))
        if entry.size != count * entry.dtype.itemsize or entry.shard_id >= self.num_shards:
            raise FeatureError(f"corrupt {where}: its size does not match its shape")
        shard = self._shard(entry.shard_id)
        if entry.offset + entry.size > len(shard):
            raise FeatureError(f"corrupt {where}: the data file is truncated")
        raw = memoryview(shard)[entry.offset:entry.offset + entry.size]
        if verify and entry.crc32c is not None and crc32c(raw) != _unmask(entry.crc32c):
            raise FeatureError(f"corrupt {where}: checksum mismatch. Reinstall the weights.")
        return np.frombuffer(raw, dtype=entry.dtype).astype(entry.dtype.newbyteorder("="))\
            .reshape(entry.shape)

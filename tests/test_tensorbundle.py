"""The TensorBundle reader, on checkpoints written here byte by byte and on musicnn's own."""

from __future__ import annotations

import importlib.util
import os
import struct
from pathlib import Path

import numpy as np
import pytest

from engine.features.base import FeatureError
from engine.features.tensorbundle import TensorBundle, _raw_update, crc32c


def _mask(crc: int) -> int:
    return ((((crc >> 15) | (crc << 17)) & 0xFFFFFFFF) + 0xA282EAD8) & 0xFFFFFFFF


def _varint(n: int) -> bytes:
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        out.append(b | (0x80 if n else 0))
        if not n:
            return bytes(out)


def _field(num: int, value: int | bytes) -> bytes:
    if isinstance(value, bytes):
        return _varint(num << 3 | 2) + _varint(len(value)) + value
    return _varint(num << 3) + _varint(value)


def _block(entries: list[tuple[bytes, bytes]]) -> bytes:
    """A table block with prefix-compressed keys and one restart point."""
    out, prev = bytearray(), b""
    for key, value in entries:
        shared = 0
        while shared < min(len(key), len(prev)) and key[shared] == prev[shared]:
            shared += 1
        out += _varint(shared) + _varint(len(key) - shared) + _varint(len(value))
        out += key[shared:] + value
        prev = key
    return bytes(out) + struct.pack("<II", 0, 1)


def write_bundle(prefix: Path, tensors: dict[str, np.ndarray]) -> None:
    """A minimal TF checkpoint (one data block, an index block, the footer), as TF writes it."""
    data, entries = bytearray(), []
    dtypes = {np.dtype("float32"): 1, np.dtype("int64"): 9}
    for name in sorted(tensors):
        arr = np.array(tensors[name], order="C")  # (ascontiguousarray would make a scalar 1-d)
        raw = arr.astype(arr.dtype.newbyteorder("<")).tobytes()
        shape = b"".join(_field(2, _field(1, d)) for d in arr.shape)
        proto = (_field(1, dtypes[arr.dtype]) + _field(2, shape) + _field(4, len(data))
                 + _field(5, len(raw)) + _varint(6 << 3 | 5) + struct.pack("<I", _mask(crc32c(raw))))
        entries.append((name.encode(), proto))
        data += raw
    header = _field(1, 1) + _field(3, _field(1, 1))
    table = bytearray()

    def add_block(contents: bytes) -> bytes:
        offset = len(table)
        trailer = b"\x00" + struct.pack("<I", _mask(crc32c(contents + b"\x00")))
        table.extend(contents + trailer)
        return _varint(offset) + _varint(len(contents))

    data_handle = add_block(_block([(b"", header)] + entries))
    meta_handle = add_block(_block([]))
    index_handle = add_block(_block([(b"\xff", data_handle)]))
    footer = (meta_handle + index_handle).ljust(40, b"\x00") + struct.pack("<Q", 0xDB4775248B80FB57)
    Path(str(prefix) + ".index").write_bytes(bytes(table) + footer)
    Path(str(prefix) + ".data-00000-of-00001").write_bytes(bytes(data))


@pytest.fixture
def bundle_prefix(tmp_path: Path) -> Path:
    rng = np.random.default_rng(0)
    prefix = tmp_path / "model.ckpt"
    write_bundle(prefix, {
        "dense/kernel": rng.standard_normal((300, 7)).astype(np.float32),
        "dense/bias": rng.standard_normal(7).astype(np.float32),
        "global_step": np.array(1234, dtype=np.int64),
    })
    return prefix


def test_crc32c_known_value_and_lanes_agree_with_bytewise():
    assert crc32c(b"123456789") == 0xE3069283  # the CRC-32C check value
    assert crc32c(b"") == 0
    rng = np.random.default_rng(1)
    for n in (1, 255, 1024, 4096, 4097, 100_003):
        data = rng.integers(0, 256, n, dtype=np.uint8).tobytes()
        assert crc32c(data) == _raw_update(0xFFFFFFFF, data) ^ 0xFFFFFFFF, n


def test_reads_tensors_written_in_tf_layout(bundle_prefix: Path):
    bundle = TensorBundle(bundle_prefix)
    assert bundle.keys() == ["dense/bias", "dense/kernel", "global_step"]
    kernel = bundle.get("dense/kernel")
    rng = np.random.default_rng(0)
    np.testing.assert_array_equal(kernel, rng.standard_normal((300, 7)).astype(np.float32))
    assert kernel.dtype == np.float32 and kernel.flags.writeable
    assert bundle.get("global_step").shape == () and int(bundle.get("global_step")) == 1234
    assert "dense/bias" in bundle and "nope" not in bundle
    with pytest.raises(FeatureError, match="no tensor named 'nope'"):
        bundle.get("nope")


def test_flipped_data_byte_is_a_checksum_error(bundle_prefix: Path):
    data = Path(str(bundle_prefix) + ".data-00000-of-00001")
    raw = bytearray(data.read_bytes())
    raw[100] ^= 0x01  # inside dense/kernel (sorted after dense/bias: 28 bytes)
    data.write_bytes(bytes(raw))
    bundle = TensorBundle(bundle_prefix)
    bundle.get("dense/bias")  # untouched tensor still reads
    with pytest.raises(FeatureError, match="checksum mismatch"):
        bundle.get("dense/kernel")


@pytest.mark.parametrize("damage", ["truncate", "flip", "magic", "empty"])
def test_corrupt_index_is_a_feature_error(bundle_prefix: Path, damage: str):
    index = Path(str(bundle_prefix) + ".index")
    raw = bytearray(index.read_bytes())
    if damage == "truncate":
        raw = raw[: len(raw) // 2]
    elif damage == "flip":
        raw[5] ^= 0x40
    elif damage == "magic":
        raw[-1] ^= 0xFF
    else:
        raw = bytearray()
    index.write_bytes(bytes(raw))
    with pytest.raises(FeatureError, match="corrupt checkpoint index"):
        TensorBundle(bundle_prefix)


def test_missing_files_name_the_file(bundle_prefix: Path, tmp_path: Path):
    with pytest.raises(FeatureError, match="nothing.index"):
        TensorBundle(tmp_path / "nothing")
    os.remove(str(bundle_prefix) + ".data-00000-of-00001")
    bundle = TensorBundle(bundle_prefix)  # the index alone opens
    with pytest.raises(FeatureError, match="incomplete.*data-00000-of-00001"):
        bundle.get("dense/bias")


def test_truncated_data_file(bundle_prefix: Path):
    data = Path(str(bundle_prefix) + ".data-00000-of-00001")
    data.write_bytes(data.read_bytes()[:50])
    with pytest.raises(FeatureError, match="truncated"):
        TensorBundle(bundle_prefix).get("dense/kernel")


def _musicnn_dir() -> Path | None:
    spec = importlib.util.find_spec("musicnn")
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations)))


@pytest.mark.skipif(_musicnn_dir() is None, reason="musicnn weights not installed "
                    "(pip install --no-deps musicnn==0.1.0)")
def test_reads_musicnn_checkpoint_with_all_checksums():
    bundle = TensorBundle(_musicnn_dir() / "MTT_musicnn")  # a directory: files ".index", ".data-*"
    assert bundle.entries["conv2d/kernel"].shape == (7, 38, 1, 204)
    assert bundle.entries["conv2d_5/kernel"].shape == (7, 561, 1, 64)
    assert bundle.entries["dense/kernel"].shape == (1506, 200)
    for name in bundle.keys():  # every tensor, Adam slots included, passes its CRC32C
        assert np.all(np.isfinite(bundle.get(name)))

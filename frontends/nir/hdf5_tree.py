"""Read the HDF5 tree of a ``.nir`` file into plain values, checking every object first.

This module runs inside the reader's child process (:mod:`.isolation`), so it
imports only the standard library, numpy and h5py, never neurocc: the child
executes this file by path and stays cheap to start. Requests (a path) and
replies cross pipes as length-prefixed pickles; replies hold plain types only:
nested ``dict`` (groups), ``str`` (text), numpy numbers and arrays, and object
arrays of ``str`` (text arrays).
Problems are returned as ``(where, what, hint)`` triples, where ``where`` is
the HDF5 path of the object; the parent turns them into ``FrontendError``.

Every dataset is checked before it is read: a corrupted header can declare a
dataset far larger than the file, and reading it would allocate that much (or
decompress for a very long time). Links other than hard links are refused: an
external link would read a file the user did not name.
"""

from __future__ import annotations

import os
import pickle
import struct
import sys
from typing import IO, Any

import h5py
import numpy as np

MAX_DEPTH = 64  # nested groups; each nested NIRGraph adds two ("nodes", then its name)
MAX_OBJECTS = 100_000  # groups and datasets visited; hard links can form cycles or diamonds
MAX_DATASET_ELEMENTS = 2**30  # even in a large file, more elements than any chip holds
MAX_DATASET_BYTES = 2**32  # 4 GiB, after decompression
MAX_COMPRESSION_RATIO = 1032  # deflate's largest ratio; stored bytes can be this much smaller
NUMERIC_KINDS = "biuf"  # bool, signed, unsigned, float: what numpy arrays in NIR hold
ROOT_GROUP = "node"
VERSION_DATASET = "version"
CHILD_RUN_NAME = "__neurocc_nir_child__"  # __name__ when the child runs this file by path
FRAME = struct.Struct(">Q")  # the length prefix of every message between parent and child

Problem = tuple[str, str, str]  # (where: HDF5 path, what, hint)
HINT_REWRITE = "Write the model again with nir.write; a damaged copy cannot be repaired."


class TreeError(Exception):
    """A problem at one object of the file (only inside this module and its child)."""

    def __init__(self, where: str, what: str, hint: str = HINT_REWRITE) -> None:
        super().__init__(where, what, hint)
        self.problem: Problem = (where, what, hint)


class _Budget:
    """What the whole read may still use: objects, and bytes read across all datasets."""

    def __init__(self, file_bytes: int) -> None:
        self.file_bytes = file_bytes
        self.objects = MAX_OBJECTS
        self.bytes = min(MAX_DATASET_BYTES, file_bytes * MAX_COMPRESSION_RATIO)


def read_file(path: str) -> tuple[str | None, dict[str, Any]]:
    """(version string or None, tree of the root group 'node'); raises :class:`TreeError`."""
    budget = _Budget(os.path.getsize(path))
    try:
        handle = h5py.File(path, "r")
    except Exception as exc:  # h5py raises OSError, but corrupted superblocks give others too
        raise TreeError("/", f"is not a readable NIR file (HDF5 cannot open it: "
                        f"{_describe(exc)}).") from exc
    with handle:
        version = _read_version(handle, budget)
        root = _child(handle, ROOT_GROUP, "/" + ROOT_GROUP)
        if not isinstance(root, h5py.Group):
            raise TreeError("/" + ROOT_GROUP, "is missing or not a group, so the file holds "
                            "no NIR graph.")
        return version, _read_group(root, "/" + ROOT_GROUP, 1, budget)


def _read_version(handle: h5py.File, budget: _Budget) -> str | None:
    where = "/" + VERSION_DATASET
    item = _child(handle, VERSION_DATASET, where)
    if item is None:
        return None
    value = _read_dataset(item, where, budget) if isinstance(item, h5py.Dataset) else None
    if not isinstance(value, str):
        raise TreeError(where, "is not a text dataset, so the NIR version (which decides the "
                        "reset semantics) is unknown.")
    return value


def _child(group: h5py.Group, key: str, where: str) -> h5py.Group | h5py.Dataset | None:
    """The object a hard link names, None if absent; other links are refused."""
    try:
        link = group.get(key, getlink=True)
        if link is None:
            return None
        if not isinstance(link, h5py.HardLink):
            raise TreeError(where, f"is a {type(link).__name__}; NIR files hold hard links only.")
        return group[key]
    except TreeError:
        raise
    except Exception as exc:
        raise TreeError(where, f"cannot be opened ({_describe(exc)}).") from exc


def _read_group(group: h5py.Group, where: str, depth: int, budget: _Budget) -> dict[str, Any]:
    if depth > MAX_DEPTH:
        raise TreeError(where, f"is nested {depth} groups deep (limit {MAX_DEPTH}), which no "
                        "NIR writer produces (a link cycle?).")
    tree: dict[str, Any] = {}
    for key in _keys(group, where):
        path = f"{where}/{key}"
        budget.objects -= 1
        if budget.objects < 0:
            raise TreeError(path, f"exceeds {MAX_OBJECTS} objects in one file (a link cycle?).")
        item = _child(group, key, path)
        if isinstance(item, h5py.Group):
            tree[key] = _read_group(item, path, depth + 1, budget)
        elif isinstance(item, h5py.Dataset):
            tree[key] = _read_dataset(item, path, budget)
        else:
            raise TreeError(path, f"is a {type(item).__name__}, not a group or dataset.")
    return tree


def _keys(group: h5py.Group, where: str) -> list[str]:
    try:
        keys = list(group.keys())
    except Exception as exc:
        raise TreeError(where, f"cannot be listed ({_describe(exc)}).") from exc
    return keys


def _read_dataset(dataset: h5py.Dataset, where: str, budget: _Budget) -> Any:
    try:
        check_dataset(dataset, where, budget)
        value = dataset[()]
    except TreeError:
        raise
    except Exception as exc:  # UnicodeDecodeError, OSError, ValueError, ... from the library
        raise TreeError(where, f"cannot be read ({_describe(exc)}).") from exc
    return plain(value, where)


def declared_bytes(dataset: h5py.Dataset) -> int:
    """Bytes the dataset's values take once read, from its header (file type size)."""
    return _elements(dataset.shape) * int(dataset.id.get_type().get_size())


def _elements(shape: tuple[int, ...] | None) -> int:
    return int(np.prod(shape, dtype=object)) if shape else (0 if shape is None else 1)


def check_dataset(dataset: h5py.Dataset, where: str, budget: _Budget) -> None:
    """Refuse a dataset whose header is implausible, before a single value is read."""
    kind = _kind(dataset, where)
    if dataset.shape is None:
        raise TreeError(where, "has an empty dataspace (no value at all).")
    elements, size = _elements(dataset.shape), declared_bytes(dataset)
    filtered = dataset.id.get_create_plist().get_nfilters() > 0  # compressed: may expand
    stored_limit = budget.file_bytes * (MAX_COMPRESSION_RATIO if filtered else 1)
    limit = min(MAX_DATASET_BYTES, stored_limit, budget.bytes)
    if elements > MAX_DATASET_ELEMENTS or size > limit:
        raise TreeError(where, f"declares {elements} {kind} values ({size} bytes) in a file of "
                        f"{budget.file_bytes} bytes (limit here {limit} bytes), so its header "
                        "is corrupted.")
    budget.bytes -= size


def _kind(dataset: h5py.Dataset, where: str) -> str:
    """'text' or 'numeric'; other HDF5 types (compound, complex, references) are refused."""
    dtype = dataset.dtype
    if dtype.kind == "S" or (dtype.kind == "O" and h5py.check_string_dtype(dtype) is not None):
        return "text"
    if dtype.kind in NUMERIC_KINDS and dtype.shape == ():
        return "numeric"
    raise TreeError(where, f"has the HDF5 type {dtype}, which NIR does not use (numbers and "
                    "text only).")


def plain(value: Any, where: str) -> Any:
    """A read value as a picklable plain value; text is decoded as strict UTF-8."""
    if isinstance(value, bytes | str):
        return _decode(value, where)
    array = np.asarray(value)
    if array.dtype.kind in "SOU":
        return np.array([_decode(v, where) for v in array.reshape(-1)],
                        dtype=object).reshape(array.shape)
    if array.dtype.kind not in NUMERIC_KINDS:
        raise TreeError(where, f"holds values of type {array.dtype}, not numbers or text.")
    return value


def _decode(value: Any, where: str) -> str:
    if isinstance(value, str):
        return value
    if not isinstance(value, bytes):
        raise TreeError(where, f"holds a {type(value).__name__} among its text values.")
    try:
        return value.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise TreeError(where, f"holds text that is not UTF-8 (byte {exc.start}: "
                        f"{value[exc.start:exc.start + 1]!r}).") from exc


def _describe(exc: BaseException) -> str:
    text = str(exc).strip() or "no message"
    return f"{type(exc).__name__}: {text[:300]}"


def serve(requests: IO[bytes], replies: IO[bytes]) -> None:
    """The child's loop: announce readiness, then answer one path after another.

    A reply is ``("ok", version, tree)`` or ``("error", where, what, hint)``;
    the loop ends when the parent closes ``requests``.
    """
    send(replies, ("ready",))
    while (path := receive(requests)) is not None:
        try:
            outcome: tuple[Any, ...] = ("ok", *read_file(path))
        except TreeError as exc:
            outcome = ("error", *exc.problem)
        except RecursionError:
            outcome = ("error", "/", "nests objects too deeply to read.", HINT_REWRITE)
        except Exception as exc:  # whatever a corrupted file provokes: report, keep serving
            outcome = ("error", "/", f"made the reader fail ({_describe(exc)}).", HINT_REWRITE)
        send(replies, outcome)


def send(stream: IO[bytes], message: Any) -> None:
    """One message: its pickle's length (8 bytes, big-endian), then the pickle."""
    data = pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL)
    stream.write(FRAME.pack(len(data)) + data)
    stream.flush()


def receive(stream: IO[bytes]) -> Any:
    """The next message, or None when the other side has closed the stream."""
    header = stream.read(FRAME.size)
    if len(header) < FRAME.size:
        return None
    return pickle.loads(stream.read(FRAME.unpack(header)[0]))


def _main() -> None:
    # Replies go to a private copy of fd 1; fd 1 itself is pointed at stderr, so a
    # library that prints cannot garble them.
    replies = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)
    serve(sys.stdin.buffer, replies)


if __name__ == CHILD_RUN_NAME:
    _main()

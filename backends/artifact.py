"""The artifact: a directory a user can version, ship and simulate.

Layout (format version :data:`FORMAT_VERSION`)::

    DIR/manifest.json     format version, target, family, source hash, graph description,
                          pass history, resources, family layout, checksums of the files below
    DIR/graph.npz         the float graph after the passes (what the reference engine runs)
    DIR/<section>.npz     one file per backend section (for example ``loihi.npz``: per-core
                          integer parameters)

Writing is atomic (a temporary sibling directory renamed into place), so a
failed compile leaves nothing behind, and deterministic (fixed zip
timestamps, sorted keys), so the same model, target and seed give identical
bytes.

Format 2 stores each array at its narrowest exact dtype (integers at the
smallest integer type holding their range, float64 as float32 where every
value survives the round trip) and deflates an array only where a sample
shows it pays; the manifest lists the in-memory dtype of every narrowed
array, and reading widens them back, so readers see what was written. Each
file is read once: its SHA-256 is checked on the bytes that are then parsed.

``write_artifact`` and ``read_artifact`` take ``progress=True`` for a tqdm bar over the
bytes (off by default: a tqdm bar creates a multiprocessing lock); it changes no byte.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import math
import os
import shutil
import struct
import tempfile
import zipfile
import zlib
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from tqdm import tqdm

from neurocc.compiler.errors import ArtifactError
from neurocc.compiler.graph import Graph
from neurocc.compiler.serialize import graph_from_parts, graph_to_parts

FORMAT_VERSION = 2
# Format 1 (everything int64/float64 and deflated) reads as format 2 without narrowed arrays
READABLE_VERSIONS = (1, 2)
MANIFEST_NAME = "manifest.json"
GRAPH_SECTION = "graph"
_ZIP_EPOCH = (1980, 1, 1, 0, 0, 0)  # fixed timestamp: byte-identical archives
# Compression is decided per array from zlib level 1 on a sample: float64 weights with random
# mantissas (trained ones) shrink 4 % yet took 12 s per 128 MB at zlib's default level (6)
_DEFLATE_LEVEL = 1
_MIN_SAVING = 0.10  # store uncompressed when deflate saves less than this fraction
_SAMPLE_BLOCKS = 8
_SAMPLE_BLOCK_BYTES = 16 * 1024
# a member is written (and deflated) in slices of this size: its compressed form is never
# held whole (deflate's output does not depend on how its input is sliced)
_WRITE_BLOCK_BYTES = 16 * 2**20
_LOCAL_HEADER = struct.Struct("<4s22xHH")  # zip local file header: signature .. name, extra
_LOCAL_SIGNATURE = b"PK\x03\x04"
_NPY_HEADER_MAX = 65536 + 16  # .npy 1.0 headers are at most 65535 bytes plus the preamble
# narrowest first; unsigned before signed of a size, as counts and indices are never negative
_INTEGER_TYPES = (np.uint8, np.int8, np.uint16, np.int16, np.uint32, np.int32)
_INTEGER_DTYPES = tuple(np.dtype(t) for t in _INTEGER_TYPES)
# (min, max) of each, computed once rather than per array
_INTEGER_BOUNDS = {np.dtype(t): (int(np.iinfo(t).min), int(np.iinfo(t).max))
                   for t in _INTEGER_TYPES}


@dataclass(frozen=True, eq=False)
class Artifact:
    """A compiled network: the float graph plus the backend's sections and layout.

    ``layout`` is the family's JSON-able description (cores, placement,
    resources, report); ``sections`` maps a section name to its arrays.
    """

    target: str
    family: str
    graph: Graph
    layout: Mapping[str, Any] = field(default_factory=dict)
    sections: Mapping[str, Mapping[str, np.ndarray]] = field(default_factory=dict)
    path: Path | None = None


def to_jsonable(value: Any) -> Any:
    """Numpy scalars and arrays, tuples and paths as plain JSON types."""
    if isinstance(value, Mapping):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [to_jsonable(v) for v in value]
    if isinstance(value, np.ndarray):
        return to_jsonable(value.tolist())
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, Path):
        return str(value)
    return value


def npz_bytes(arrays: Mapping[str, np.ndarray]) -> bytes:
    """An ``.npz`` archive of ``arrays`` with sorted names and fixed timestamps."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name in sorted(arrays):
            member = io.BytesIO()
            np.lib.format.write_array(member, np.asarray(arrays[name], order="C"),
                                      allow_pickle=False)
            info = zipfile.ZipInfo(f"{name}.npy", date_time=_ZIP_EPOCH)
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, member.getvalue())
    return buffer.getvalue()


def _narrow_integers(array: np.ndarray) -> np.ndarray:
    """``array`` at the smallest integer dtype holding its min and max (itself if none is)."""
    low, high = int(array.min()), int(array.max())
    for dtype in _INTEGER_DTYPES:
        if dtype.itemsize >= array.dtype.itemsize:
            return array
        lowest, highest = _INTEGER_BOUNDS[dtype]
        if lowest <= low and high <= highest:
            return array.astype(dtype)
    return array


def _narrow_float64(array: np.ndarray) -> np.ndarray:
    """``array`` as float32 when every value round-trips exactly (NaN never compares equal)."""
    head = array.reshape(-1)[:1024]
    if not np.array_equal(head.astype(np.float32), head):  # cheap early exit for trained weights
        return array
    single = array.astype(np.float32)
    return single if np.array_equal(single, array) else array


def narrowest(array: np.ndarray) -> np.ndarray:
    """``array`` at its narrowest exact storage dtype (bool and empty arrays as they are)."""
    if array.size == 0:
        return array
    if array.dtype.kind in "iu":
        return _narrow_integers(array)
    if array.dtype == np.float64:
        return _narrow_float64(array)
    return array


def _npy_header(array: np.ndarray) -> bytes:
    header = io.BytesIO()
    np.lib.format.write_array_header_1_0(header, np.lib.format.header_data_from_array_1_0(array))
    return header.getvalue()


def _sample(header: bytes, payload: memoryview) -> bytes:
    """The member's bytes when small, else evenly spaced blocks of its data (deterministic)."""
    if len(payload) <= _SAMPLE_BLOCKS * _SAMPLE_BLOCK_BYTES:
        return header + bytes(payload)
    stride = (len(payload) - _SAMPLE_BLOCK_BYTES) // (_SAMPLE_BLOCKS - 1)
    return b"".join(payload[i * stride:i * stride + _SAMPLE_BLOCK_BYTES]
                    for i in range(_SAMPLE_BLOCKS))


def _deflate_pays(header: bytes, payload: memoryview) -> bool:
    sample = _sample(header, payload)
    return len(zlib.compress(sample, _DEFLATE_LEVEL)) <= (1 - _MIN_SAVING) * len(sample)


def _write_member(archive: zipfile.ZipFile, name: str, array: np.ndarray) -> None:
    """One ``.npy`` member: deflated at a fast level where it pays, else stored."""
    if array.dtype.hasobject:
        raise ArtifactError(name, f"holds Python objects ({array.dtype}).",
                            "Store numeric arrays only; objects belong in the layout (JSON).")
    array = np.asarray(array, order="C")  # keeps 0-d arrays 0-d, unlike ascontiguousarray
    header = _npy_header(array)
    payload = memoryview(array.reshape(-1).view(np.uint8).data)
    info = zipfile.ZipInfo(name, date_time=_ZIP_EPOCH)
    info.compress_type = zipfile.ZIP_STORED
    if _deflate_pays(header, payload):
        # what ZipFile.writestr sets (Python 3.11), without joining the bytes into one copy
        info.compress_type = zipfile.ZIP_DEFLATED
        info._compresslevel = _DEFLATE_LEVEL  # type: ignore[attr-defined]  # writestr sets it
    info.file_size = len(header) + len(payload)  # decides zip64 before the first byte
    with archive.open(info, "w") as member:  # streamed: no copy of a large array
        member.write(header)
        for start in range(0, len(payload), _WRITE_BLOCK_BYTES):
            member.write(payload[start:start + _WRITE_BLOCK_BYTES])


Advance = Callable[[int], object]  # a progress bar's update: bytes done


def write_npz(path: Path, arrays: Mapping[str, np.ndarray], advance: Advance | None = None
              ) -> tuple[str, dict[str, str]]:
    """Write ``arrays`` as an artifact ``.npz``; returns its SHA-256 and the narrowed dtypes.

    The dtypes map an array name to the dtype it had in memory, for the
    arrays stored narrower (see :func:`narrowest`). ``advance`` gets each array's
    in-memory size once it is written.
    """
    narrowed: dict[str, str] = {}
    with path.open("wb") as handle, zipfile.ZipFile(handle, "w") as archive:
        for name in sorted(arrays):
            array = np.asarray(arrays[name])
            stored = narrowest(array)
            if stored.dtype != array.dtype:
                narrowed[name] = array.dtype.name
            _write_member(archive, f"{name}.npy", stored)
            del stored  # a narrowed copy goes before the next array is narrowed
            if advance is not None:
                advance(array.nbytes)
    with path.open("rb") as stored_file:  # the bytes as stored, not as meant to be
        digest = hashlib.file_digest(stored_file, "sha256").hexdigest()
    return digest, narrowed


def _read_checked(path: Path, digest: str) -> bytes:
    """The bytes of ``path``, read once and checked against the manifest's SHA-256."""
    damaged = ArtifactError(str(path), "is missing or does not match its checksum in the "
                            "manifest.", "Compile the model again.")
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise damaged from exc
    if hashlib.sha256(data).hexdigest() != digest:
        raise damaged
    return data


def _stored_data_offset(data: bytes, info: zipfile.ZipInfo) -> int:
    """Where a stored member's bytes start: after its local header (name and extra vary)."""
    header = data[info.header_offset:info.header_offset + _LOCAL_HEADER.size]
    signature, name_length, extra_length = _LOCAL_HEADER.unpack(header)
    if signature != _LOCAL_SIGNATURE:
        raise zipfile.BadZipFile(f"no local header for {info.filename}")
    return info.header_offset + _LOCAL_HEADER.size + name_length + extra_length


def _stored_array(data: bytes, info: zipfile.ZipInfo, dtype: str | None) -> np.ndarray:
    """A stored member parsed in place: one copy out of ``data``, no CRC pass.

    The SHA-256 of the whole file already covers these bytes; zipfile would
    copy them in 256 kB chunks and CRC them again.
    """
    start = _stored_data_offset(data, info)
    header = io.BytesIO(data[start:start + min(info.file_size, _NPY_HEADER_MAX)])
    major, _ = np.lib.format.read_magic(header)
    read_header = (np.lib.format.read_array_header_1_0 if major == 1
                   else np.lib.format.read_array_header_2_0)
    shape, fortran_order, stored = read_header(header)
    if fortran_order or stored.hasobject:
        raise ValueError(f"{info.filename} is not a C-order numeric array")
    flat = np.frombuffer(data, stored, math.prod(shape), offset=start + header.tell())
    return flat.astype(dtype or stored).reshape(shape)  # astype copies: writable, aligned


def _member_array(archive: zipfile.ZipFile, data: bytes, info: zipfile.ZipInfo,
                  dtype: str | None) -> np.ndarray:
    """One member, widened to ``dtype`` when it was stored narrower."""
    if info.compress_type == zipfile.ZIP_STORED:
        return _stored_array(data, info, dtype)
    with archive.open(info) as member:
        array = np.lib.format.read_array(member, allow_pickle=False)
    return array.astype(dtype) if dtype else array


def parse_npz(data: bytes, where: str, narrowed: Mapping[str, str],
              advance: Advance | None = None) -> dict[str, np.ndarray]:
    """The arrays of an artifact ``.npz`` held in ``data``, narrowed ones widened back;
    ``advance`` gets each member's size in the file once it is parsed."""
    arrays = {}
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:  # BytesIO shares ``data``
            for info in archive.infolist():
                name = info.filename.removesuffix(".npy")
                arrays[name] = _member_array(archive, data, info, narrowed.get(name))
                if advance is not None:
                    advance(info.compress_size)
    except (OSError, ValueError, struct.error, zipfile.BadZipFile) as exc:
        raise ArtifactError(where, f"cannot be read ({exc}).",
                            "Compile the model again to rebuild the artifact.") from exc
    return arrays


@contextlib.contextmanager
def staged_directory(target: Path) -> Iterator[Path]:
    """A temporary sibling of ``target`` to write into: renamed to ``target`` (replacing an
    earlier one) when the block succeeds, removed when it fails, so nothing is half-written."""
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=target.parent))
    try:
        yield staging
        if target.exists():
            shutil.rmtree(target)
        os.replace(staging, target)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _bar(progress: bool, total: int, desc: str) -> contextlib.AbstractContextManager[Any]:
    """A tqdm bar over ``total`` bytes, or nothing (the bar never touches the data)."""
    if not progress:
        return contextlib.nullcontext()
    return tqdm(total=total, desc=desc, unit="B", unit_scale=True, unit_divisor=1024)


def write_artifact(artifact: Artifact, directory: str | os.PathLike[str], *,
                   progress: bool = False) -> Path:
    """Write ``artifact`` to ``directory`` atomically; replaces an earlier artifact there.
    ``progress`` shows a bar over the arrays' bytes (the files are the same without)."""
    target = Path(directory)
    if target.exists() and not (target / MANIFEST_NAME).exists() and any(target.iterdir()):
        raise ArtifactError(str(target), "exists and is not an artifact directory.",
                            "Choose an empty or new output directory.")
    description, graph_arrays = graph_to_parts(artifact.graph)
    parts: dict[str, Mapping[str, np.ndarray]] = {f"{GRAPH_SECTION}.npz": graph_arrays}
    parts.update({f"{name}.npz": arrays for name, arrays in artifact.sections.items()})
    total = sum(int(np.asarray(a).nbytes) for arrays in parts.values() for a in arrays.values())
    with staged_directory(target) as staging, _bar(progress, total, "write artifact") as bar:
        digests, narrowed = {}, {}
        for name, arrays in sorted(parts.items()):
            digests[name], narrowed[name] = (write_npz(staging / name, arrays) if bar is None
                                             else write_npz(staging / name, arrays, bar.update))
        manifest = {
            "format_version": FORMAT_VERSION,
            "target": artifact.target,
            "family": artifact.family,
            "graph": description,
            "layout": artifact.layout,
            "sections": sorted(artifact.sections),
            "files": digests,
            "narrowed": {name: dtypes for name, dtypes in narrowed.items() if dtypes},
        }
        (staging / MANIFEST_NAME).write_text(
            json.dumps(to_jsonable(manifest), indent=2, sort_keys=True) + "\n")
    return target


def read_manifest(directory: str | os.PathLike[str]) -> dict[str, Any]:
    """The manifest of the artifact in ``directory``, checked for its format version."""
    path = Path(directory) / MANIFEST_NAME
    if not path.is_file():
        raise ArtifactError(str(directory), "is not an artifact (no manifest.json).",
                            "Create one with `neurocc compile MODEL --target NAME -o DIR`.")
    try:
        manifest = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise ArtifactError(str(path), f"is not valid JSON ({exc}).",
                            "Compile the model again.") from exc
    version = manifest.get("format_version")
    if version not in READABLE_VERSIONS:
        raise ArtifactError(str(path), f"has format version {version!r}; this neurocc reads "
                            f"versions {', '.join(map(str, READABLE_VERSIONS))}.",
                            "Compile the model again with this neurocc.")
    return manifest


def _load_npz(root: Path, manifest: Mapping[str, Any], section: str,
              advance: Advance | None = None) -> dict[str, np.ndarray]:
    """The arrays of ``section``'s file, checked against the manifest, narrowed ones widened
    (``advance``: the file's bytes, member by member, then its headers)."""
    name = f"{section}.npz"
    digest = manifest["files"].get(name, "not listed")
    data = _read_checked(root / name, digest)
    done = [0]

    def parsed(n: int) -> None:
        done[0] += n
        if advance is not None:
            advance(n)
    arrays = parse_npz(data, str(root / name), manifest.get("narrowed", {}).get(name, {}),
                       parsed)
    parsed(len(data) - done[0])
    return arrays


def read_artifact(directory: str | os.PathLike[str], *, progress: bool = False) -> Artifact:
    """Load and check the artifact in ``directory`` (``progress``: a bar over its files'
    bytes)."""
    root = Path(directory)
    manifest = read_manifest(root)
    names = [GRAPH_SECTION, *manifest["sections"]]
    total = sum((root / f"{n}.npz").stat().st_size for n in names
                if (root / f"{n}.npz").is_file())
    with _bar(progress, total, "read artifact") as bar:
        # one file at a time, each dropped once parsed: the graph copies its arrays
        advance = None if bar is None else bar.update
        graph = graph_from_parts(manifest["graph"],
                                 _load_npz(root, manifest, GRAPH_SECTION, advance))
        sections = {name: _load_npz(root, manifest, name, advance)
                    for name in manifest["sections"]}
    return Artifact(manifest["target"], manifest["family"], graph, manifest["layout"],
                    sections, root)

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
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import shutil
import tempfile
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from neurocc.compiler.errors import ArtifactError
from neurocc.compiler.graph import Graph
from neurocc.compiler.serialize import graph_from_parts, graph_to_parts

FORMAT_VERSION = 1
MANIFEST_NAME = "manifest.json"
GRAPH_SECTION = "graph"
_ZIP_EPOCH = (1980, 1, 1, 0, 0, 0)  # fixed timestamp: byte-identical archives


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


def _read_npz(path: Path) -> dict[str, np.ndarray]:
    try:
        with np.load(path, allow_pickle=False) as data:
            return {name: data[name] for name in data.files}
    except (OSError, ValueError, zipfile.BadZipFile) as exc:
        raise ArtifactError(str(path), f"cannot be read ({exc}).",
                            "Compile the model again to rebuild the artifact.") from exc


def write_artifact(artifact: Artifact, directory: str | os.PathLike[str]) -> Path:
    """Write ``artifact`` to ``directory`` atomically; replaces an earlier artifact there."""
    target = Path(directory)
    if target.exists() and not (target / MANIFEST_NAME).exists() and any(target.iterdir()):
        raise ArtifactError(str(target), "exists and is not an artifact directory.",
                            "Choose an empty or new output directory.")
    description, graph_arrays = graph_to_parts(artifact.graph)
    files = {f"{GRAPH_SECTION}.npz": npz_bytes(graph_arrays)}
    for name, arrays in artifact.sections.items():
        files[f"{name}.npz"] = npz_bytes(arrays)
    manifest = {
        "format_version": FORMAT_VERSION,
        "target": artifact.target,
        "family": artifact.family,
        "graph": description,
        "layout": artifact.layout,
        "sections": sorted(artifact.sections),
        "files": {name: hashlib.sha256(data).hexdigest() for name, data in sorted(files.items())},
    }
    files[MANIFEST_NAME] = (json.dumps(to_jsonable(manifest), indent=2, sort_keys=True)
                            + "\n").encode()
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=target.parent))
    try:
        for name, data in files.items():
            (staging / name).write_bytes(data)
        if target.exists():
            shutil.rmtree(target)
        os.replace(staging, target)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
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
    if version != FORMAT_VERSION:
        raise ArtifactError(str(path), f"has format version {version!r}; this neurocc reads "
                            f"version {FORMAT_VERSION}.",
                            "Compile the model again with this neurocc.")
    return manifest


def read_artifact(directory: str | os.PathLike[str]) -> Artifact:
    """Load and check the artifact in ``directory``."""
    root = Path(directory)
    manifest = read_manifest(root)
    for name, digest in manifest["files"].items():
        path = root / name
        if not path.is_file() or hashlib.sha256(path.read_bytes()).hexdigest() != digest:
            raise ArtifactError(str(path), "is missing or does not match its checksum in the "
                                "manifest.", "Compile the model again.")
    graph = graph_from_parts(manifest["graph"], _read_npz(root / f"{GRAPH_SECTION}.npz"))
    sections = {name: _read_npz(root / f"{name}.npz") for name in manifest["sections"]}
    return Artifact(manifest["target"], manifest["family"], graph, manifest["layout"],
                    sections, root)

"""Load a ``.nir`` file (or take a ``nir.NIRGraph``) as plain, checked node dicts.

We read the HDF5 tree ourselves instead of calling ``nir.read``: nir 1.0.8
does not pass ``type_check=False`` into nested graphs, asserts on user input
and raises KeyError/TypeError without naming the node, and on some corrupted
files never returns. The tree is read in a child process under a deadline
(:mod:`.isolation`), every dataset checked before it is read
(:mod:`.hdf5_tree`). Every problem becomes a :class:`FrontendError` naming
the file and, where known, the HDF5 object or the node.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import nir
import numpy as np

from neurocc.compiler.errors import FrontendError
from neurocc.frontends.nir.isolation import read_tree, resolve_timeout_s

OBJECT_SOURCE = "<nir.NIRGraph object>"
NESTED_SEPARATOR = "."  # NIR addresses a node inside a subgraph as "graph.node"
PASSTHROUGH = "Passthrough"  # an Input/Output inside a subgraph: an identity hop

# Parameters each supported node type must carry (optional ones have defaults).
REQUIRED_FIELDS: dict[str, tuple[str, ...]] = {
    "Input": ("shape",),
    "Output": ("shape",),
    "NIRGraph": ("nodes", "edges"),
    "Affine": ("weight", "bias"),
    "Linear": ("weight",),
    "Scale": ("scale",),
    "Conv1d": ("weight", "stride", "padding", "dilation", "groups", "bias"),
    "Conv2d": ("weight", "stride", "padding", "dilation", "groups", "bias"),
    "SumPool2d": ("kernel_size", "stride", "padding"),
    "AvgPool2d": ("kernel_size", "stride", "padding"),
    "Flatten": ("start_dim", "end_dim"),
    "Delay": ("delay",),
    "LIF": ("tau", "r", "v_leak", "v_threshold"),
    "CubaLIF": ("tau_syn", "tau_mem", "r", "v_leak", "v_threshold"),
    "IF": ("r", "v_threshold"),
    "LI": ("tau", "r", "v_leak"),
    "I": ("r",),
    "Threshold": ("threshold",),
}
SUPPORTED_TYPES = tuple(sorted(REQUIRED_FIELDS))


@dataclass(frozen=True)
class NirSource:
    """What was loaded: the root graph dict, its version and where it came from."""

    tree: dict[str, Any]
    version: str
    label: str  # the file path, or OBJECT_SOURCE
    sha256: str | None


@dataclass(frozen=True)
class FlatNir:
    """A NIR graph with every subgraph inlined under dotted names."""

    nodes: dict[str, dict[str, Any]]
    edges: list[tuple[str, str]]
    metadata: dict[str, Any]


def load(source: str | os.PathLike[str] | nir.NIRGraph,
         read_timeout_s: float | None = None) -> NirSource:
    """The node tree of a file or graph object, with the version that gives its meaning."""
    if isinstance(source, nir.NIRGraph):
        version = str(source.metadata.get("nir_version", nir.version)) if isinstance(
            source.metadata, Mapping) else nir.version
        return NirSource(source.to_dict(), version, OBJECT_SOURCE, None)
    if isinstance(source, nir.NIRNode):
        raise FrontendError(OBJECT_SOURCE, f"is a single {type(source).__name__} node, not a "
                            "NIRGraph.", "Wrap it with nir.NIRGraph.from_list(node).")
    return _load_file(Path(source), resolve_timeout_s(read_timeout_s))


def _load_file(path: Path, timeout_s: float) -> NirSource:
    if not path.is_file():
        raise FrontendError(str(path), "does not exist or is not a file.",
                            "Check the path of the .nir model.")
    with path.open("rb") as stream:  # in blocks: the file may be large
        digest = hashlib.file_digest(stream, "sha256").hexdigest()
    version, tree = read_tree(path, timeout_s)  # a child process: the deadline holds
    if version is None:
        raise FrontendError(str(path), "has no root dataset 'version', so the reset semantics "
                            "(subtract before NIR 1.0.6, to v_reset after) are unknown.",
                            "Write it with nir.write, or add the dataset 'version'.")
    return NirSource(tree, version, str(path), digest)


def _text(value: Any) -> str:
    return value.decode("utf8") if isinstance(value, bytes) else str(value)


def node_where(label: str, name: str, node: Mapping[str, Any]) -> str:
    """The location of one node in messages: file, node name and type."""
    return f"{label}, node '{name}' ({node.get('type', '?')})"


def check_node(label: str, name: str, node: Any) -> None:
    """Raise unless ``node`` is a supported node dict with all required parameters."""
    if not isinstance(node, Mapping) or "type" not in node:
        raise FrontendError(f"{label}, node '{name}'", "has no 'type' entry.",
                            "Write the file with nir.write.")
    kind = node["type"]
    if not isinstance(kind, str):
        raise FrontendError(f"{label}, node '{name}'", "has a 'type' entry that is not text.",
                            "Write the file with nir.write.")
    if kind not in REQUIRED_FIELDS:
        raise FrontendError(node_where(label, name, node), f"has the unsupported node type "
                            f"'{kind}'.", f"Supported types: {', '.join(SUPPORTED_TYPES)}.")
    missing = [key for key in REQUIRED_FIELDS[kind] if key not in node]
    if missing:
        raise FrontendError(node_where(label, name, node), f"lacks the parameter(s) {missing}.",
                            f"A {kind} node needs {list(REQUIRED_FIELDS[kind])}.")
    if kind == "NIRGraph" and not isinstance(node["nodes"], Mapping):
        raise FrontendError(node_where(label, name, node), "has 'nodes' that is not a group of "
                            "nodes.", "Write the file with nir.write.")


def flatten(source: NirSource) -> FlatNir:
    """Inline every subgraph; inner Input/Output nodes become identity hops."""
    check_node(source.label, "<root>", source.tree)
    if source.tree["type"] != "NIRGraph":
        raise FrontendError(source.label, f"holds a {source.tree['type']} node at the root, not "
                            "a NIRGraph.", "Wrap the node in a NIRGraph.")
    nodes: dict[str, dict[str, Any]] = {}
    edges: list[tuple[str, str]] = []
    _inline(source.label, source.tree, "", nodes, edges)
    metadata = source.tree.get("metadata", {})
    return FlatNir(nodes, edges, dict(metadata) if isinstance(metadata, Mapping) else {})


def _inline(label: str, graph: Mapping[str, Any], prefix: str,
            nodes: dict[str, dict[str, Any]], edges: list[tuple[str, str]]) -> None:
    children = graph["nodes"]
    for name, child in children.items():
        full = prefix + str(name)
        check_node(label, full, child)
        if child["type"] == "NIRGraph":
            _inline(label, child, full + NESTED_SEPARATOR, nodes, edges)
        elif prefix and child["type"] in ("Input", "Output"):
            nodes[full] = {"type": PASSTHROUGH, "shape": child["shape"], "origin": child["type"]}
        else:
            nodes[full] = dict(child)
    for src, dst in _edge_list(label, prefix, graph["edges"]):
        edges.append((_resolve(label, graph, prefix, src, "Output"),
                      _resolve(label, graph, prefix, dst, "Input")))


def _edge_list(label: str, prefix: str, raw: Any) -> list[tuple[str, str]]:
    array = np.asarray(raw, dtype=object)
    if array.size == 0:
        return []
    if array.ndim != 2 or array.shape[1] != 2:
        raise FrontendError(f"{label}, graph '{prefix or '<root>'}'", f"has edges of shape "
                            f"{array.shape}, expected (n, 2).", "Write the file with nir.write.")
    return [(_text(a), _text(b)) for a, b in array]


def _resolve(label: str, graph: Mapping[str, Any], prefix: str, name: str, port: str) -> str:
    """The flat name an edge end means; a subgraph stands for its single Input/Output."""
    children = graph["nodes"]
    if name in children:
        child = children[name]
        if child["type"] != "NIRGraph":
            return prefix + name
        return _subgraph_port(label, child, prefix + name, port)
    head, sep, rest = name.partition(NESTED_SEPARATOR)
    if sep and head in children and children[head]["type"] == "NIRGraph":
        return _resolve(label, children[head], prefix + head + NESTED_SEPARATOR, rest, port)
    raise FrontendError(f"{label}, graph '{prefix or '<root>'}'", f"has an edge to or from "
                        f"'{name}', which is not a node of this graph.",
                        f"Nodes here: {', '.join(map(str, children))}.")


def _subgraph_port(label: str, graph: Mapping[str, Any], full: str, port: str) -> str:
    ports = [name for name, node in graph["nodes"].items() if node["type"] == port]
    if len(ports) != 1:
        raise FrontendError(f"{label}, subgraph '{full}'", f"is addressed as a whole but has "
                            f"{len(ports)} {port} nodes.",
                            f"Address one port with a dotted name such as '{full}.<{port}>'.")
    return full + NESTED_SEPARATOR + ports[0]

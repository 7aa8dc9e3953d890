"""``graph_to_nir`` / ``write_nir``: a :class:`Graph` back to NIR nodes.

Each projection is written from the path record the reader left in its
metadata when re-composing the re-derived parameters gives the same matrix;
otherwise as one Linear/Affine with the dense weight (see the package
docstring for the bias, delay, receptor and reset rules).
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import h5py
import nir
import numpy as np
import scipy.sparse as sp

from neurocc.compiler.errors import FrontendError
from neurocc.compiler.graph import Graph, Population, Projection
from neurocc.compiler.neurons import RESET_SUBTRACT, RESET_TO_VALUE
from neurocc.frontends.nir.lowering import (
    FEEDBACK_DELAY_STEPS,
    NEURON_LOWERINGS,
    RECEPTOR_METADATA_KEY,
    back_edges,
)
from neurocc.frontends.nir.maps import (
    Context,
    ConvGeometry,
    Matrix,
    conv_padding,
    identity,
    pool_matrix,
    size_of,
)
from neurocc.frontends.nir.versions import LEGACY_WRITE_VERSION

MATCH_RTOL = 1e-12  # re-derived pool/conv kernels may differ from the matrix by rounding
WEIGHTED_TYPES = ("Affine", "Linear", "Scale", "Conv1d", "Conv2d")
VALUE_PRESERVING = ("Flatten", "Delay")  # identity matrices: allowed after the weighted node
FIXED_TYPES = ("Flatten", "Delay", "SumPool2d", "AvgPool2d")
LEGACY_RESET_TYPES = ("LIF", "IF", "CubaLIF")
NIR_TYPE_OF_MODEL = {spec.model: kind for kind, spec in NEURON_LOWERINGS.items()}
PORT_MODELS = ("input", "output")  # written as NIR Input and Output nodes


@dataclass
class Spec:
    """One NIR node to create: its name, type and constructor arguments."""

    name: str
    kind: str
    args: dict[str, Any]


@dataclass
class Plan:
    """The nodes of one projection's path and which of them may carry the target bias."""

    projection: Projection
    specs: list[Spec]
    carrier: int | None = None  # index of the weighted node; its output is the target's domain


# -- small helpers ------------------------------------------------------------------------
def _dense(matrix: Matrix) -> np.ndarray:
    return matrix.toarray() if sp.issparse(matrix) else np.asarray(matrix)


def _same(a: Matrix, b: Matrix) -> bool:
    if tuple(a.shape) != tuple(b.shape):
        return False
    diff = sp.csr_array(a) - sp.csr_array(b)
    scale = max(float(np.abs(sp.csr_array(b).data).max(initial=0.0)),
                float(np.finfo(float).tiny))
    return float(np.abs(diff.data).max(initial=0.0)) <= MATCH_RTOL * scale


def _values_at(matrix: Matrix, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
    coo = sp.coo_array(matrix)
    keys = coo.row.astype(np.int64) * matrix.shape[1] + coo.col
    order = np.argsort(keys, kind="stable")
    keys, data = keys[order], coo.data[order]
    query = rows.astype(np.int64) * matrix.shape[1] + cols
    pos = np.minimum(np.searchsorted(keys, query), max(len(keys) - 1, 0))
    found = (keys[pos] == query) if len(keys) else np.zeros(len(query), bool)
    return np.where(found, data[pos] if len(keys) else 0.0, 0.0)


def _fixed_matrix(record: Mapping[str, Any]) -> Matrix:
    if record["type"] in ("SumPool2d", "AvgPool2d"):
        return pool_matrix(record, tuple(record["in_shape"]))
    return identity(size_of(tuple(record["in_shape"])))


def _compose(records: Sequence[Mapping[str, Any]], size: int) -> sp.csr_array:
    result = identity(size)
    for record in records:
        result = sp.csr_array(_fixed_matrix(record) @ result)
    return result


# -- re-deriving weighted nodes -------------------------------------------------------
def _conv_geometry(record: Mapping[str, Any]) -> ConvGeometry:
    kernel = tuple(record["kernel_shape"])
    ctx = Context(f"conv '{record['name']}'", 1.0)
    padding = conv_padding(record["padding"], kernel[2:], tuple(record["stride"]),
                           tuple(record["dilation"]), ctx)
    return ConvGeometry(kernel, tuple(record["in_shape"]), tuple(record["stride"]), padding,
                        tuple(record["dilation"]), int(record["groups"]))


def _conv_spec(record: Mapping[str, Any], node_matrix: Matrix) -> tuple[Spec, Matrix]:
    geometry = _conv_geometry(record)
    rows, cols, kidx = geometry.synapses()
    kernel = np.zeros(size_of(geometry.kernel_shape))
    kernel[kidx[::-1]] = _values_at(node_matrix, rows, cols)[::-1]  # first occurrence wins
    kernel = kernel.reshape(geometry.kernel_shape)
    ndim = len(geometry.kernel_shape) - 2
    padding = record["padding"]
    if not isinstance(padding, str):
        padding = padding[0] if ndim == 1 else tuple(np.broadcast_to(padding, (2,)).tolist())
    args = {"input_shape": geometry.in_shape[1] if ndim == 1 else geometry.in_shape[1:],
            "weight": kernel, "stride": geometry.stride[0] if ndim == 1 else geometry.stride,
            "padding": padding, "groups": geometry.groups,
            "dilation": geometry.dilation[0] if ndim == 1 else geometry.dilation,
            "bias": np.zeros(geometry.kernel_shape[0])}
    return Spec(record["name"], record["type"], args), geometry.matrix(kernel)


def _weighted_spec(record: Mapping[str, Any], node_matrix: Matrix) -> tuple[Spec, Matrix]:
    kind = record["type"]
    if kind in ("Conv1d", "Conv2d"):
        return _conv_spec(record, node_matrix)
    if kind == "Scale":
        scale = sp.csr_array(node_matrix).diagonal()
        matrix = sp.csr_array(sp.diags(scale, format="csr"))
        return Spec(record["name"], kind, {"scale": scale.reshape(record["out_shape"])}), matrix
    weight = _dense(node_matrix)
    args = {"weight": weight} | ({"bias": np.zeros(weight.shape[0])} if kind == "Affine" else {})
    return Spec(record["name"], kind, args), weight


def _left_inverse(pre: sp.csr_array) -> sp.csr_array | None:
    """Selects one source column per row of a pooling map whose columns do not overlap."""
    coo = sp.coo_array(pre)
    if np.any(np.bincount(coo.col, minlength=pre.shape[1]) > 1):
        return None
    first: dict[int, tuple[int, float]] = {}
    for r, c, v in zip(coo.row.tolist(), coo.col.tolist(), coo.data.tolist(), strict=True):
        first.setdefault(r, (c, v))
    if len(first) != pre.shape[0] or any(v == 0 for _, v in first.values()):
        return None
    rows = np.array(sorted(first))
    cols = np.array([first[r][0] for r in rows])
    values = np.array([1.0 / first[r][1] for r in rows])
    return sp.csr_array((values, (cols, rows)), shape=(pre.shape[1], pre.shape[0]))


def _fixed_spec(record: Mapping[str, Any]) -> Spec:
    kind = record["type"]
    if kind == "Flatten":
        return Spec(record["name"], kind, {"input_type": {"input": np.array(record["in_shape"])},
                                           "start_dim": record["start_dim"],
                                           "end_dim": record["end_dim"]})
    if kind == "Delay":
        return Spec(record["name"], kind, {"delay": np.zeros(record["out_shape"])})
    return Spec(record["name"], kind, {key: np.array(record[key]) for key in
                                       ("kernel_size", "stride", "padding")})


def _structured(proj: Projection, records: list[dict[str, Any]], n_src: int) -> Plan | None:
    """The recorded path with re-derived parameters, or None if it no longer matches."""
    weighted = [i for i, r in enumerate(records) if r["type"] in WEIGHTED_TYPES]
    if len(weighted) > 1 or any(r["type"] not in (*WEIGHTED_TYPES, *FIXED_TYPES)
                                for r in records):
        return None
    if not weighted:
        ok = _same(_compose(records, n_src), proj.weight)
        return Plan(proj, [_fixed_spec(r) for r in records]) if ok else None
    k = weighted[0]
    if any(r["type"] not in VALUE_PRESERVING for r in records[k + 1:]):
        return None
    pre = _compose(records[:k], n_src)
    inverse = _left_inverse(pre)
    if inverse is None or pre.shape[0] != size_of(tuple(records[k]["in_shape"])):
        return None
    spec, node_matrix = _weighted_spec(records[k], sp.csr_array(proj.weight) @ inverse
                                       if proj.is_sparse else _dense(proj.weight) @ inverse)
    if not _same(node_matrix @ pre, proj.weight):
        return None
    specs = [_fixed_spec(r) for r in records[:k]] + [spec] + [_fixed_spec(r)
                                                            for r in records[k + 1:]]
    return Plan(proj, specs, carrier=k)


def _fallback(proj: Projection, name: str) -> Plan:
    return Plan(proj, [Spec(name, "Linear", {"weight": proj.dense_weight()})], carrier=0)


# -- delays -----------------------------------------------------------------------------------
def _effective_delays(proj: Projection, back: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(post, pre, delay) of every synapse with a weight, less the implicit feedback step."""
    post, pre, weight, delays = proj.coo()
    live = weight != 0
    delays = delays[live] - (FEEDBACK_DELAY_STEPS if back else 0)
    if delays.size and delays.min() < 0:
        raise FrontendError(f"projection '{proj.name}' ({proj.source} -> {proj.target})",
                            "closes a cycle without delay, but NIR feedback edges always "
                            "carry one step.", "Give the feedback projection delay_steps >= 1.")
    return post[live], pre[live], delays


def _per_index(index: np.ndarray, delays: np.ndarray, size: int) -> np.ndarray | None:
    low, high = np.full(size, np.iinfo(np.int64).max), np.full(size, -1)
    np.minimum.at(low, index, delays)
    np.maximum.at(high, index, delays)
    if np.any((high >= 0) & (low != high)):
        return None
    return np.where(high >= 0, high, 0)


def _place_delays(plan: Plan, graph: Graph, back: bool, taken: set[str]) -> None:
    proj = plan.projection
    post, pre, delays = _effective_delays(proj, back)
    if not delays.size or not delays.any():
        return
    target, source = graph.populations[proj.target], graph.populations[proj.source]
    for side, pop, index in (("target", target, post), ("source", source, pre)):
        vector = _per_index(index, delays, pop.size)
        if vector is not None:
            _set_delay(plan, side, pop, vector * graph.dt_s, taken)
            return
    raise FrontendError(f"projection '{proj.name}' ({proj.source} -> {proj.target})",
                        "has per-synapse delays that vary by both source and target; a NIR "
                        "Delay node delays whole signals.", "Write the graph before the delays "
                        "pass, or use delays that depend on the source or the target only.")


def _set_delay(plan: Plan, side: str, pop: Population, delay_s: np.ndarray,
               taken: set[str]) -> None:
    """Fill a recorded Delay node in the right domain, or add one next to the population."""
    kinds = [spec.kind for spec in plan.specs]
    for i, kind in enumerate(kinds):
        between = kinds[i + 1:] if side == "target" else kinds[:i]
        if kind == "Delay" and all(k in VALUE_PRESERVING for k in between):
            plan.specs[i].args["delay"] = delay_s.reshape(plan.specs[i].args["delay"].shape)
            return
    name = _unique(f"{plan.projection.name}_delay", taken)
    spec = Spec(name, "Delay", {"delay": delay_s.reshape(pop.shape)})
    plan.specs.insert(len(plan.specs) if side == "target" else 0, spec)
    if side == "source" and plan.carrier is not None:
        plan.carrier += 1


def _unique(base: str, taken: set[str]) -> str:
    name, counter = base, 0
    while name in taken:
        counter += 1
        name = f"{base}_{counter}"
    taken.add(name)
    return name


# -- bias -----------------------------------------------------------------------------------
def _carry_bias(plan: Plan, bias: np.ndarray, pop: Population) -> bool:
    """Put the population's whole bias on this path's weighted node, if it can hold it."""
    if plan.carrier is None:
        return False
    spec = plan.specs[plan.carrier]
    if spec.kind in ("Affine", "Linear"):
        spec.kind, spec.args["bias"] = "Affine", bias.copy()
        return True
    if spec.kind in ("Conv1d", "Conv2d"):
        per_channel = bias.reshape(spec.args["weight"].shape[0], -1)
        if np.all(per_channel == per_channel[:, :1]):
            spec.args["bias"] = per_channel[:, 0].copy()
            return True
    return False


def _assign_bias(graph: Graph, plans: dict[str, Plan], names: set[str]) -> None:
    for pop in graph.populations.values():
        bias = np.asarray(pop.params.get("bias", np.zeros(0)))
        if not bias.any():
            continue
        incoming = [plans[p.name] for p in graph.incoming(pop.name)]
        if not incoming:
            raise FrontendError(f"population '{pop.name}' ({pop.model})", "has a bias but no "
                                "incoming projection; NIR puts biases on Affine nodes.",
                                "Connect it from an input, or fold the bias into v_leak.")
        if not any(_carry_bias(plan, bias, pop) for plan in incoming):
            first = incoming[0]
            fallback = _fallback(first.projection, _unique(first.projection.name, names))
            first.specs[:], first.carrier = fallback.specs, fallback.carrier
            _carry_bias(first, bias, pop)


# -- receptors --------------------------------------------------------------------------------
def _mark_receptor(plan: Plan, names: set[str]) -> None:
    """Name an explicit receptor in the metadata of the path's weighted node (else its last
    node); a neuron feeding a neuron directly gets a Scale of ones to carry it."""
    proj = plan.projection
    if not proj.receptor:
        return
    if not plan.specs:  # only an identity weight leaves no node; Scale(1) reads back the same
        ones = np.ones(proj.shape[0])
        plan.specs.append(Spec(_unique(proj.name, names), "Scale", {"scale": ones}))
    index = plan.carrier if plan.carrier is not None else len(plan.specs) - 1
    plan.specs[index].args["metadata"] = {RECEPTOR_METADATA_KEY: proj.receptor}


# -- populations -------------------------------------------------------------------------------
def _check_expressible(graph: Graph) -> None:
    """Refuse, before writing anything, a population whose model has no NIR node."""
    for pop in graph.populations.values():
        if pop.model not in NIR_TYPE_OF_MODEL and pop.model not in PORT_MODELS:
            raise FrontendError(f"population '{pop.name}' ({pop.model})", f"has the neuron "
                                f"model '{pop.model}', which NIR cannot express (NIR has no "
                                "node for it).", "Keep the graph in neurocc's own form (an "
                                "artifact from `neurocc compile --target ...` stores it "
                                "whole), or build it from NIR-expressible models: "
                                f"{', '.join((*PORT_MODELS, *NIR_TYPE_OF_MODEL))}.")


def _neuron_node(pop: Population) -> nir.NIRNode:
    kind = NIR_TYPE_OF_MODEL[pop.model]
    fields = NEURON_LOWERINGS[kind].fields
    args = {nir_key: np.asarray(pop.params[key]).reshape(pop.shape)
            for key, nir_key in fields.items()}
    return getattr(nir, kind)(**args)


def _population_node(pop: Population) -> nir.NIRNode:
    shape = np.array(pop.shape)
    if pop.model == "input":
        return nir.Input(input_type={"input": shape})
    if pop.model == "output":
        return nir.Output(output_type={"output": shape})
    return _neuron_node(pop)  # _check_expressible refused every other model


def _legacy(graph: Graph) -> bool:
    """True when every resetting population subtracts; a mix cannot be one NIR file."""
    resets = {p.name: p.reset for p in graph.populations.values()
              if p.reset in (RESET_SUBTRACT, RESET_TO_VALUE)}
    if len(set(resets.values())) > 1:
        odd = next(n for n, r in resets.items() if r == RESET_SUBTRACT)
        raise FrontendError(f"population '{odd}'", "resets by subtraction while others reset "
                            "to v_reset; one NIR file has one reset rule (its version).",
                            "Use one reset mode for all populations.")
    return set(resets.values()) == {RESET_SUBTRACT}


# -- assembling the NIR graph ------------------------------------------------------------------
def _plan(proj: Projection, graph: Graph, names: set[str]) -> Plan:
    records = proj.metadata.get("nir", {}).get("chain") if isinstance(
        proj.metadata.get("nir"), Mapping) else None
    n_src = graph.populations[proj.source].size
    plan = _structured(proj, list(records), n_src) if isinstance(records, list) else None
    return plan or _fallback(proj, _unique(proj.name, names))


class _Emitter:
    """Collects nodes (a repeated name with equal arguments is one shared node) and edges."""

    def __init__(self, reserved: set[str]) -> None:
        self.nodes: dict[str, nir.NIRNode] = {}
        self.specs: dict[str, Spec] = {}
        self.edges: list[tuple[str, str]] = []
        self.reserved = reserved

    def add(self, spec: Spec) -> str:
        known = self.specs.get(spec.name)
        if known is not None and _same_spec(known, spec):
            return spec.name
        name = spec.name
        if known is not None or name in self.reserved:
            name = _unique(spec.name, self.reserved | set(self.specs))
        self.specs[name] = spec
        self.nodes[name] = getattr(nir, spec.kind)(**spec.args)
        return name

    def edge(self, src: str, dst: str) -> None:
        if (src, dst) not in self.edges:
            self.edges.append((src, dst))


def _same_spec(a: Spec, b: Spec) -> bool:
    if a.kind != b.kind or a.args.keys() != b.args.keys():
        return False
    return all(np.array_equal(np.asarray(a.args[k], dtype=object), np.asarray(b.args[k],
               dtype=object)) if not isinstance(a.args[k], dict) else str(a.args[k]) ==
               str(b.args[k]) for k in a.args)


def _output_name(graph: Graph, pop: str, taken: set[str]) -> str:
    recorded = graph.metadata.get("nir", {}).get("outputs", {}) if isinstance(
        graph.metadata.get("nir"), Mapping) else {}
    base = recorded.get(pop) or ("output" if len(graph.outputs) == 1 else f"{pop}_output")
    return _unique(base, taken)


def graph_to_nir(graph: Graph) -> nir.NIRGraph:
    """NIR nodes and edges for ``graph`` (flat, dotted names), with ``dt`` in the metadata."""
    _check_expressible(graph)
    legacy = _legacy(graph)
    names = set(graph.populations)
    edges = [(p.name, p.source, p.target) for p in graph.projections.values()]
    back = back_edges(list(graph.populations), graph.inputs, edges)
    plans = {p.name: _plan(p, graph, names) for p in graph.projections.values()}
    _assign_bias(graph, plans, names)
    for name, plan in plans.items():
        _place_delays(plan, graph, name in back, names)
        _mark_receptor(plan, names)
    extra = {pop: _output_name(graph, pop, names) for pop in graph.outputs
             if graph.populations[pop].model != "output"}
    emitter = _Emitter(set(graph.populations) | set(extra.values()))
    chain_names = {name: [emitter.add(s) for s in plan.specs] for name, plan in plans.items()}
    nodes: dict[str, nir.NIRNode] = {}
    for pop in graph.populations.values():
        for proj in graph.incoming(pop.name):
            nodes.update({n: emitter.nodes[n] for n in chain_names[proj.name]})
        nodes[pop.name] = _population_node(pop)
    for proj in graph.projections.values():
        hops = [proj.source, *chain_names[proj.name], proj.target]
        for src, dst in itertools.pairwise(hops):
            emitter.edge(src, dst)
    for name, out in extra.items():
        nodes[out] = nir.Output(output_type={"output": np.array(graph.populations[name].shape)})
        emitter.edge(name, out)
    metadata: dict[str, Any] = {"dt": float(graph.dt_s)}
    if legacy:
        metadata["nir_version"] = LEGACY_WRITE_VERSION
    return nir.NIRGraph(nodes, emitter.edges, metadata=metadata, type_check=False)


def write_nir(graph: Graph, path: str | os.PathLike[str]) -> None:
    """Write ``graph`` as a ``.nir`` file (a legacy 1.0.5 file when all resets subtract)."""
    nir_graph = graph_to_nir(graph)
    nir.write(path, nir_graph)
    if nir_graph.metadata.get("nir_version") == LEGACY_WRITE_VERSION:
        _make_legacy(path)


def _make_legacy(path: str | os.PathLike[str]) -> None:
    """Version 1.0.5 and no v_reset: what NIR <= 1.0.5 readers expect of subtract neurons."""
    with h5py.File(path, "r+") as handle:
        del handle["version"]
        handle.create_dataset("version", data=LEGACY_WRITE_VERSION, dtype=h5py.string_dtype())
        handle["node"].visititems(_drop_v_reset)


def _drop_v_reset(name: str, item: Any) -> None:
    if isinstance(item, h5py.Group) and "type" in item and "v_reset" in item:
        kind = item["type"][()]
        if (kind.decode() if isinstance(kind, bytes) else kind) in LEGACY_RESET_TYPES:
            del item["v_reset"]

"""Lower a flattened NIR graph to the neurocc :class:`Graph`.

Neuron and Input nodes become populations; every path of synaptic nodes
between two of them becomes one projection whose weight is the product of
the path's linear maps. Recurrence: edges are walked depth first from the
inputs (in node order, successors in edge order, then from any population
not yet reached, in node order); a projection that reaches a population still
on the walk's stack closes a cycle and gets one extra step of delay, the
implicit feedback delay of NIR producers. :func:`back_edges` is that rule,
shared with the writer.

Receptors: NIR has none. A node of a path may name the receptor of the
target that the path feeds in its metadata, ``{"neurocc.receptor": NAME}``
(:data:`RECEPTOR_METADATA_KEY`); paths without it feed the target model's
single receptor, as every NIR file did before.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import scipy.sparse as sp

from neurocc.compiler.errors import FrontendError, GraphError
from neurocc.compiler.graph import Graph, Population, Projection
from neurocc.compiler.neurons import NEURON_MODELS, RESET_NONE
from neurocc.frontends.nir.maps import (
    SYNAPTIC_LOWERINGS,
    Context,
    Matrix,
    Shape,
    Step,
    check_signal,
    check_size,
    floats,
    identity,
    signal_shape,
    size_of,
)
from neurocc.frontends.nir.source import PASSTHROUGH, FlatNir, NirSource, node_where

DEFAULT_DT_S = 1e-3  # NIR stores no time step; 1 ms is norse's default
DT_METADATA_KEYS = ("dt", "dt_s")  # where our writer (and some producers) put dt
FEEDBACK_DELAY_STEPS = 1  # nirtorch/snnTorch feed back the previous step's output
PROJECTION_SUFFIX = "#"  # separates a repeated projection name from its counter
RECEPTOR_METADATA_KEY = "neurocc.receptor"  # node metadata naming the target's receptor
MAX_PATHS = 10_000  # synaptic paths in one graph; diamonds of branches double them per layer


@dataclass(frozen=True)
class NeuronLowering:
    """How one NIR neuron type maps onto a graph model: graph param -> NIR field."""

    model: str
    fields: dict[str, str]
    defaults: dict[str, float] = field(default_factory=dict)  # NIR fields that may be absent


NEURON_LOWERINGS: dict[str, NeuronLowering] = {
    "LIF": NeuronLowering("lif", {"tau_s": "tau", "r": "r", "v_leak": "v_leak",
                                  "v_threshold": "v_threshold", "v_reset": "v_reset"},
                          {"v_reset": 0.0}),
    "CubaLIF": NeuronLowering("cubalif", {"tau_syn_s": "tau_syn", "tau_mem_s": "tau_mem",
                                          "r": "r", "v_leak": "v_leak",
                                          "v_threshold": "v_threshold", "v_reset": "v_reset",
                                          "w_in": "w_in"}, {"v_reset": 0.0, "w_in": 1.0}),
    "IF": NeuronLowering("if", {"r": "r", "v_threshold": "v_threshold", "v_reset": "v_reset"},
                         {"v_reset": 0.0}),
    "LI": NeuronLowering("li", {"tau_s": "tau", "r": "r", "v_leak": "v_leak"}),
    "I": NeuronLowering("integrator", {"r": "r"}),
    "Threshold": NeuronLowering("threshold", {"v_threshold": "threshold"}),
}
POPULATION_TYPES = ("Input", *NEURON_LOWERINGS)


@dataclass(frozen=True)
class Path:
    """Synaptic nodes from one population node to a population or Output node."""

    source: str
    chain: tuple[str, ...]
    target: str


@dataclass
class _Build:
    """Mutable state of one lowering (local to :func:`lower`)."""

    flat: FlatNir
    label: str
    dt_s: float
    reset: str
    shapes: dict[str, Shape] = field(default_factory=dict)
    params: dict[str, dict[str, np.ndarray]] = field(default_factory=dict)
    bias: dict[str, np.ndarray] = field(default_factory=dict)
    seen_bias: set[tuple[Any, ...]] = field(default_factory=set)

    def ctx(self, name: str) -> Context:
        return Context(node_where(self.label, name, self.flat.nodes[name]), self.dt_s)


# -- time step -----------------------------------------------------------------------
def resolve_dt(dt_s: float | None, metadata: Mapping[str, Any], label: str) -> tuple[float, str]:
    """(dt_s, where it came from): the argument, the file's metadata, or the default."""
    if dt_s is not None:
        return _checked_dt(dt_s, f"{label}: argument dt_s"), "argument"
    for key in DT_METADATA_KEYS:
        if key in metadata:
            return _checked_dt(metadata[key], f"{label}: graph metadata '{key}'"), "file"
    return DEFAULT_DT_S, "default"


def _checked_dt(value: Any, where: str) -> float:
    array = np.asarray(value)
    try:
        with np.errstate(all="ignore"):  # a long double too large for a float: inf, refused
            dt_s = float(array.item()) if array.size == 1 else math.nan
    except (TypeError, ValueError):
        dt_s = math.nan
    if not (math.isfinite(dt_s) and dt_s > 0):
        raise FrontendError(where, f"time step {value!r} is not a positive number of seconds.",
                            "Pass dt_s, for example 1e-3.")
    return dt_s


# -- populations ----------------------------------------------------------------------
def _neuron_params(build: _Build, name: str) -> tuple[Shape, dict[str, np.ndarray]]:
    node, ctx = build.flat.nodes[name], build.ctx(name)
    spec = NEURON_LOWERINGS[node["type"]]
    raw = {nir_key: floats(node, nir_key, ctx) if nir_key in node else
           np.asarray(spec.defaults[nir_key]) for nir_key in spec.fields.values()}
    try:
        shape = np.broadcast_shapes(*(value.shape for value in raw.values()))
    except ValueError as exc:
        shapes = {key: list(value.shape) for key, value in raw.items()}
        raise FrontendError(ctx.where, f"has parameters of different shapes {shapes}.",
                            "Give every parameter the neuron shape.") from exc
    params = {key: np.broadcast_to(raw[nir_key], shape).reshape(-1)
              for key, nir_key in spec.fields.items()}
    return check_signal(tuple(int(s) for s in shape), ctx), params


def _port_shape(build: _Build, name: str) -> Shape:
    return signal_shape(build.flat.nodes[name], "shape", build.ctx(name))


def _collect_populations(build: _Build) -> None:
    for name, node in build.flat.nodes.items():
        if node["type"] == "Input":
            build.shapes[name] = _port_shape(build, name)
        elif node["type"] in NEURON_LOWERINGS:
            build.shapes[name], build.params[name] = _neuron_params(build, name)


# -- paths -------------------------------------------------------------------------------
def _successors(flat: FlatNir) -> dict[str, list[str]]:
    succ: dict[str, list[str]] = {name: [] for name in flat.nodes}
    for src, dst in flat.edges:
        succ[src].append(dst)
    return succ


def find_paths(build: _Build) -> list[Path]:
    """Every synaptic path, by source in node order, then depth first in edge order."""
    succ, paths = _successors(build.flat), list[Path]()
    for name in build.flat.nodes:
        if name in build.shapes:
            for path in _walk(build, succ, name):
                paths.append(path)
                if len(paths) > MAX_PATHS:
                    raise FrontendError(build.ctx(name).where, f"starts one of more than "
                                        f"{MAX_PATHS} synaptic paths between neuron nodes "
                                        "(branches that join again multiply them).",
                                        "Merge parallel branches into one node.")
    return paths


def _walk(build: _Build, succ: Mapping[str, list[str]], source: str) -> Iterable[Path]:
    """Depth first from ``source`` to the next population or Output on every branch.

    A loop with an explicit stack, not recursion: a file may chain thousands of nodes.
    """
    trail, branches = [source], [iter(succ[source])]
    while branches:
        nxt = next(branches[-1], None)
        if nxt is None:
            branches.pop()
            trail.pop()
            continue
        kind = build.flat.nodes[nxt]["type"]
        if kind == "Input":
            raise FrontendError(node_where(build.label, nxt, build.flat.nodes[nxt]),
                                f"receives an edge from '{trail[-1]}'.", "Inputs take no edges.")
        if nxt in build.shapes or kind == "Output":
            yield Path(source, tuple(trail[1:]), nxt)
        elif nxt in trail:
            raise FrontendError(node_where(build.label, nxt, build.flat.nodes[nxt]),
                                f"is on a cycle without a neuron: {' -> '.join(trail)} -> {nxt}.",
                                "Every cycle needs a neuron node; remove the loop.")
        else:
            trail.append(nxt)
            branches.append(iter(succ[nxt]))


# -- one path as a projection ---------------------------------------------------------
def _lower_chain(build: _Build, path: Path) -> list[Step]:
    shape, steps = build.shapes[path.source], []
    for name in path.chain:
        node = build.flat.nodes[name]
        step = SYNAPTIC_LOWERINGS[node["type"]](node, shape, build.ctx(name))
        steps.append(step)
        shape = step.out_shape
    return steps


def _compose(matrices: Sequence[Matrix], size: int) -> Matrix:
    result: Matrix = identity(size)
    for matrix in matrices:
        result = matrix @ result
    return sp.csr_array(result) if sp.issparse(result) else np.asarray(result)


def _pattern(matrix: Matrix) -> np.ndarray:
    dense = matrix.toarray() if sp.issparse(matrix) else np.asarray(matrix)
    return (np.abs(dense) > 0).astype(np.float64)


def _chain_delays(build: _Build, path: Path, steps: list[Step], n_src: int) -> np.ndarray:
    """Per (target, source) delay steps; raises when a later map mixes different delays."""
    matrices = [s.matrix for s in steps]
    total = 0.0
    for i, step in enumerate(steps):
        if step.delay_steps is None:
            continue
        before = _pattern(_compose(matrices[: i + 1], n_src))
        after = _pattern(_compose(matrices[i + 1:], step.matrix.shape[0]))
        tau = step.delay_steps.astype(np.float64)[:, None]
        count, s1, s2 = after @ before, after @ (tau * before), after @ (tau**2 * before)
        if np.any((count > 0) & (count * s2 != s1**2)):
            raise FrontendError(build.ctx(path.chain[i]).where, "has different delays that a "
                                f"later node of the path {' -> '.join(path.chain)} sums into "
                                "one synapse.", "Put the Delay next to a neuron node, or use "
                                "equal delays.")
        total = total + np.divide(s1, count, out=np.zeros_like(s1), where=count > 0)
    return np.rint(total).astype(np.int64)


def _delay_array(delays: np.ndarray, weight: Matrix) -> np.ndarray:
    """One delay if all synapses agree, else aligned with the weight (dense or CSR)."""
    if sp.issparse(weight):
        coo = weight.tocoo()
        values = delays[coo.row, coo.col]
    else:
        values = np.where(np.abs(weight) > 0, delays, 0)
    if values.size == 0 or np.all(values == values.reshape(-1)[0]):
        return np.array(int(values.reshape(-1)[0]) if values.size else 0, dtype=np.int64)
    return values.astype(np.int64)


def _add_bias(build: _Build, path: Path, steps: list[Step]) -> None:
    """Each biased node adds its bias once per (node, rest of the path): fan-in sums first."""
    terms: list[tuple[int, np.ndarray]] = []
    for i, step in enumerate(steps):
        terms = [(start, step.matrix @ value) for start, value in terms]
        if step.bias is not None:
            terms.append((i, step.bias))
    for start, value in terms:
        key = (path.chain[start:], path.target)
        if key not in build.seen_bias:
            build.seen_bias.add(key)
            build.bias[path.target] = build.bias.get(path.target, 0.0) + np.asarray(value)


def _projection_name(build: _Build, path: Path, taken: Mapping[str, Any]) -> str:
    weighted = [n for n in path.chain if build.flat.nodes[n]["type"] in
                ("Affine", "Linear", "Scale", "Conv1d", "Conv2d")]
    base = weighted[0] if weighted else f"{path.source}->{path.target}"
    name, counter = base, 0
    while name in taken:
        counter += 1
        name = f"{base}{PROJECTION_SUFFIX}{counter}"
    return name


def _model_of(build: _Build, name: str) -> str:
    """The graph model a population node becomes."""
    kind = build.flat.nodes[name]["type"]
    return {"Input": "input", "Output": "output"}.get(kind) or NEURON_LOWERINGS[kind].model


def _node_receptor(node: Mapping[str, Any]) -> str | None:
    metadata = node.get("metadata")
    if not isinstance(metadata, Mapping) or RECEPTOR_METADATA_KEY not in metadata:
        return None
    value = metadata[RECEPTOR_METADATA_KEY]
    return value.decode("utf8") if isinstance(value, bytes) else str(value)


def _path_receptor(build: _Build, path: Path) -> str:
    """The receptor the path's nodes name ("" for none), checked against the target's model."""
    named = {n: r for n in path.chain if (r := _node_receptor(build.flat.nodes[n])) is not None}
    if len(set(named.values())) > 1:
        raise FrontendError(build.ctx(path.chain[-1]).where, f"ends a path whose nodes name "
                            f"different receptors {named}.", "Name one receptor per path.")
    if not named:
        return ""
    node, receptor = next(iter(named.items()))
    model = NEURON_MODELS[_model_of(build, path.target)]
    if receptor not in model.receptors:
        raise FrontendError(build.ctx(node).where, f"names receptor '{receptor}' (metadata "
                            f"'{RECEPTOR_METADATA_KEY}'), but its target '{path.target}' "
                            f"({model.name}) has the receptors {list(model.receptors)}.",
                            "Name one of those, or drop the metadata key.")
    return receptor


def _lower_path(build: _Build, path: Path, name: str) -> Projection:
    n_src = size_of(build.shapes[path.source])
    steps = _lower_chain(build, path)
    out_shape = steps[-1].out_shape if steps else build.shapes[path.source]
    check_size(out_shape, build.shapes[path.target], build.ctx(path.target))
    weight = _compose([s.matrix for s in steps], n_src)
    if sp.issparse(weight):
        weight.sum_duplicates()
        weight.sort_indices()
    delays = np.zeros((), dtype=np.int64)
    if any(s.delay_steps is not None for s in steps):
        delays = _delay_array(_chain_delays(build, path, steps, n_src), weight)
    _add_bias(build, path, steps)
    chain = [{"name": n, **s.record} for n, s in zip(path.chain, steps, strict=True)]
    metadata = {"nir": {"chain": [c for c in chain if c["type"] != "Passthrough"]}}
    return Projection(name, path.source, path.target, weight, delays, metadata,
                      _path_receptor(build, path))


# -- recurrence ---------------------------------------------------------------------------
def back_edges(order: Sequence[str], roots: Sequence[str],
               edges: Sequence[tuple[str, str, str]]) -> set[str]:
    """Names of the (name, source, target) edges that reach a node still on the DFS stack."""
    succ: dict[str, list[tuple[str, str]]] = {node: [] for node in order}
    for name, src, dst in edges:
        succ[src].append((name, dst))
    state: dict[str, int] = {}  # 1: on the stack, 2: finished
    back: set[str] = set()
    for root in [*roots, *order]:
        if root in state:
            continue
        state[root] = 1
        stack = [(root, iter(succ[root]))]
        while stack:
            node, children = stack[-1]
            child = next(children, None)
            if child is None:
                state[node] = 2
                stack.pop()
            elif state.get(child[1]) == 1:
                back.add(child[0])
            elif child[1] not in state:
                state[child[1]] = 1
                stack.append((child[1], iter(succ[child[1]])))
    return back


def _with_feedback_delay(projections: dict[str, Projection], order: Sequence[str],
                         inputs: Sequence[str]) -> dict[str, Projection]:
    edges = [(p.name, p.source, p.target) for p in projections.values()]
    back = back_edges(order, inputs, edges)
    return {name: proj if name not in back else Projection(
        name, proj.source, proj.target, proj.weight, proj.delay_steps + FEEDBACK_DELAY_STEPS,
        {**proj.metadata, "nir": {**proj.metadata["nir"], "back_edge": True}}, proj.receptor)
        for name, proj in projections.items()}


# -- outputs -------------------------------------------------------------------------------
def _output_targets(build: _Build, paths: list[Path]) -> tuple[list[str], dict[str, str]]:
    """Graph outputs, and which Output node names each; adds 'output' populations."""
    outputs, names = [], {}
    for name, node in build.flat.nodes.items():
        if node["type"] != "Output":
            continue
        feeding = [p for p in paths if p.target == name]
        direct = len(feeding) == 1 and all(
            build.flat.nodes[n]["type"] == PASSTHROUGH for n in feeding[0].chain)
        if direct and build.flat.nodes[feeding[0].source]["type"] in NEURON_LOWERINGS:
            check_size(build.shapes[feeding[0].source], _port_shape(build, name),
                       build.ctx(name))
            outputs.append(feeding[0].source)
            names[feeding[0].source] = name
        elif feeding:
            build.shapes[name] = _port_shape(build, name)
            outputs.append(name)
            names[name] = name
    return outputs, names


# -- the whole graph -------------------------------------------------------------------------
def _population(build: _Build, name: str) -> Population:
    kind = build.flat.nodes[name]["type"]
    model = _model_of(build, name)
    params = dict(build.params.get(name, {}))
    if model != "input":
        params["bias"] = np.broadcast_to(build.bias.get(name, 0.0), (size_of(build.shapes[name]),))
    reset = RESET_NONE if NEURON_MODELS[model].resets == (RESET_NONE,) else build.reset
    return Population(name, model, build.shapes[name], params, reset, {"nir": {"type": kind}})


def lower(flat: FlatNir, source: NirSource, dt_s: float, reset: str,
          metadata: Mapping[str, Any]) -> Graph:
    """The verified graph of ``flat``; graph errors are reported against the file."""
    build = _Build(flat, source.label, dt_s, reset)
    _collect_populations(build)
    paths = find_paths(build)
    outputs, output_names = _output_targets(build, paths)
    kept = [p for p in paths if p.target in build.shapes]
    projections: dict[str, Projection] = {}
    for path in kept:
        name = _projection_name(build, path, projections)
        projections[name] = _lower_path(build, path, name)
    order = [n for n in flat.nodes if n in build.shapes]
    inputs = [n for n in order if flat.nodes[n]["type"] == "Input"]
    projections = _with_feedback_delay(projections, order, inputs)
    populations = {name: _population(build, name) for name in order}
    full = {**metadata, "nir": {**metadata.get("nir", {}), "outputs": output_names}}
    try:
        return Graph(dt_s, populations, projections, tuple(inputs), tuple(outputs), full)
    except GraphError as exc:
        raise FrontendError(f"{source.label}: {exc.where}", exc.what, exc.hint) from exc

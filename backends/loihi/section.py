"""The ``loihi`` artifact section: the one owner of its key layout (docs/loihi-artifact.md).

The section is a flat dict of arrays (``loihi.npz``) keyed ``pop/P/<field>``
and ``proj/J/<field>``, plus the layout entries that say what each population
and projection is (``populations``, ``projections``, ``latency_steps``) and
the resolved target (``target``). This module holds the in-memory form of
that content (:class:`NetworkSpec` and its records), writes it
(:func:`write_section`; :func:`write_compiled` from the compiler's quantized
network and placement) and reads it back (:func:`read_section`), checking
presence, shapes and structure. Value ranges depend on the target's
arithmetic and are checked by ``neurocc.sim.loihi.network.read_network``, the
reader the engine and the Lava export use.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, cast

import numpy as np
import scipy.sparse as sp

from neurocc.backends.artifact import Artifact
from neurocc.backends.loihi.mapping import Placement
from neurocc.backends.loihi.quantize import ProjectionQuant, QuantizedNetwork
from neurocc.backends.loihi.spec import LoihiSpec, spec_from_mapping
from neurocc.compiler.errors import MappingError, SimulationError, TargetError
from neurocc.compiler.graph import Graph, Weight

SECTION = "loihi"
LIF_PROCESS, SOURCE_PROCESS = "LIF", "RingBuffer"
DENSE, DELAY_DENSE, SPARSE, DELAY_SPARSE = "Dense", "DelayDense", "Sparse", "DelaySparse"
PROJECTION_PROCESSES = (DENSE, DELAY_DENSE, SPARSE, DELAY_SPARSE)
CSR_PROCESSES = (SPARSE, DELAY_SPARSE)  # weights stored as CSR parts
DELAY_PROCESSES = (DELAY_DENSE, DELAY_SPARSE)  # the processes that carry synaptic delays
# per-neuron arrays of every population (mapping and event counting)
EVENT_FIELDS = ("core", "msg_per_spike", "hops_ew_per_spike", "hops_ns_per_spike")
LIF_SCALARS = ("du", "dv", "vth")
LIF_ARRAYS = ("bias_mant", "bias_exp")
CSR_PARTS = ("data", "indices", "indptr")
RECOMPILE = "Compile the model again for a Loihi target."


# -- keys ------------------------------------------------------------------------------------
def pop_key(population: str, field: str) -> str:
    """``pop/P/field``: an array of population ``P``."""
    return f"pop/{population}/{field}"


def proj_key(projection: str, field: str) -> str:
    """``proj/J/field``: an array of projection ``J`` (``weight/data`` for a CSR part)."""
    return f"proj/{projection}/{field}"


# -- records ---------------------------------------------------------------------------------
@dataclass(frozen=True, eq=False)
class PopulationSpec:
    """One population: size, whether it is an input, its cores and per-spike event costs."""

    name: str
    size: int
    is_input: bool
    core: np.ndarray
    msg_per_spike: np.ndarray
    hops_ew_per_spike: np.ndarray
    hops_ns_per_spike: np.ndarray


@dataclass(frozen=True, eq=False)
class LifSpec:
    """The parameters of one Lava ``LIF`` (integers as the process takes them).

    ``v_scale`` (float64, per neuron): integer ``v`` units per model voltage
    unit, to read ``v`` back in model units; the chip does not use it.
    """

    name: str
    size: int
    du: int
    dv: int
    vth: int
    bias_mant: np.ndarray
    bias_exp: np.ndarray
    v_scale: np.ndarray


@dataclass(frozen=True, eq=False)
class ProjectionSpec:
    """One Lava ``Dense``/``DelayDense``/``Sparse``/``DelaySparse``: mantissas, exponent, delays.

    ``weight`` is the (post, pre) matrix: a dense int64 array, or a
    ``scipy.sparse.csr_array`` for ``Sparse`` and ``DelaySparse``. ``delay``
    (steps on top of the one-step Dense latency) is ``()`` (one for all
    synapses), (post, pre) for a ``DelayDense``, or (nnz,) for a
    ``DelaySparse``: one per stored synapse, aligned with ``weight.data``
    (the delays are a CSR matrix in the weight's sparsity).
    """

    name: str
    process: str
    source: str
    target: str
    weight: Weight
    weight_exp: int
    num_weight_bits: int
    delay: np.ndarray

    @property
    def shape(self) -> tuple[int, int]:
        return (int(self.weight.shape[0]), int(self.weight.shape[1]))

    @property
    def max_delay(self) -> int:
        return int(self.delay.max()) if self.delay.size else 0


@dataclass(frozen=True, eq=False)
class NetworkSpec:
    """The whole chip network of an artifact, in the artifact's population order.

    ``inputs`` and ``outputs`` come from the artifact's graph (not written to
    the section); ``target`` is the validated resolved target it was
    compiled for, whose numbers the engine and the Lava export use.
    """

    populations: Mapping[str, PopulationSpec]
    lifs: Mapping[str, LifSpec]
    projections: Mapping[str, ProjectionSpec]
    inputs: tuple[str, ...]
    outputs: tuple[str, ...]
    latency_steps: int
    target: LoihiSpec

    @property
    def n_inputs(self) -> int:
        return sum(self.populations[name].size for name in self.inputs)


# -- writing ---------------------------------------------------------------------------------
def population_arrays(pop: PopulationSpec) -> dict[str, np.ndarray]:
    return {pop_key(pop.name, f): np.asarray(getattr(pop, f), np.int64) for f in EVENT_FIELDS}


def lif_arrays(lif: LifSpec) -> dict[str, np.ndarray]:
    arrays = {pop_key(lif.name, f): np.array(getattr(lif, f), np.int64) for f in LIF_SCALARS}
    arrays.update({pop_key(lif.name, f): np.asarray(getattr(lif, f), np.int64)
                   for f in LIF_ARRAYS})
    arrays[pop_key(lif.name, "v_scale")] = np.asarray(lif.v_scale, np.float64)
    return arrays


def weight_arrays(proj: ProjectionSpec) -> dict[str, np.ndarray]:
    """``proj/J/weight`` (dense) or its CSR parts ``proj/J/weight/data`` ... (Sparse and
    DelaySparse)."""
    if proj.process in CSR_PROCESSES:
        csr = sp.csr_array(proj.weight)
        return {proj_key(proj.name, f"weight/{part}"): np.asarray(getattr(csr, part), np.int64)
                for part in CSR_PARTS}
    return {proj_key(proj.name, "weight"): np.asarray(proj.weight, np.int64)}


def delay_key(proj: ProjectionSpec) -> str:
    """``proj/J/delay/data`` for per-synapse delays in CSR form (the CSR data of a
    DelaySparse: its indices and indptr are the weight's), else ``proj/J/delay``."""
    per_synapse_csr = proj.process == DELAY_SPARSE and proj.delay.ndim == 1
    return proj_key(proj.name, "delay/data" if per_synapse_csr else "delay")


def projection_arrays(proj: ProjectionSpec) -> dict[str, np.ndarray]:
    return {**weight_arrays(proj),
            proj_key(proj.name, "weight_exp"): np.array(proj.weight_exp, np.int64),
            proj_key(proj.name, "num_weight_bits"): np.array(proj.num_weight_bits, np.int64),
            delay_key(proj): np.asarray(proj.delay, np.int64)}


def write_section(net: NetworkSpec) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """The layout entries (``populations``, ``projections``, ``latency_steps``, ``target``)
    and the section's arrays for ``net``."""
    arrays: dict[str, np.ndarray] = {}
    for pop in net.populations.values():
        arrays.update(population_arrays(pop))
    for lif in net.lifs.values():
        arrays.update(lif_arrays(lif))
    for proj in net.projections.values():
        arrays.update(projection_arrays(proj))
    layout = {
        "populations": {n: {"process": SOURCE_PROCESS if p.is_input else LIF_PROCESS,
                            "size": p.size} for n, p in net.populations.items()},
        "projections": {n: {"process": p.process, "source": p.source, "target": p.target}
                        for n, p in net.projections.items()},
        "latency_steps": net.latency_steps,
        "target": net.target.to_dict(),
    }
    return layout, arrays


def _aligned_delays(graph_weight: Weight, csr: sp.csr_array, delay: np.ndarray, name: str
                    ) -> np.ndarray:
    """Per-synapse delays (aligned with the graph weight's CSR data) for the entries of
    ``csr``, the quantized mantissas. When the quantizer kept the weight's structure (it
    does today) that is ``delay`` itself; otherwise each entry is found by its (row, column)
    key in the graph's sorted keys (a search, no dense matrix)."""
    weight = sp.csr_array(graph_weight)
    if np.array_equal(csr.indptr, weight.indptr) and np.array_equal(csr.indices, weight.indices):
        return np.asarray(delay, np.int64)
    n_pre = weight.shape[1]

    def keys(m: sp.csr_array) -> np.ndarray:  # row-major position of every entry
        return np.repeat(np.arange(m.shape[0], dtype=np.int64) * n_pre, np.diff(m.indptr)) \
            + m.indices

    graph_keys, order = keys(weight), None
    if np.any(np.diff(graph_keys) <= 0):  # unsorted or duplicate entries: sort once
        order = np.argsort(graph_keys, kind="stable")
        graph_keys = graph_keys[order]
    wanted = keys(csr)
    found = np.minimum(np.searchsorted(graph_keys, wanted), max(graph_keys.size - 1, 0))
    if wanted.size and (graph_keys.size == 0 or np.any(graph_keys[found] != wanted)):
        raise MappingError(f"projection '{name}'", "has quantized mantissas where its weight "
                           "has no synapse, so its per-synapse delays cannot be aligned.",
                           "Report this as a neurocc bug.")
    return np.asarray(delay, np.int64)[found if order is None else order[found]]


def _sparse_compiled(graph_weight: Weight, quant: ProjectionQuant, delay: np.ndarray
                     ) -> tuple[sp.csr_array, np.ndarray]:
    """The CSR mantissas without zero entries, and per-synapse delays (nnz,) aligned with
    them (the delays come aligned with the graph weight's CSR data)."""
    csr = sp.csr_array(quant.mantissa)
    if delay.ndim == 0:
        csr.eliminate_zeros()
        return csr, delay
    aligned = _aligned_delays(graph_weight, csr, delay, quant.name)
    keep = csr.data != 0
    kept_before = np.concatenate(([0], np.cumsum(keep, dtype=np.int64)))
    matrix = sp.csr_array((csr.data[keep], csr.indices[keep], kept_before[csr.indptr]),
                          shape=csr.shape)
    return matrix, aligned[keep]


def _compiled(graph_weight: Weight, quant: ProjectionQuant, process: str, delay: np.ndarray
              ) -> tuple[Weight, np.ndarray]:
    """The stored weights and delays of one projection for its Lava ``process``."""
    if process in CSR_PROCESSES:
        return _sparse_compiled(graph_weight, quant, delay)
    dense = quant.mantissa.toarray() if sp.issparse(quant.mantissa) else quant.mantissa
    return np.asarray(dense, np.int64), delay


def write_compiled(graph: Graph, quant: QuantizedNetwork, placement: Placement,
                   delays: Mapping[str, np.ndarray], processes: Mapping[str, str],
                   latency_steps: int, spec: LoihiSpec
                   ) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """:func:`write_section` for the compiler's quantized network, placement and timing."""
    pops = {n: PopulationSpec(n, p.size, p.model == "input", placement.core_of[n],
                              placement.msg_per_spike[n], placement.hops_ew_per_spike[n],
                              placement.hops_ns_per_spike[n])
            for n, p in graph.populations.items()}
    lifs = {n: LifSpec(n, graph.populations[n].size, q.du, q.dv, q.vth, q.bias_mant,
                       q.bias_exp, q.v_scale) for n, q in quant.populations.items()}
    projs = {}
    for n, p in graph.projections.items():
        q = quant.projections[n]
        weight, delay = _compiled(p.weight, q, processes[n], delays[n])
        projs[n] = ProjectionSpec(n, processes[n], p.source, p.target, weight, q.weight_exp,
                                  q.num_weight_bits, delay)
    return write_section(NetworkSpec(pops, lifs, projs, tuple(graph.inputs),
                                     tuple(graph.outputs), latency_steps, spec))


# -- reading ---------------------------------------------------------------------------------
def _fetch(arrays: Mapping[str, np.ndarray], key: str, shape: tuple[int, ...],
           kinds: str = "iu") -> np.ndarray:
    if key not in arrays:
        raise SimulationError(f"artifact array '{key}'", f"is missing from {SECTION}.npz.",
                              RECOMPILE)
    value = np.asarray(arrays[key])
    if value.shape != shape or value.dtype.kind not in kinds:
        what = "integers" if kinds == "iu" else "numbers"
        raise SimulationError(f"artifact array '{key}'", f"has shape {value.shape} and dtype "
                              f"{value.dtype}; expected {what} of shape {shape}.", RECOMPILE)
    return value.astype(np.int64 if kinds == "iu" else np.float64, copy=False)


def stored_target(artifact: Artifact) -> LoihiSpec:
    """The artifact's resolved target (``layout["target"]``), validated by the Loihi schema.

    (What ``neurocc.backends.target_of`` does; parsed here directly because
    ``neurocc.backends`` imports this package while it registers families.)
    """
    where = f"artifact '{artifact.target}' stored target (layout.target)"
    try:
        return spec_from_mapping(artifact.layout.get("target"), where)
    except TargetError as exc:
        raise SimulationError(exc.where, exc.what,
                              "The artifact's stored target is not a valid Loihi target "
                              "(edited or from an older neurocc); compile the model again "
                              "from a target file (`neurocc targets`).") from exc


def _population(arrays: Mapping[str, np.ndarray], name: str, entry: Mapping) -> PopulationSpec:
    size = int(entry["size"])
    fetched = {f: _fetch(arrays, pop_key(name, f), (size,)) for f in EVENT_FIELDS}
    return PopulationSpec(name, size, entry["process"] == SOURCE_PROCESS, **fetched)


def _lif(arrays: Mapping[str, np.ndarray], name: str, size: int) -> LifSpec:
    scalars: dict[str, Any] = {f: int(_fetch(arrays, pop_key(name, f), ())) for f in LIF_SCALARS}
    vectors: dict[str, Any] = {f: _fetch(arrays, pop_key(name, f), (size,)) for f in LIF_ARRAYS}
    v_scale = _fetch(arrays, pop_key(name, "v_scale"), (size,), kinds="iuf")
    return LifSpec(name, size, **scalars, **vectors, v_scale=v_scale)


def _csr(arrays: Mapping[str, np.ndarray], name: str, shape: tuple[int, int]) -> sp.csr_array:
    key = proj_key(name, "weight")
    parts = {}
    for part in CSR_PARTS:
        if f"{key}/{part}" not in arrays:
            raise SimulationError(f"artifact array '{key}/{part}'", "is missing for a Sparse "
                                  "projection.", RECOMPILE)
        parts[part] = np.asarray(arrays[f"{key}/{part}"]).astype(np.int64)
    try:
        matrix = sp.csr_array((parts["data"], parts["indices"], parts["indptr"]), shape=shape)
        matrix.check_format(full_check=True)
    except ValueError as exc:
        raise SimulationError(f"artifact array '{key}'", f"is not a valid CSR matrix of shape "
                              f"{shape} ({exc}).", RECOMPILE) from exc
    return matrix


def _delay(arrays: Mapping[str, np.ndarray], name: str, process: str, weight: Weight
           ) -> np.ndarray:
    """``()``; (post, pre) for a dense weight; (nnz,) CSR data for a DelaySparse."""
    csr_key = proj_key(name, "delay/data")
    if csr_key in arrays:
        if process != DELAY_SPARSE:
            raise SimulationError(f"artifact array '{csr_key}'", f"belongs to a {process} "
                                  "projection; only a DelaySparse stores CSR delays.", RECOMPILE)
        return _fetch(arrays, csr_key, (int(cast(sp.csr_array, weight).nnz),))
    key = proj_key(name, "delay")
    raw = np.asarray(arrays.get(key, np.zeros((), dtype=np.int64)))
    if raw.ndim and process == DELAY_SPARSE:  # (an older Sparse may hold (post, pre) zeros)
        raise SimulationError(f"artifact array '{key}'", f"has shape {raw.shape}; a {process} "
                              f"stores one delay in '{key}' or one per synapse in "
                              f"'{csr_key}'.", RECOMPILE)
    return _fetch({key: raw}, key, () if raw.ndim == 0 else tuple(weight.shape))


def _projection(arrays: Mapping[str, np.ndarray], name: str, entry: Mapping,
                sizes: Mapping[str, int]) -> ProjectionSpec:
    where = f"projection '{name}'"
    process, source, target = entry["process"], entry["source"], entry["target"]
    if process not in PROJECTION_PROCESSES:
        raise SimulationError(where, f"has process '{process}'.",
                              f"The Loihi engine runs {', '.join(PROJECTION_PROCESSES)}.")
    if source not in sizes or target not in sizes:
        raise SimulationError(where, f"connects unknown populations {source} -> {target}.",
                              RECOMPILE)
    shape = (sizes[target], sizes[source])
    weight = (_csr(arrays, name, shape) if process in CSR_PROCESSES
              else _fetch(arrays, proj_key(name, "weight"), shape))
    delay = _delay(arrays, name, process, weight)
    if process not in DELAY_PROCESSES and delay.size and int(delay.max()) > 0:
        raise SimulationError(where, f"is a {process} with synaptic delays up to "
                              f"{int(delay.max())} steps; only DelayDense and DelaySparse "
                              "carry delays.", "Compile the model again (delayed projections "
                              "become DelayDense, or DelaySparse when their weights are sparse).")
    return ProjectionSpec(name, process, source, target, weight,
                          int(_fetch(arrays, proj_key(name, "weight_exp"), ())),
                          int(_fetch(arrays, proj_key(name, "num_weight_bits"), ())), delay)


def _check_structure(artifact: Artifact, populations: Mapping[str, PopulationSpec],
                     projections: Mapping[str, ProjectionSpec]) -> None:
    for name in artifact.graph.inputs:
        if name not in populations or not populations[name].is_input:
            raise SimulationError(f"input '{name}'", f"is not a {SOURCE_PROCESS} population of "
                                  "the layout.", RECOMPILE)
    for proj in projections.values():
        if populations[proj.target].is_input:
            raise SimulationError(f"projection '{proj.name}'", f"targets '{proj.target}', "
                                  f"which is not a {LIF_PROCESS} population.", RECOMPILE)


def read_section(artifact: Artifact) -> NetworkSpec:
    """The network an artifact's ``loihi`` section and layout describe, with its target."""
    if SECTION not in artifact.sections or "populations" not in artifact.layout:
        raise SimulationError(f"artifact for target '{artifact.target}'",
                              f"has no '{SECTION}' section or layout (family "
                              f"'{artifact.family}').", "Compile for a Loihi target first.")
    target = stored_target(artifact)
    arrays, layout = artifact.sections[SECTION], artifact.layout
    populations = {name: _population(arrays, name, entry)
                   for name, entry in layout["populations"].items()}
    sizes = {name: pop.size for name, pop in populations.items()}
    projections = {name: _projection(arrays, name, entry, sizes)
                   for name, entry in layout.get("projections", {}).items()}
    _check_structure(artifact, populations, projections)
    lifs = {name: _lif(arrays, name, pop.size) for name, pop in populations.items()
            if not pop.is_input}
    return NetworkSpec(populations, lifs, projections, tuple(artifact.graph.inputs),
                       tuple(artifact.graph.outputs), int(layout.get("latency_steps", 0)),
                       target)

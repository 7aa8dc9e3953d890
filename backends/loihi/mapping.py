"""Mapping a quantized network onto the cores, tiles and chips of a Loihi target.

**Partition.** Populations are placed in graph order, each split into contiguous runs of
neurons; a core holds neurons of one population only. Each run is filled greedily neuron
by neuron while the core stays within every per-core limit of the target file:

- ``neurons_per_core``: neurons (compartments) on the core; input neurons count too
  (a conservative stand-in for the spike generators that inject them);
- ``synapses_per_core``: stored synapses with a nonzero mantissa ending on the core's
  neurons;
- ``synaptic_memory_per_core_bits``: those synapses times their projection's bits per
  synapse (``num_weight_bits``, plus ``delay_bits`` for a projection with delays); list
  headers and compression are not modelled;
- ``fan_in_axons_per_core``: distinct source neurons (inputs included) with at least one
  such synapse onto the core (one input axon each);
- ``fan_out_axons_per_core``: sum over the core's neurons of the distinct destination
  cores each one reaches (one output axon per (neuron, destination core); the core itself
  counts when the neuron projects onto it).

Fan-out depends on how the destinations are split, so partitioning repeats, adding each
neuron's current fan-out as a cost, until no core exceeds it (at most
``MAX_PARTITION_ROUNDS`` rounds). A single neuron that alone exceeds a limit, or a graph
that needs more cores than ``chips * cores_per_chip``, raises a MappingError naming the
population, the limit and the value.

**At scale.** The greedy runs are one compiled pass per population over its incoming
synapses (``kernels``, numba), neuron by neuron with running sums; distinct sources
and destinations are counted with a stamp per source neuron (the last core that saw it), as
a core's neurons are contiguous: no sort, no transposed or merged copy of the masks. A round
repacks only the populations whose fan-out cost changed and recounts the messages only when
a population with incoming synapses was split otherwise; hops are counted once, after the
last round (``docs/scale.md``).

**Placement.** Core ``g`` sits on chip ``g // cores_per_chip``; within its chip on tile
``(g % cores_per_chip) // cores_per_tile``, tile ``k`` at ``x = k % tiles_x``, ``y = k //
tiles_x`` (row-major); chips are side by side east-west (global ``x = chip * tiles_x +
x``; chip-to-chip links are priced as tile hops, an assumption).

**Per-neuron events.** ``msg_per_spike``: distinct destination cores of the neuron;
``hops_ew_per_spike`` / ``hops_ns_per_spike``: the summed ``|dx|`` / ``|dy|`` tile
distances from its core to each of them (Manhattan routing, X then Y).

**Timing.** Each Lava Dense delivers one step late. Offsets ``L`` (inputs 0) are the
smallest with ``lava_delay = graph_delay + L(target) - L(source) - 1 >= 0`` for the
smallest delay of every projection: longest paths under the constraints ``L(t) >= L(s) +
1 - d_min`` (Bellman-Ford relaxation). When a cycle makes that infeasible (a loop whose
delays sum to fewer steps than it has projections), only the projections going forward
in the step order constrain ``L``; the others get ``lava_delay = max(0, ...)`` and the
difference is recorded as their timing error in steps. A Lava delay above
``delay_max_steps`` raises a MappingError naming the projection. Lava delays keep the
graph's form: one number, (post, pre) for a dense weight, or one per stored synapse of a
CSR weight (aligned with its data: a DelaySparse, never a dense delay matrix).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, fields
from typing import Any

import numpy as np
import scipy.sparse as sp

from neurocc.backends.family import resource_use
from neurocc.backends.loihi.spec import LoihiSpec
from neurocc.compiler.errors import MappingError
from neurocc.compiler.graph import Graph

MAX_PARTITION_ROUNDS = 16
LIMIT_UNITS = {"neurons_per_core": "neurons per core", "synapses_per_core": "synapses per core",
               "synaptic_memory_per_core_bits": "bits per core",
               "fan_in_axons_per_core": "input axons per core",
               "fan_out_axons_per_core": "output axons per core"}
LIMITS = tuple(LIMIT_UNITS)
HINT = ("Prune small weights (the prune pass), split the layer, or use a target with larger "
        "cores (a copy of the target file with other limits).")


@dataclass(frozen=True)
class Synapses:
    """The stored synapses of one projection and their cost: ``mask`` is a (post, pre) CSR
    matrix whose stored nonzero entries are the synapses (boolean, or the mantissas
    themselves: explicit zeros are not synapses)."""

    name: str
    source: str
    target: str
    mask: sp.csr_array
    bits_per_synapse: int


@dataclass(frozen=True)
class Core:
    """One used core: where it sits and how much of each limit it uses."""

    id: int
    chip: int
    x: int
    y: int
    population: str
    neurons: int
    synapses: int
    synaptic_memory_bits: int
    fan_in_axons: int
    fan_out_axons: int

    def as_dict(self) -> dict[str, Any]:
        """``dataclasses.asdict`` without its deep copy (every field is an int or a str)."""
        return {f.name: getattr(self, f.name) for f in fields(self)}

    def usage(self) -> dict[str, int]:
        return {"neurons_per_core": self.neurons, "synapses_per_core": self.synapses,
                "synaptic_memory_per_core_bits": self.synaptic_memory_bits,
                "fan_in_axons_per_core": self.fan_in_axons,
                "fan_out_axons_per_core": self.fan_out_axons}


@dataclass(frozen=True)
class Placement:
    """Where every neuron sits and what one of its spikes costs in messages and hops."""

    core_of: Mapping[str, np.ndarray]
    msg_per_spike: Mapping[str, np.ndarray]
    hops_ew_per_spike: Mapping[str, np.ndarray]
    hops_ns_per_spike: Mapping[str, np.ndarray]
    cores: Sequence[Core] = field(default_factory=list)

    def max_usage(self) -> dict[str, int]:
        return {limit: max((c.usage()[limit] for c in self.cores), default=0)
                for limit in LIMITS}


# -- incoming structure per population ---------------------------------------------------
@dataclass(frozen=True)
class _Incoming:
    """A population's incoming synapses as the kernels take them (``kernels``): row
    ``i`` of projection ``k`` is ``indices[bounds[k, i]:bounds[k, i + 1]] + offsets[k]``
    (global source ids); ``indices`` is the projections' own array when there is one."""

    bounds: np.ndarray  # (K, n + 1) int64
    indices: np.ndarray
    offsets: np.ndarray  # (K,) int64
    bits: np.ndarray  # (K,) bits per synapse
    synapses: np.ndarray  # per neuron
    memory_bits: np.ndarray  # per neuron


def _offsets(sizes: Mapping[str, int]) -> dict[str, int]:
    starts = np.cumsum([0, *sizes.values()])
    return {name: int(start) for name, start in zip(sizes, starts, strict=False)}


def _stored(mask: sp.csr_array) -> sp.csr_array:
    """``mask`` with explicit zeros dropped (a copy only when it has any)."""
    mask = sp.csr_array(mask)
    if mask.nnz and np.count_nonzero(mask.data) != mask.nnz:
        mask = mask.copy()
        mask.eliminate_zeros()
    return mask


def _incoming(name: str, sizes: Mapping[str, int], synapses: Sequence[Synapses]) -> _Incoming:
    """The incoming synapses of ``name``, without a copy of the indices of a population
    with one incoming projection (several are concatenated, one population at a time)."""
    size, offsets = sizes[name], _offsets(sizes)
    masks = [(_stored(s.mask), offsets[s.source], s.bits_per_synapse)
             for s in synapses if s.target == name]
    if not masks:  # no synapses: one empty projection keeps the kernels' shapes
        masks = [(sp.csr_array((size, 1), dtype=np.int8), 0, 0)]
    starts = np.cumsum([0] + [m.nnz for m, _, _ in masks])
    bounds = np.stack([m.indptr.astype(np.int64) + start
                       for (m, _, _), start in zip(masks, starts, strict=False)])
    indices = masks[0][0].indices if len(masks) == 1 else \
        np.concatenate([m.indices for m, _, _ in masks])
    per_row = np.diff(bounds, axis=1)
    bits = np.array([b for _, _, b in masks], np.int64)
    return _Incoming(bounds, indices, np.array([o for _, o, _ in masks], np.int64), bits,
                     per_row.sum(axis=0), bits @ per_row)


def _single_neuron_check(name: str, costs: Mapping[str, np.ndarray], spec: LoihiSpec) -> None:
    for limit, cost in costs.items():
        worst = int(np.argmax(cost)) if cost.size else 0
        if cost.size and cost[worst] > getattr(spec, limit):
            raise MappingError(f"population '{name}', neuron {worst}",
                               f"alone needs {limit} = {int(cost[worst])}, above the "
                               f"target's limit of {getattr(spec, limit)}.", HINT)


def _pack(name: str, inc: _Incoming, fan_out: np.ndarray, spec: LoihiSpec, total: int
          ) -> tuple[np.ndarray, list[dict[str, int]]]:
    """Greedy contiguous runs of neurons: the run of every neuron and each run's usage.

    Each run is the longest one from its start within every limit, neuron by neuron in one
    compiled pass (``kernels.pack_runs``; the fan-in counted with stamps).
    """
    from neurocc.backends.loihi import kernels as kernels

    size = inc.synapses.size
    costs = {"neurons_per_core": np.ones(size, np.int64), "synapses_per_core": inc.synapses,
             "synaptic_memory_per_core_bits": inc.memory_bits,
             "fan_out_axons_per_core": fan_out}
    _single_neuron_check(name, costs, spec)
    # distinct sources per neuron are at most its synapses: counted only when that can exceed
    if size and int(inc.synapses.max()) > spec.fan_in_axons_per_core:
        _single_neuron_check(name, {"fan_in_axons_per_core": kernels.distinct_sources(
            inc.bounds, inc.indices, inc.offsets, total)}, spec)
    columns = {"neurons_per_core": kernels.NEURONS, "synapses_per_core": kernels.SYNAPSES,
               "synaptic_memory_per_core_bits": kernels.MEMORY_BITS,
               "fan_in_axons_per_core": kernels.FAN_IN,
               "fan_out_axons_per_core": kernels.FAN_OUT}
    limits = np.array([getattr(spec, k) for k in columns], np.int64)
    run_of, usage = kernels.pack_runs(inc.bounds, inc.indices, inc.offsets, inc.bits,
                                      np.asarray(fan_out, np.int64), limits, total)
    return run_of, [{k: int(row[c]) for k, c in columns.items()} for row in usage]


# -- placement and routing ---------------------------------------------------------------
def core_position(core: int, spec: LoihiSpec) -> tuple[int, int, int]:
    """(chip, global x, y) of global core index ``core`` (row-major tiles, chips east-west)."""
    chip, local = divmod(core, spec.cores_per_chip)
    tile = local // spec.cores_per_tile
    y, x = divmod(tile, spec.tiles_x)
    return chip, chip * spec.tiles_x + x, y


def core_positions(n_cores: int, spec: LoihiSpec) -> np.ndarray:
    """(global x, y) of global cores ``0..n_cores-1`` (:func:`core_position`, vectorized)."""
    chip, local = np.divmod(np.arange(n_cores, dtype=np.int64), spec.cores_per_chip)
    y, x = np.divmod(local // spec.cores_per_tile, spec.tiles_x)
    return np.stack([chip * spec.tiles_x + x, y], axis=1)


def _destinations(sizes: Mapping[str, int], incoming: Mapping[str, _Incoming],
                  core_of: Mapping[str, np.ndarray], spec: LoihiSpec | None
                  ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per global neuron: the distinct destination cores of one spike and, with ``spec``,
    the summed east-west and north-south tile hops to them (zeros without). One compiled
    pass over every population's incoming synapses (``kernels``)."""
    from neurocc.backends.loihi import kernels as kernels

    total = sum(sizes.values())
    msg, ew, ns = np.zeros(total, np.int64), np.zeros(total, np.int64), \
        np.zeros(total, np.int64)
    global_core = np.concatenate([core_of[n] for n in sizes]) if total else \
        np.zeros(0, np.int64)
    n_cores = int(global_core.max()) + 1 if total else 1
    position = core_positions(n_cores, spec) if spec is not None else \
        np.zeros((1, 2), np.int64)
    stamp = np.full(total, -1, np.int64)
    for name, inc in incoming.items():
        kernels.count_destinations(inc.bounds, inc.indices, inc.offsets, core_of[name], stamp,
                                   msg, spec is not None, global_core, position, ew, ns)
    return msg, ew, ns


def _split(values: np.ndarray, sizes: Mapping[str, int]) -> dict[str, np.ndarray]:
    offsets = _offsets(sizes)
    return {name: values[offsets[name]:offsets[name] + size] for name, size in sizes.items()}


def _check_capacity(runs: Sequence[tuple[str, dict[str, int]]], spec: LoihiSpec) -> None:
    if len(runs) > spec.cores_available:
        counts: dict[str, int] = {}
        for name, _ in runs:
            counts[name] = counts.get(name, 0) + 1
        biggest = max(counts, key=counts.__getitem__)
        raise MappingError(f"target '{spec.name}'", f"the graph needs {len(runs)} cores, above "
                           f"the limit of {spec.cores_available} (chips x cores_per_chip = "
                           f"{spec.chips} x {spec.cores_per_chip}); population '{biggest}' "
                           f"alone takes {counts[biggest]}.",
                           "Prune or shrink the model, or compile for a copy of the target "
                           "file with more chips.")


def map_network(sizes: Mapping[str, int], synapses: Sequence[Synapses],
                spec: LoihiSpec) -> Placement:
    """Partition populations (``sizes``, in placement order) onto cores and place them.

    A round repacks only the populations whose fan-out cost changed, and recounts the
    messages only when a population with incoming synapses got other runs (the messages
    depend on how the targets are split, not on the core ids)."""
    total = sum(sizes.values())
    incoming = {n: _incoming(n, sizes, synapses) for n in sizes}
    fan_out = {n: np.zeros(s, np.int64) for n, s in sizes.items()}
    packed: dict[str, tuple[np.ndarray, list[dict[str, int]], np.ndarray]] = {}
    msg = np.zeros(total, np.int64)
    for _ in range(MAX_PARTITION_ROUNDS):
        recount = not packed
        for name in sizes:
            if name in packed and np.array_equal(packed[name][2], fan_out[name]):
                continue
            run_of, used = _pack(name, incoming[name], fan_out[name], spec, total)
            if name in packed and not np.array_equal(packed[name][0], run_of):
                recount = recount or bool(incoming[name].indices.size)
            packed[name] = (run_of, used, fan_out[name])
        core_of, runs = _number_cores(sizes, packed)
        _check_capacity(runs, spec)
        if recount:
            msg = _destinations(sizes, incoming, core_of, None)[0]
        per_core = np.bincount(np.concatenate([core_of[n] for n in sizes]) if total
                               else np.zeros(0, np.int64), msg, len(runs))
        if per_core.max(initial=0) <= spec.fan_out_axons_per_core:
            _, ew, ns = _destinations(sizes, incoming, core_of, spec)
            return _placement(sizes, core_of, runs, (msg, ew, ns), per_core, spec)
        fan_out = {n: np.maximum(fan_out[n], v) for n, v in _split(msg, sizes).items()}
    raise MappingError("mapping", f"fan_out_axons_per_core still above the limit of "
                       f"{spec.fan_out_axons_per_core} after {MAX_PARTITION_ROUNDS} rounds.",
                       HINT)


def _number_cores(sizes: Mapping[str, int],
                  packed: Mapping[str, tuple[np.ndarray, list[dict[str, int]], np.ndarray]]
                  ) -> tuple[dict[str, np.ndarray], list[tuple[str, dict[str, int]]]]:
    """Global core ids: each population's runs in placement order."""
    core_of: dict[str, np.ndarray] = {}
    runs: list[tuple[str, dict[str, int]]] = []
    for name in sizes:
        run_of, used, _ = packed[name]
        core_of[name] = run_of + len(runs)
        runs.extend((name, u) for u in used)
    return core_of, runs


def _placement(sizes: Mapping[str, int], core_of: dict[str, np.ndarray],
               runs: Sequence[tuple[str, dict[str, int]]],
               routes: tuple[np.ndarray, np.ndarray, np.ndarray], per_core: np.ndarray,
               spec: LoihiSpec) -> Placement:
    cores = []
    xy = core_positions(len(runs), spec).tolist()  # core_position, for all cores at once
    fan_out = per_core.astype(np.int64).tolist()  # bincount with weights gives floats
    for index, (name, used) in enumerate(runs):
        x, y = xy[index]
        cores.append(Core(index, index // spec.cores_per_chip, x, y, name,
                          used["neurons_per_core"], used["synapses_per_core"],
                          used["synaptic_memory_per_core_bits"], used["fan_in_axons_per_core"],
                          fan_out[index]))
    msg, ew, ns = (_split(v, sizes) for v in routes)
    return Placement(core_of, msg, ew, ns, cores)


def resources(placement: Placement, spec: LoihiSpec, n_neurons: int, n_synapses: int
              ) -> dict[str, Any]:
    """The layout's ``resources`` (``backends.family.resource_use`` entries): cores, chips,
    tiles, neurons and synapses against the target's totals, and each per-core limit's
    largest use."""
    chips = {c.chip for c in placement.cores}
    tiles = {(c.chip, c.x, c.y) for c in placement.cores}
    found = {
        "cores": resource_use(len(placement.cores), spec.cores_available, "cores"),
        "chips": resource_use(len(chips), spec.chips, "chips"),
        "tiles": resource_use(len(tiles), spec.chips * spec.tiles_x * spec.tiles_y, "tiles"),
        "neurons": resource_use(n_neurons, spec.cores_available * spec.neurons_per_core,
                                "neurons"),
        "synapses": resource_use(n_synapses, spec.cores_available * spec.synapses_per_core,
                                 "synapses"),
    }
    for key, used in placement.max_usage().items():
        found[f"max_{key}"] = resource_use(used, getattr(spec, key), LIMIT_UNITS[key])
    return found


# -- timing ------------------------------------------------------------------------------
def _longest_paths(names: Sequence[str], edges: Sequence[tuple[str, str, int]]
                   ) -> tuple[dict[str, int], bool]:
    """Smallest offsets >= 0 with L[t] >= L[s] + w for every edge; False if none exist."""
    offset = dict.fromkeys(names, 0)
    for _ in range(len(names) + 1):
        changed = False
        for source, target, weight in edges:
            if offset[source] + weight > offset[target]:
                offset[target], changed = offset[source] + weight, True
        if not changed:
            return offset, True
    return offset, False


def latency_offsets(graph: Graph) -> tuple[dict[str, int], dict[str, Any]]:
    """Per-population offsets L (see the module docstring) and a record of the choice."""
    edges = [(p.source, p.target, 1 - int(p.delay_steps.min()) if p.delay_steps.size else 1)
             for p in graph.projections.values()]
    offsets, feasible = _longest_paths(list(graph.populations), edges)
    if feasible:
        return offsets, {"exact": True}
    order = {name: i for i, name in enumerate(graph.step_order())}
    forward = [e for e in edges if order[e[0]] < order[e[1]]]
    offsets, _ = _longest_paths(list(graph.populations), forward)
    return offsets, {"exact": False, "note": "a loop is faster in the float graph than one "
                     "Lava step per projection allows: feedback projections arrive late"}


def lava_delays(graph: Graph, offsets: Mapping[str, int], spec: LoihiSpec
                ) -> tuple[dict[str, np.ndarray], dict[str, int]]:
    """Per projection the Lava delays and timing errors in steps.

    The delays keep the graph's form: ``()`` for one delay, ``(post, pre)`` for a
    dense weight, ``(nnz,)`` aligned with a CSR weight's data (never expanded to
    a dense matrix); per-synapse delays that are all equal become ``()``.
    """
    delays, errors = {}, {}
    for name, proj in graph.projections.items():
        desired = proj.delay_steps.astype(np.int64) + offsets[proj.target] \
            - offsets[proj.source] - 1
        actual = np.maximum(desired, 0)
        if np.any(actual != desired):
            errors[name] = int(np.max(actual - desired))
        if actual.ndim and (actual.size == 0 or int(actual.min()) == int(actual.max())):
            actual = np.array(int(actual.max()) if actual.size else 0, np.int64)
        if actual.size and int(actual.max()) > spec.delay_max_steps:
            raise MappingError(f"projection '{name}' ({proj.source} -> {proj.target})",
                               f"needs a Lava delay of {int(actual.max())} steps, above the "
                               f"target's delay_max_steps of {spec.delay_max_steps}.",
                               "Shorten the delays (a coarser dt), relay them through extra "
                               "neurons, or use a target with a longer delay range.")
        delays[name] = actual
    return delays, errors

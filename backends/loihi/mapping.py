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

**At scale.** The greedy runs come without a per-neuron loop: the additive limits by a
search in their running sums, the fan-in over a window that doubles (distinct sources grow
monotonically with the run). Destinations come from each (source, target) mask transposed
once to pre-major CSR: along a neuron's sorted targets the destination cores are
nondecreasing, so new ones are where the core changes, with no sort of all synapses; hops
are computed once, after the last round (``docs/scale.md``).

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
from dataclasses import dataclass, field
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
POSITION_BITS = 32  # _fan_in_fit packs (source, position in window) into one int64 key
# the next fan-in window: the last run length with some room (neighbouring runs are alike)
WINDOW_GROWTH = 1.25
HINT = ("Prune small weights (the prune pass), split the layer, or use a target with larger "
        "cores (a copy of the target file with other limits).")


@dataclass(frozen=True)
class Synapses:
    """The stored synapses of one projection: a (post, pre) boolean CSR mask and their cost."""

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
    synapses: np.ndarray  # per neuron
    memory_bits: np.ndarray  # per neuron
    sources: sp.csr_array  # (neuron, global source neuron): distinct sources per row


def _offsets(sizes: Mapping[str, int]) -> dict[str, int]:
    starts = np.cumsum([0, *sizes.values()])
    return {name: int(start) for name, start in zip(sizes, starts, strict=False)}


def _merged_masks(synapses: Sequence[Synapses]) -> dict[tuple[str, str], sp.csr_array]:
    """One boolean (post, pre) mask per (source, target) pair: the union of its projections'
    masks (two projections between the same populations share axons)."""
    merged: dict[tuple[str, str], sp.csr_array] = {}
    for syn in synapses:
        key = (syn.source, syn.target)
        merged[key] = syn.mask if key not in merged else sp.csr_array(merged[key] + syn.mask)
    for mask in merged.values():
        mask.sort_indices()
    return merged


def _incoming(name: str, sizes: Mapping[str, int], synapses: Sequence[Synapses],
              merged: Mapping[tuple[str, str], sp.csr_array]) -> _Incoming:
    """Per neuron of ``name``: stored synapses, their memory bits and the distinct global
    sources. Built from the CSR masks row by row (no COO of every synapse, no sort)."""
    size = sizes[name]
    counts, bits = np.zeros(size, np.int64), np.zeros(size, np.int64)
    for syn in synapses:
        if syn.target == name:
            per_row = np.diff(syn.mask.indptr)
            counts += per_row
            bits += per_row * syn.bits_per_synapse
    # global source columns: one block per population in placement order, empty where
    # it does not project here (CSR stacking along columns keeps rows, no sort)
    blocks = [sp.csr_array(merged[(src, name)], dtype=np.int8) if (src, name) in merged
              else sp.csr_array((size, n_src), dtype=np.int8) for src, n_src in sizes.items()]
    return _Incoming(counts, bits, sp.csr_array(sp.hstack(blocks, format="csr")))


def _single_neuron_check(name: str, costs: Mapping[str, np.ndarray], spec: LoihiSpec) -> None:
    for limit, cost in costs.items():
        worst = int(np.argmax(cost)) if cost.size else 0
        if cost.size and cost[worst] > getattr(spec, limit):
            raise MappingError(f"population '{name}', neuron {worst}",
                               f"alone needs {limit} = {int(cost[worst])}, above the "
                               f"target's limit of {getattr(spec, limit)}.", HINT)


def _fan_in_fit(inc: _Incoming, start: int, stop: int, limit: int) -> tuple[int, int]:
    """How many neurons from ``start`` (at most ``stop - start``) fit ``limit`` distinct
    sources, and that count of distinct sources (monotone in the run length)."""
    indptr, indices = inc.sources.indptr, inc.sources.indices
    low = int(indptr[start])
    window = indices[low:indptr[stop]]
    # one sort of (source, position) keys: the first key of each source holds where it
    # first occurs in the window
    keys = (window.astype(np.int64) << POSITION_BITS) | np.arange(window.size, dtype=np.int64)
    keys.sort()
    group = np.ones(keys.size, dtype=bool)
    group[1:] = (keys[1:] >> POSITION_BITS) != (keys[:-1] >> POSITION_BITS)
    first = np.sort(keys[group] & ((1 << POSITION_BITS) - 1))
    # distinct sources of the run start..j = first occurrences before neuron j's end
    distinct = np.searchsorted(first, indptr[start + 1:stop + 1] - low, side="left")
    fit = max(int(np.searchsorted(distinct, limit, side="right")), 1)
    return fit, int(distinct[fit - 1])


def _pack(name: str, inc: _Incoming, fan_out: np.ndarray, spec: LoihiSpec
          ) -> list[tuple[int, int, dict[str, int]]]:
    """Greedy contiguous runs of neurons: (start, stop, usage) per core.

    Each run is the longest one from its start within every limit: additive limits by a
    search in their running sums, the fan-in (distinct sources, monotone in the run length)
    over a window that doubles until the fan-in or the additive limits stop it.
    """
    size = inc.synapses.size
    fan_in = np.diff(inc.sources.indptr)
    additive = {"neurons_per_core": np.ones(size, np.int64), "synapses_per_core": inc.synapses,
                "synaptic_memory_per_core_bits": inc.memory_bits,
                "fan_out_axons_per_core": fan_out}
    _single_neuron_check(name, {**additive, "fan_in_axons_per_core": fan_in}, spec)
    limit = {k: int(getattr(spec, k)) for k in LIMITS}
    sums = {k: np.concatenate([[0], np.cumsum(v, dtype=np.int64)]) for k, v in additive.items()}
    runs: list[tuple[int, int, dict[str, int]]] = []
    start, window = 0, 1
    while start < size:
        stop = min(max(int(np.searchsorted(c, c[start] + limit[k], side="right")) - 1,
                       start + 1) for k, c in sums.items())
        while True:
            trial = min(stop, start + window)
            fit, distinct = _fan_in_fit(inc, start, trial, limit["fan_in_axons_per_core"])
            if fit < trial - start or trial == stop:
                break
            window *= 2
        end = start + fit
        used = {k: int(c[end] - c[start]) for k, c in sums.items()}
        used["fan_in_axons_per_core"] = distinct
        runs.append((start, end, used))
        start, window = end, int(fit * WINDOW_GROWTH) + 1
    return runs


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


def _pre_major(merged: Mapping[tuple[str, str], sp.csr_array]
               ) -> dict[tuple[str, str], sp.csr_array]:
    """Each merged mask transposed to (pre, post) CSR with sorted post indices, built once."""
    found = {}
    for key, mask in merged.items():
        t = sp.csr_array(mask.T)
        t.sort_indices()
        found[key] = t
    return found


def _new_destinations(t: sp.csr_array, cores_of_target: np.ndarray
                      ) -> tuple[np.ndarray, np.ndarray]:
    """Destination core per synapse of the (pre, post) mask ``t`` and whether it is the
    first synapse of its pre neuron onto that core."""
    cores = cores_of_target[t.indices]
    new = np.ones(cores.size, dtype=bool)
    new[1:] = cores[1:] != cores[:-1]
    new[t.indptr[:-1][np.diff(t.indptr) > 0]] = True
    return cores, new


def _messages(sizes: Mapping[str, int], pre_major: Mapping[tuple[str, str], sp.csr_array],
              core_of: Mapping[str, np.ndarray]) -> np.ndarray:
    """Per global neuron: the distinct destination cores of one spike.

    A population's neurons sit on cores in nondecreasing order and cores hold one population,
    so along a pre neuron's sorted post indices the destination cores are nondecreasing: a
    destination is new where it differs from the previous one (no sort of all synapses).
    """
    offsets, msg = _offsets(sizes), np.zeros(sum(sizes.values()), np.int64)
    for (source, target), t in pre_major.items():
        _, new = _new_destinations(t, core_of[target])
        # new destinations before each row end, minus those before its start
        ends = np.concatenate([[0], np.cumsum(new, dtype=np.int64)])[t.indptr]
        msg[offsets[source]:offsets[source] + t.shape[0]] += np.diff(ends)
    return msg


def _hops(sizes: Mapping[str, int], pre_major: Mapping[tuple[str, str], sp.csr_array],
          core_of: Mapping[str, np.ndarray], spec: LoihiSpec) -> tuple[np.ndarray, np.ndarray]:
    """Per global neuron: the summed east-west and north-south tile hops of one spike."""
    offsets, total = _offsets(sizes), sum(sizes.values())
    n_cores = int(max((int(c.max()) for c in core_of.values() if c.size), default=-1)) + 1
    position = core_positions(max(n_cores, 1), spec)
    ew, ns = np.zeros(total, np.int64), np.zeros(total, np.int64)
    for (source, target), t in pre_major.items():
        cores, new = _new_destinations(t, core_of[target])
        where = np.flatnonzero(new)
        row = np.repeat(np.arange(t.shape[0], dtype=np.int64), np.diff(t.indptr))[where]
        src = core_of[source][row]
        at = slice(offsets[source], offsets[source] + t.shape[0])
        for axis, out in ((0, ew), (1, ns)):
            hops = np.abs(position[src, axis] - position[cores[where], axis])
            out[at] += np.bincount(row, hops, t.shape[0]).astype(np.int64)
    return ew, ns


def _split(values: np.ndarray, sizes: Mapping[str, int]) -> dict[str, np.ndarray]:
    offsets = _offsets(sizes)
    return {name: values[offsets[name]:offsets[name] + size] for name, size in sizes.items()}


def _partition(sizes: Mapping[str, int], incoming: Mapping[str, _Incoming],
               fan_out: Mapping[str, np.ndarray], spec: LoihiSpec
               ) -> tuple[dict[str, np.ndarray], list[tuple[str, dict[str, int]]]]:
    core_of: dict[str, np.ndarray] = {}
    runs: list[tuple[str, dict[str, int]]] = []
    for name, size in sizes.items():
        cores = np.zeros(size, np.int64)
        for start, stop, used in _pack(name, incoming[name], fan_out[name], spec):
            cores[start:stop] = len(runs)
            runs.append((name, used))
        core_of[name] = cores
    return core_of, runs


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
    """Partition populations (``sizes``, in placement order) onto cores and place them."""
    total = sum(sizes.values())
    merged = _merged_masks(synapses)
    incoming = {n: _incoming(n, sizes, synapses, merged) for n in sizes}
    pre_major = _pre_major(merged)
    fan_out = {n: np.zeros(s, np.int64) for n, s in sizes.items()}
    for _ in range(MAX_PARTITION_ROUNDS):
        core_of, runs = _partition(sizes, incoming, fan_out, spec)
        _check_capacity(runs, spec)
        msg = _messages(sizes, pre_major, core_of)
        per_core = np.bincount(np.concatenate([core_of[n] for n in sizes]) if total
                               else np.zeros(0, np.int64), msg, len(runs))
        if per_core.max(initial=0) <= spec.fan_out_axons_per_core:
            ew, ns = _hops(sizes, pre_major, core_of, spec)
            return _placement(sizes, core_of, runs, (msg, ew, ns), per_core, spec)
        fan_out = {n: np.maximum(fan_out[n], v) for n, v in _split(msg, sizes).items()}
    raise MappingError("mapping", f"fan_out_axons_per_core still above the limit of "
                       f"{spec.fan_out_axons_per_core} after {MAX_PARTITION_ROUNDS} rounds.",
                       HINT)


def _placement(sizes: Mapping[str, int], core_of: dict[str, np.ndarray],
               runs: Sequence[tuple[str, dict[str, int]]],
               routes: tuple[np.ndarray, np.ndarray, np.ndarray], per_core: np.ndarray,
               spec: LoihiSpec) -> Placement:
    cores = []
    for index, (name, used) in enumerate(runs):
        chip, x, y = core_position(index, spec)
        cores.append(Core(index, chip, x, y, name, used["neurons_per_core"],
                          used["synapses_per_core"], used["synaptic_memory_per_core_bits"],
                          used["fan_in_axons_per_core"], int(per_core[index])))
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

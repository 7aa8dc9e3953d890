"""Partition and placement: which core holds each neuron, and which chip each core sits on.

Two mappings (compile option ``mapping``; ``shared/reference/spinnaker.md`` §3, §5, §8):

* ``sequential``: PACMAN's baseline. Each population is cut into contiguous slices of at most
  its per-core budget; cores are taken in order, chip after chip in x-major order.
* ``traffic``: each population is split into the same number of cores by a hypergraph
  partitioner that minimises the multicast traffic (rate x distinct destination cores per
  source neuron), and the cores are placed on a compact rectangle of chips so that the
  multicast trees cross few links (``partition.py``).

Either way a core holds neurons of one population, at most ``cap`` of them, where ``cap`` is
``neurons_per_core`` shrunk until the core's ring buffers (neurons x synapse types x delay
slots) fit ``ring_buffer_bits``. The neuron -> (core, slot) map is part of the result
(``Placement``); the slot is the neuron's rank among its core's neurons, and its routing key is
the core's base key plus the slot (``routing.py``). Per chip the synaptic rows (SDRAM) are
checked after placement. Not built yet: delay-extension cores for delays beyond a core's ring
buffer.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from neurocc.backends.family import resource_use
from neurocc.backends.spinnaker import kernels
from neurocc.backends.spinnaker import partition as hyper
from neurocc.backends.spinnaker.quantize import SynapseTable
from neurocc.backends.spinnaker.section import SYNAPSE_TYPES
from neurocc.backends.targets import TargetSpec
from neurocc.compiler.errors import MappingError
from neurocc.compiler.graph import Graph

RING_SLOT_BYTES = 2  # a ring-buffer slot is a 16-bit word (sPyNNaker synapses.c)
MAPPINGS = ("traffic", "sequential")

# mapping=auto partitions by traffic up to this many synapses: a compile-time policy (the
# partitioner costs 5-120 us of CPU per synapse, benchmarks/mapping.py: at most about 30 s
# here), not a hardware limit.
TRAFFIC_MAX_SYNAPSES = 250_000


@dataclass(frozen=True)
class Core:
    """One application core: how many neurons of which population, where it sits, its cost.

    ``local`` is the processor's index on its chip (the routers' local core number)."""

    population: str
    neurons: int
    chip: int
    x: int
    y: int
    local: int
    ring_buffer_bytes: int
    synapse_bytes: int


@dataclass(frozen=True)
class Placement:
    """The cores (populations in step order, each population's cores in block order), and per
    population the core index and slot of every neuron."""

    cores: list[Core]
    core_of: dict[str, np.ndarray]
    slot_of: dict[str, np.ndarray]


def _bits(count: int) -> int:
    """Bits to index ``count`` things (0 for one)."""
    return max(math.ceil(math.log2(count)), 0) if count > 0 else 0


def _slice_size(name: str, size: int, max_delay: int, spec: TargetSpec) -> int:
    """The largest slice within neurons_per_core whose ring buffers fit ring_buffer_bits."""
    delay_bits, type_bits = _bits(max_delay), _bits(len(SYNAPSE_TYPES))
    atom_bits = spec.ring_buffer_bits - delay_bits - type_bits
    if atom_bits < 0:
        raise MappingError(f"population '{name}'", f"needs delays of {max_delay} ticks: "
                           f"{delay_bits} delay bits + {type_bits} type bits exceed the limit "
                           f"of ring_buffer_bits = {spec.ring_buffer_bits}.",
                           "Shorten the delays (delay extensions are not built yet).")
    return min(size, spec.neurons_per_core, 2 ** atom_bits)


def _incoming(graph: Graph, tables: Mapping[str, SynapseTable], name: str
              ) -> list[SynapseTable]:
    return [tables[p.name] for p in graph.incoming(name)]


def budgets(graph: Graph, tables: Mapping[str, SynapseTable], spec: TargetSpec
            ) -> dict[str, tuple[int, int]]:
    """Per population: (neurons per core at most, ring-buffer bytes of each of its cores)."""
    found = {}
    for name in graph.step_order():
        incoming = _incoming(graph, tables, name)
        max_delay = max((int(t.delay.max()) for t in incoming if t.delay.size), default=1)
        cap = _slice_size(name, graph.populations[name].size, max_delay, spec)
        found[name] = (cap, 2 ** (_bits(cap) + _bits(len(SYNAPSE_TYPES)) + _bits(max_delay))
                       * RING_SLOT_BYTES)
    return found


def unique_pairs(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The distinct (a, b) pairs of two non-negative integer arrays, sorted by a then b (one
    1-D sort of a combined key: much faster than ``np.unique(axis=...)``)."""
    a, b = np.asarray(a, dtype=np.int64), np.asarray(b, dtype=np.int64)
    if not a.size:
        return a, b
    span = int(b.max()) + 1
    both = np.unique(a * span + b)
    return both // span, both % span


def _groups(keys: np.ndarray, pins: np.ndarray) -> list[list[int]]:
    """The distinct ``pins`` of each distinct ``key``, keys in order (hyperedges)."""
    first, second = unique_pairs(keys, pins)
    cuts = np.flatnonzero(np.diff(first)) + 1
    return [g.tolist() for g in np.split(second, cuts)] if first.size else []


def neuron_offsets(graph: Graph) -> dict[str, int]:
    """Each population's first index when all neurons are numbered in one range."""
    sizes = [p.size for p in graph.populations.values()]
    return dict(zip(graph.populations, np.cumsum([0, *sizes[:-1]]).tolist(), strict=True))


def _hyperedges(graph: Graph, tables: Mapping[str, SynapseTable], name: str,
                parts: Mapping[str, np.ndarray], cap: int) -> tuple[list[list[int]], list[int]]:
    """Incoming (per source neuron) and outgoing (per partitioned destination core) pins."""
    base = neuron_offsets(graph)
    inc = [(base[p.source] + tables[p.name].pre, tables[p.name].post)
           for p in graph.incoming(name)]
    # a recurrent source is a pin of its own hyperedge: its own core then costs nothing
    # more, and a core's neurons come to share their targets' cores (small trees)
    for proj in graph.incoming(name):
        if proj.source == name:
            senders = np.unique(tables[proj.name].pre)
            inc.append((base[name] + senders, senders))
    edges = _groups(*map(np.concatenate, zip(*inc, strict=True))) if inc else []
    weights = [1] * len(edges)  # uniform rates: one spike per neuron per unit time
    out = [(base[p.target] + parts[p.target][tables[p.name].post], tables[p.name].pre)
           for p in graph.projections.values() if p.source == name and p.target in parts]
    if out:
        more = _groups(*map(np.concatenate, zip(*out, strict=True)))
        edges += more
        weights += [cap] * len(more)  # a destination core costs a full core's spikes
    return edges, weights


def _blocks(graph: Graph, tables: Mapping[str, SynapseTable], caps: Mapping[str, int],
            mapping: str) -> dict[str, np.ndarray]:
    """Per population, each neuron's block (its core among the population's cores)."""
    parts: dict[str, np.ndarray] = {}
    for name in reversed(graph.step_order()):  # destinations first (outgoing hyperedges)
        size, cap = graph.populations[name].size, caps[name]
        if mapping == "sequential":
            parts[name] = np.arange(size, dtype=np.int64) // cap
        else:
            parts[name] = hyper.split(size, cap, *_hyperedges(graph, tables, name, parts, cap))
    return parts


def _slots(block: np.ndarray) -> np.ndarray:
    """Each neuron's rank among the neurons of its block (ascending neuron index)."""
    order = np.lexsort((np.arange(block.size), block))
    slots = np.empty(block.size, dtype=np.int64)
    starts = np.searchsorted(block[order], block[order])
    slots[order] = np.arange(block.size) - starts
    return slots


def _core_edges(placement_of: Mapping[str, np.ndarray], graph: Graph,
                tables: Mapping[str, SynapseTable], n_cores: int
                ) -> tuple[list[list[int]], list[int]]:
    """One hyperedge per source core: the core and its destination cores; weight: neurons."""
    pairs = [(placement_of[p.source][tables[p.name].pre],
              placement_of[p.target][tables[p.name].post]) for p in graph.projections.values()]
    if not pairs:
        return [], []
    src, dst = unique_pairs(*map(np.concatenate, zip(*pairs, strict=True)))
    senders = np.unique(src)  # the source core belongs to its own tree
    neurons = np.bincount(np.concatenate(list(placement_of.values())), minlength=n_cores)
    return (_groups(np.concatenate([src, senders]), np.concatenate([dst, senders])),
            neurons[senders].tolist())


def _chips(n_cores: int, edges: tuple[list[list[int]], list[int]], spec: TargetSpec,
           mapping: str) -> list[tuple[int, int]]:
    """Per core, its chip (x, y)."""
    per_chip = spec.cores_per_chip
    if mapping == "sequential":
        return [(c // per_chip % spec.chips_x, c // per_chip // spec.chips_x)
                for c in range(n_cores)]
    region = hyper.chip_region(-(-n_cores // per_chip), spec.chips_x, spec.chips_y)
    return [region[i] for i in hyper.place(n_cores, *edges, region, per_chip).tolist()]


def by_post(post: np.ndarray, pre: np.ndarray, n_post: int) -> tuple[np.ndarray, np.ndarray]:
    """``(ptr, pre)`` with post ``p``'s synapses at ``pre[ptr[p]:ptr[p + 1]]`` (CSR order:
    no copy when ``post`` is already nondecreasing, as a CSR projection's are)."""
    if not kernels.is_sorted(post):
        order = np.argsort(post, kind="stable")
        post, pre = post[order], pre[order]
    return np.searchsorted(post, np.arange(n_post + 1)), pre


def distinct_sources(tables: list[tuple[np.ndarray, np.ndarray]], core_of_post: np.ndarray,
                     n_cores: int, n_pre: int) -> np.ndarray:
    """Per core, the distinct presynaptic neurons of the ``(post, pre)`` synapses of
    ``tables`` (projections from one source into one target population): one pass over
    the synapses, core by core, instead of a sort of every (core, pre) pair."""
    if not tables:
        return np.zeros(n_cores, dtype=np.int64)
    parts = [by_post(post, pre, core_of_post.size) for post, pre in tables]
    pres = [pre for _, pre in parts]
    pre = pres[0] if len(pres) == 1 else np.concatenate(pres)
    offsets = np.cumsum([0, *(p.size for p in pres[:-1])]).astype(np.int64)
    order = np.argsort(core_of_post, kind="stable")
    return kernels.distinct_per_group(np.stack([ptr for ptr, _ in parts]), pre, offsets,
                                      order, core_of_post, n_cores, n_pre)


def _synapse_bytes(tables: list[SynapseTable], core: np.ndarray, n_cores: int,
                   spec: TargetSpec) -> np.ndarray:
    """SDRAM rows per core: a header per (projection, presynaptic neuron) plus one word each."""
    total = np.zeros(n_cores, dtype=np.int64)
    for table in tables:
        n_pre = int(table.pre.max()) + 1 if table.pre.size else 0
        rows = distinct_sources([(table.post, table.pre)], core, n_cores, n_pre)
        words = np.bincount(core, weights=np.bincount(table.post, minlength=core.size),
                            minlength=n_cores).astype(np.int64)
        total += (words + rows * spec.row_header_words) * spec.synapse_word_bytes
    return total


def partition(graph: Graph, tables: Mapping[str, SynapseTable], spec: TargetSpec,
              mapping: str = "traffic") -> Placement:
    """Cores and the neuron map; a MappingError naming the limit when the network is too big."""
    found = budgets(graph, tables, spec)
    parts = _blocks(graph, tables, {n: cap for n, (cap, _) in found.items()}, mapping)
    order = graph.step_order()
    first = dict(zip(order, np.cumsum([0, *(int(parts[n].max()) + 1 for n in order)]).tolist(),
                     strict=False))
    core_of = {n: parts[n] + first[n] for n in order}
    n_cores = sum(int(parts[n].max()) + 1 for n in order)
    _fits("cores", n_cores, total_cores(spec), "cores", spec)
    edges = (_core_edges(core_of, graph, tables, n_cores) if mapping == "traffic"
             else ([], []))  # the sequential placement takes chips in order
    chips = _chips(n_cores, edges, spec, mapping)
    cores: list[Core] = []
    seen: dict[tuple[int, int], int] = {}
    for name in order:
        counts = np.bincount(parts[name])
        synapse = _synapse_bytes(_incoming(graph, tables, name), core_of[name], n_cores, spec)
        for block, count in enumerate(counts.tolist()):
            index = first[name] + block
            x, y = chips[index]
            seen[(x, y)] = seen.get((x, y), -1) + 1
            cores.append(Core(name, count, y * spec.chips_x + x, x, y, seen[(x, y)],
                              found[name][1], int(synapse[index])))
    _check_fits(cores, spec)
    return Placement(cores, core_of, {n: _slots(parts[n]) for n in order})


def traffic(graph: Graph, synapses: Mapping[str, tuple[np.ndarray, np.ndarray]],
            placement: Placement) -> int:
    """Multicast traffic at unit rates: sum over source neurons of distinct destination cores
    (``synapses``: per projection, the (pre, post) of its stored synapses), counted per
    destination core as its distinct sources (the same pairs)."""
    groups: dict[tuple[str, str], list[tuple[np.ndarray, np.ndarray]]] = {}
    for p in graph.projections.values():
        pre, post = synapses[p.name]
        if pre.size:
            groups.setdefault((p.source, p.target), []).append((post, pre))
    n_cores = len(placement.cores)
    return sum(int(distinct_sources(tables, placement.core_of[target], n_cores,
                                    graph.populations[source].size).sum())
               for (source, target), tables in groups.items())


def _fits(what: str, used: int, limit: int, unit: str, spec: TargetSpec) -> None:
    if used > limit:
        raise MappingError(f"target '{spec.name}'", f"the network needs {what} = {used} "
                           f"{unit}, above the limit of {limit}.",
                           "Prune the model, or compile for a larger target (a copy of the "
                           "target file with a bigger mesh).")


def _check_fits(cores: list[Core], spec: TargetSpec) -> None:
    _fits("cores", len(cores), total_cores(spec), "cores", spec)
    _fits("ring buffer per core", max(c.ring_buffer_bytes for c in cores),
          spec.dtcm_per_core_bytes, "bytes", spec)
    _fits("synaptic rows per chip", max(sdram_per_chip(cores).values()),
          spec.sdram_per_chip_bytes, "bytes", spec)


def total_cores(spec: TargetSpec) -> int:
    return int(spec.chips_x * spec.chips_y * spec.cores_per_chip)


def sdram_per_chip(cores: list[Core]) -> dict[int, int]:
    used: dict[int, int] = {}
    for core in cores:
        used[core.chip] = used.get(core.chip, 0) + core.synapse_bytes
    return used


def resources(cores: list[Core], spec: TargetSpec) -> dict[str, dict[str, Any]]:
    """The ``layout["resources"]`` entries against the target's limits."""
    return {
        "cores": resource_use(len(cores), total_cores(spec), "cores"),
        "chips": resource_use(len({c.chip for c in cores}), spec.chips_x * spec.chips_y,
                              "chips"),
        "neurons_per_core": resource_use(max(c.neurons for c in cores),
                                         spec.neurons_per_core, "neurons"),
        "ring_buffer_per_core": resource_use(max(c.ring_buffer_bytes for c in cores),
                                             spec.dtcm_per_core_bytes, "bytes"),
        "sdram_per_chip": resource_use(max(sdram_per_chip(cores).values()),
                                       spec.sdram_per_chip_bytes, "bytes"),
    }

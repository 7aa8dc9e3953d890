"""Partition and placement: contiguous slices of each population, cores taken in order.

This is PACMAN's baseline (``shared/reference/spinnaker.md`` §3): each population is cut into
contiguous slices of at most ``neurons_per_core`` neurons, shrunk until the slice's ring
buffers (neurons x synapse types x delay slots) fit ``ring_buffer_bits``; cores are taken in
order, chip after chip in x-major order over the mesh (keys and routing tables: ``routing.py``).
Not built yet: traffic-aware partitioning, delay-extension cores for delays beyond a core's
ring buffer.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from neurocc.backends.family import resource_use
from neurocc.backends.spinnaker.quantize import SynapseTable
from neurocc.backends.spinnaker.section import SYNAPSE_TYPES
from neurocc.backends.targets import TargetSpec
from neurocc.compiler.errors import MappingError
from neurocc.compiler.graph import Graph

RING_SLOT_BYTES = 2  # a ring-buffer slot is a 16-bit word (sPyNNaker synapses.c)


@dataclass(frozen=True)
class Core:
    """One application core: the slice ``[lo, hi)`` of a population, where it sits, its cost."""

    population: str
    lo: int
    hi: int
    chip: int
    x: int
    y: int
    ring_buffer_bytes: int
    synapse_bytes: int


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


def _synapse_bytes(tables: list[SynapseTable], lo: int, hi: int, spec: TargetSpec) -> int:
    """SDRAM rows of a slice: a header per (projection, presynaptic neuron) plus one word each."""
    total = 0
    for table in tables:
        inside = (table.post >= lo) & (table.post < hi)
        rows = np.unique(table.pre[inside]).size
        total += (int(inside.sum()) + rows * spec.row_header_words) * spec.synapse_word_bytes
    return total


def _incoming(graph: Graph, tables: Mapping[str, SynapseTable], name: str) -> list[SynapseTable]:
    return [tables[p.name] for p in graph.incoming(name)]


def partition(graph: Graph, tables: Mapping[str, SynapseTable], spec: TargetSpec
              ) -> list[Core]:
    """Cores in step order, placed in order; a MappingError naming the limit when full."""
    cores: list[Core] = []
    for name in graph.step_order():
        incoming = _incoming(graph, tables, name)
        max_delay = max((int(t.delay.max()) for t in incoming if t.delay.size), default=1)
        size = graph.populations[name].size
        step = _slice_size(name, size, max_delay, spec)
        ring = 2 ** (_bits(step) + _bits(len(SYNAPSE_TYPES)) + _bits(max_delay)) * RING_SLOT_BYTES
        for lo in range(0, size, step):
            hi = min(lo + step, size)
            chip = len(cores) // spec.cores_per_chip
            cores.append(Core(name, lo, hi, chip, chip % spec.chips_x, chip // spec.chips_x,
                              ring, _synapse_bytes(incoming, lo, hi, spec)))
    _check_fits(cores, spec)
    return cores


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
        "neurons_per_core": resource_use(max(c.hi - c.lo for c in cores),
                                         spec.neurons_per_core, "neurons"),
        "ring_buffer_per_core": resource_use(max(c.ring_buffer_bytes for c in cores),
                                             spec.dtcm_per_core_bytes, "bytes"),
        "sdram_per_chip": resource_use(max(sdram_per_chip(cores).values()),
                                       spec.sdram_per_chip_bytes, "bytes"),
    }

"""The one counter vocabulary every engine reports in (``SimResult.counters``).

Each counter is a total over the whole batch and every step of a run; the
report divides by the number of inferences. An engine reports the counters its
family's energy model prices and may leave others out; it never invents a name
outside this table (the conformance tests check it), so reports can put
families side by side. ``docs/simulation.md`` shows this table.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from neurocc.compiler.errors import SimulationError


@dataclass(frozen=True)
class Counter:
    """One event type: its name, unit and exact meaning."""

    name: str
    unit: str
    meaning: str


COUNTERS: dict[str, Counter] = {c.name: c for c in (
    Counter("synops", "operations", "synaptic operations: for every spike a projection delivers "
            "(within the run), the stored synapses with nonzero weight of its source neuron"),
    Counter("spikes", "spikes", "spikes emitted by non-input neurons"),
    Counter("input_spikes", "spikes", "spikes of the input populations (the given input)"),
    Counter("neuron_updates", "updates", "neuron state updates: non-input neurons x steps x "
            "batch"),
    Counter("neuron_updates_active", "updates", "of neuron_updates, those with nonzero input or "
            "nonzero state before the step (engines that skip idle neurons price these)"),
    Counter("spike_messages", "messages", "spike packets sent into the on-chip network: one per "
            "(spike, distinct destination core)"),
    Counter("packets", "packets", "multicast packets a source core sends: one per spike of a "
            "neuron with at least one synapse (routers replicate it to every target core)"),
    Counter("payload_packets", "packets", "of packets, those carrying a 32-bit payload (graded "
            "events: an EGRU event sends its value)"),
    Counter("hops_eastwest", "hops", "east-west mesh link traversals of those messages"),
    Counter("hops_northsouth", "hops", "north-south mesh link traversals of those messages"),
    Counter("packet_hops", "hops", "mesh links the multicast packets (`packets`) cross: per "
            "packet, the links of its source core's multicast tree (a link carries one copy of "
            "a packet however many cores lie beyond it)"),
    Counter("steps", "steps", "time steps x batch (one barrier synchronisation each)"),
    Counter("array_reads", "reads", "crossbar array reads: one per (array, step, sample) with "
            "at least one active input row"),
    Counter("tiles_skipped", "reads", "crossbar array reads skipped: (array, step, sample) "
            "with no active input row, so no drive, read or conversion"),
    Counter("conversions", "conversions", "ADC conversions: per array read, its used output "
            "columns x weight slices (a differential pair is one conversion)"),
    Counter("adc_clips", "conversions", "of conversions, those whose input was beyond the "
            "ADC's full scale (the result saturated)"),
    Counter("dac_drives", "drives", "input rows driven: active (nonzero) input rows per array "
            "read"),
    Counter("cell_reads", "cells", "devices conducting in a read: active rows x used device "
            "columns (both devices of each differential pair) per array read"),
)}


def check_counters(engine: str, counters: Mapping[str, float]) -> None:
    """A SimulationError when ``engine`` reports a counter outside :data:`COUNTERS`."""
    unknown = sorted(set(counters) - set(COUNTERS))
    if unknown:
        raise SimulationError(f"engine '{engine}'", f"reports counters {unknown} outside the "
                              "shared vocabulary.",
                              f"Use the names of sim/counters.py ({', '.join(COUNTERS)}) or add "
                              "the new event type there with its unit and meaning.")

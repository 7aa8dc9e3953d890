"""SpiNNaker energy: the toolchain's own model (SpiNNMachine), priced through ``price``.

E = idle power of the chips used x time + active power of the cores used x time + router
passes x energy per packet (``shared/reference/spinnaker.md`` §1). The per-packet figure is a
router's (25 pJ/bit x a 40-bit packet), so a spike pays it once on its source chip
(``packets``) and once more for every link its multicast tree crosses into another chip's
router (``packet_hops``); a packet with a 32-bit payload (a graded EGRU event) costs the
72-bit figure: its extra over the 40-bit packet is priced on ``payload_packets``. The chip
runs in real time, so an
inference lasts its ticks x dt; the power figures of the target become energies per tick here
(entries marked ``derived``, with the target figure as their source).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

from neurocc.backends import target_of
from neurocc.backends.artifact import Artifact
from neurocc.backends.energy import Operation, price
from neurocc.backends.targets import Entry, TargetSpec

PJ_PER_J = 1e12
NS_PER_S = 1e9


def _per_tick(spec: TargetSpec, key: str, units: int, dt_s: float) -> Entry:
    """A power figure times ``units`` (chips or cores) times one tick, in pJ."""
    figure = spec.entries[key]
    return Entry(figure.value * units * dt_s * PJ_PER_J,
                 f"{key} = {figure.value} W x {units} x dt = {dt_s} s ({figure.source})",
                 figure.bound, "derived")


def _payload_extra(spec: TargetSpec) -> Entry:
    """What a payload packet costs above a plain one (both figures from the target)."""
    payload, plain = (spec.entries[k] for k in ("energy_per_payload_packet_pj",
                                                "energy_per_packet_pj"))
    return Entry(payload.value - plain.value, f"energy_per_payload_packet_pj {payload.value} - "
                 f"energy_per_packet_pj {plain.value} ({payload.source})", payload.bound,
                 "derived")


def tick_spec(spec: TargetSpec, chips: int, cores: int, dt_s: float) -> TargetSpec:
    """The target with the per-tick entries the operations below price."""
    tick = Entry(dt_s * NS_PER_S, f"the real-time tick dt = {dt_s} s", None, None)
    idle = Entry(0.0, "the cores compute within the tick (counted in the tick's time)")
    entries = {**spec.entries,
               "energy_per_tick_idle_chips_pj": _per_tick(spec, "power_idle_chip_w", chips,
                                                          dt_s),
               "energy_per_tick_active_cores_pj": _per_tick(spec, "power_active_core_w", cores,
                                                            dt_s),
               "time_per_tick_ns": tick, "time_within_tick_ns": idle,
               "energy_per_payload_extra_pj": _payload_extra(spec)}
    return dataclasses.replace(spec, entries=entries)


OPERATIONS = (
    Operation("idle_chips", "steps", "energy_per_tick_idle_chips_pj", "time_per_tick_ns"),
    Operation("active_cores", "steps", "energy_per_tick_active_cores_pj",
              "time_within_tick_ns"),
    Operation("packets", "packets", "energy_per_packet_pj", "time_per_packet_ns"),
    Operation("packet_hops", "packet_hops", "energy_per_packet_pj", "time_per_packet_ns"),
    Operation("payloads", "payload_packets", "energy_per_payload_extra_pj",
              "time_per_packet_ns"),
)


def energy_for_artifact(artifact: Artifact, counters: Mapping[str, float],
                        n_inferences: int) -> dict[str, Any]:
    """The energy record of a run of ``artifact``'s exact engine."""
    resources = artifact.layout["resources"]
    spec = tick_spec(target_of(artifact), int(resources["chips"]["used"]),
                     int(resources["cores"]["used"]), artifact.graph.dt_s)
    return price(spec, OPERATIONS, counters, n_inferences,
                 "real time: ticks x dt, whatever the work in a tick")

"""Crossbar energy and latency per inference, priced through ``price`` (``docs/crossbar.md``).

E = array reads x E_read + active cells x V_read^2 G_mean t_read + conversions x E_ADC
    + driven rows x E_DAC + neuron updates x E_neuron

``G_mean`` is the mean target conductance of the devices the artifact programs (a derived
entry). Skipped reads (``tiles_skipped``) cost nothing; the record's ``skipping`` field says
what they would have cost: per skipped read, E_read plus the mean conversions per read x E_ADC.
Times add up serially (one array at a time): arrays of a chip read in parallel, so the time
is an upper estimate.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

import numpy as np

from neurocc.backends import target_of
from neurocc.backends.artifact import Artifact
from neurocc.backends.crossbar.section import SECTION
from neurocc.backends.energy import Operation, price
from neurocc.backends.targets import Entry, TargetSpec

PJ_PER_J = 1e12
S_PER_NS = 1e-9
S_PER_US = 1e-6

OPERATIONS = (
    Operation("array_reads", "array_reads", "energy_per_array_read_pj", "time_per_array_read_ns"),
    Operation("cell_reads", "cell_reads", "energy_per_cell_read_pj", "time_within_read_ns"),
    Operation("conversions", "conversions", "energy_per_conversion_pj", "time_per_conversion_ns"),
    Operation("dac_drives", "dac_drives", "energy_per_dac_drive_pj", "time_per_dac_drive_ns"),
    Operation("neuron_updates", "neuron_updates", "energy_per_neuron_update_pj",
              "time_per_neuron_update_ns"),
)


def mean_conductance_us(artifact: Artifact, spec: TargetSpec) -> float:
    """Mean target conductance over every programmed device (both of each pair)."""
    steps = int(spec.levels) - 1
    dg = (spec.g_max_us - spec.g_min_us) / steps
    total, count = 0.0, 0
    for codes in artifact.sections[SECTION].values():
        total += 2 * codes.size * spec.g_min_us + dg * float(np.abs(codes).sum())
        count += 2 * codes.size
    return total / count if count else spec.g_min_us


def cell_spec(artifact: Artifact, spec: TargetSpec) -> TargetSpec:
    """The target with the per-cell read energy V^2 G_mean t_read (derived)."""
    g = mean_conductance_us(artifact, spec)
    read = spec.entries["time_per_array_read_ns"]
    value = spec.v_read_v ** 2 * g * S_PER_US * read.value * S_PER_NS * PJ_PER_J
    cell = Entry(value, f"v_read_v^2 x mean G {g:.3g} uS x time_per_array_read_ns "
                 f"({read.source})", None, "derived")
    within = Entry(0.0, "cells conduct within the array read (counted in its time)")
    return dataclasses.replace(spec, entries={**spec.entries, "energy_per_cell_read_pj": cell,
                                              "time_within_read_ns": within})


def energy_for_artifact(artifact: Artifact, counters: Mapping[str, float],
                        n_inferences: int) -> dict[str, Any]:
    """The energy record of a run of ``artifact``'s analog engine, with the skipping saving."""
    spec = cell_spec(artifact, target_of(artifact))
    record = price(spec, OPERATIONS, counters, n_inferences,
                   "serial sum: arrays of a chip read in parallel, so an upper estimate")
    reads = counters.get("array_reads", 0)
    per_read = counters.get("conversions", 0) / reads if reads else 0.0
    skipped = counters.get("tiles_skipped", 0) / n_inferences
    saved = skipped * (spec.energy_per_array_read_pj + per_read * spec.energy_per_conversion_pj)
    record["skipping"] = {"reads_skipped_per_inference": skipped,
                          "conversions_per_read": per_read, "energy_saved_pj": saved,
                          "note": "arrays with no active input row in a step are not read"}
    return record

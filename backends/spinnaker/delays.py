"""Delays: on-core ring-buffer slots and sPyNNaker's delay-extension stages.

A core's ring buffer holds delays of ``delay_min_steps`` to ``D = delay_max_on_core_steps``
ticks (``shared/reference/spinnaker.md`` §2.7). A longer delay ``d`` goes through the source
population's delay-extension vertex, as sPyNNaker's ``DelayExtensionVertex`` does: the
synapse is stored in the row of stage ``s = (d - 1) // D`` with the residual delay
``d - s * D`` (in ``[1, D]``), and the extension core re-sends the source's spike ``s * D``
ticks after it fired, once per stage that has synapses. Stages run up to
``delay_extension_slots - 1``, so the longest delay is ``slots * D``; a longer one is a
``MappingError`` naming the projection, never dropped.

The extension cores (``<source>.delay``, one per source core, as sPyNNaker gives the
extension the source's atoms) are placed after the neuron cores (first free processor, chips
in x-major order), counted in the resources
and routed like any core: the source's packets reach them, and they send to the targets of
the delayed synapses.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

import numpy as np

from neurocc.backends.targets import TargetSpec
from neurocc.compiler.errors import MappingError

if TYPE_CHECKING:  # mapping imports quantize, which imports this module
    from neurocc.backends.spinnaker.mapping import Core, Placement

EXTENSION_SUFFIX = ".delay"  # the extension vertex of population P is "P.delay"


def split(name: str, delay: np.ndarray, spec: TargetSpec) -> tuple[np.ndarray, np.ndarray]:
    """``(stage, residual)`` per synapse; a MappingError beyond the longest delay."""
    on_core = int(spec.delay_max_on_core_steps)
    longest = on_core * int(spec.delay_extension_slots)
    if delay.size and int(delay.max()) > longest:
        raise MappingError(f"projection '{name}'", f"has a delay of {int(delay.max())} ticks; "
                           f"the longest the target carries is delay_extension_slots x "
                           f"delay_max_on_core_steps = {spec.delay_extension_slots} x "
                           f"{on_core} = {longest} ticks.",
                           "Shorten the delay, chain it through a relay population, or "
                           "compile for a target copy with more delay_extension_slots.")
    stage = (delay - 1) // on_core
    return stage.astype(np.int64), (delay - stage * on_core).astype(np.int64)


def extension_name(source: str) -> str:
    return f"{source}{EXTENSION_SUFFIX}"


def extension_cores(delayed: Mapping[str, int], placement: Placement, spec: TargetSpec
                    ) -> tuple[list[Core], dict[str, np.ndarray]]:
    """One extension core per core of every source population with a delayed synapse, each
    on the first chip (x-major) with a free processor after the neuron cores, and per
    extension the core of every source neuron (its atoms keep their slots)."""
    from neurocc.backends.spinnaker.mapping import Core
    cores = placement.cores
    used: dict[tuple[int, int], int] = {}
    for core in cores:
        used[(core.x, core.y)] = used.get((core.x, core.y), 0) + 1
    chips = [(x, y) for y in range(spec.chips_y) for x in range(spec.chips_x)]
    added: list[Core] = []
    core_of: dict[str, np.ndarray] = {}
    for source in delayed:
        own = sorted({int(c) for c in np.unique(placement.core_of[source])})
        index = {}
        for c in own:
            free = next((chip for chip in chips if used.get(chip, 0) < spec.cores_per_chip),
                        chips[-1])  # a full mesh: the core-count check reports it
            index[c] = len(cores) + len(added)
            added.append(Core(extension_name(source), cores[c].neurons,
                              free[1] * spec.chips_x + free[0], free[0], free[1],
                              used.get(free, 0), 0, 0))
            used[free] = used.get(free, 0) + 1
        lookup = np.zeros(len(cores), dtype=np.int64)
        lookup[own] = [index[c] for c in own]
        core_of[extension_name(source)] = lookup[placement.core_of[source]]
    return added, core_of


def stage_masks(source_size: int, pre: np.ndarray, stage: np.ndarray) -> dict[int, np.ndarray]:
    """Per stage >= 1, the source neurons the extension re-sends at that stage."""
    masks = {}
    for s in np.unique(stage[stage > 0]).tolist():
        mask = np.zeros(source_size, dtype=bool)
        mask[pre[stage == s]] = True
        masks[int(s)] = mask
    return masks

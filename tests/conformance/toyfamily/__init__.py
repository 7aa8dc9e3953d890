"""A whole chip family in one folder: what adding a family takes (the conformance tests use it).

"toy" rounds every weight to a grid of ``weight_step`` (its number format),
holds at most ``neurons_per_chip`` neurons and ``synapses_per_chip`` synapses,
simulates with the float reference engine on the rounded weights, and prices
synaptic operations and neuron updates. It registers with one call,
``register_family(FAMILY)`` (built-in families are one line in
``neurocc.backends.BUILTIN_FAMILIES``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np

from neurocc.backends import target_of
from neurocc.backends.artifact import Artifact
from neurocc.backends.energy import Operation, price
from neurocc.backends.family import Family, resource_use
from neurocc.backends.targets import TargetSchema, TargetSpec
from neurocc.compiler.errors import MappingError
from neurocc.compiler.graph import Graph
from neurocc.sim.reference import run_graph
from neurocc.sim.result import SimResult

SECTION = "toy"
SCHEMA = TargetSchema({
    "chip": {"neurons_per_chip": (int, 1), "synapses_per_chip": (int, 1)},
    "format": {"weight_step": (float, 0)},
    "energy": {"energy_per_synop_pj": (float, 0), "energy_per_neuron_update_pj": (float, 0),
               "time_per_synop_ns": (float, 0), "time_per_neuron_update_ns": (float, 0)},
})


@dataclass(frozen=True)
class ToyOptions:
    rounding: Literal["nearest", "down"] = field(default="nearest", metadata={
        "help": "how weights reach the grid"})


def _fits(name: str, used: int, limit: int, spec: TargetSpec) -> None:
    if used > limit:
        raise MappingError(f"target '{spec.name}'", f"the graph needs {name} = {used}, above "
                           f"the limit of {limit}.", "Prune the model or use a larger target.")


def compile_toy(graph: Graph, spec: TargetSpec, rounding: str = "nearest") -> Artifact:
    neurons = sum(p.size for p in graph.populations.values() if p.model != "input")
    synapses = sum(int(np.count_nonzero(p.dense_weight())) for p in graph.projections.values())
    _fits("neurons", neurons, spec.neurons_per_chip, spec)
    _fits("synapses", synapses, spec.synapses_per_chip, spec)
    snap = np.round if rounding == "nearest" else np.floor
    arrays = {f"proj/{n}/weight": snap(p.dense_weight() / spec.weight_step).astype(np.int64)
              for n, p in graph.projections.items()}
    resources = {"neurons": resource_use(neurons, spec.neurons_per_chip, "neurons"),
                 "synapses": resource_use(synapses, spec.synapses_per_chip, "synapses")}
    graph = graph.with_record("toy.quantize", weight_step=spec.weight_step)
    graph = graph.with_record("toy.map", neurons=neurons, synapses=synapses)
    return Artifact(spec.name, "toy", graph, {"resources": resources}, {SECTION: arrays})


def run_toy(artifact: Artifact, spikes: np.ndarray, *, record_states: bool = False,
            progress: bool = False) -> SimResult:
    step = target_of(artifact).weight_step
    arrays = artifact.sections[SECTION]
    projections = {n: type(p)(n, p.source, p.target, arrays[f"proj/{n}/weight"] * step,
                              p.delay_steps, p.metadata)
                   for n, p in artifact.graph.projections.items()}
    rounded = artifact.graph.replace(projections=projections)
    return run_graph(rounded, spikes, record_states=record_states, progress=progress)


def energy_toy(artifact: Artifact, counters: Mapping[str, float],
               n_inferences: int) -> dict[str, Any]:
    operations = (Operation("synops", "synops", "energy_per_synop_pj", "time_per_synop_ns"),
                  Operation("neuron_updates", "neuron_updates", "energy_per_neuron_update_pj",
                            "time_per_neuron_update_ns"))
    return price(target_of(artifact), operations, counters, n_inferences)


FAMILY = Family(
    name="toy", description="a test family: weights on a grid, one chip",
    compile=f"{__name__}:compile_toy", options=ToyOptions, schema=SCHEMA,
    targets_dir=Path(__file__).parent / "targets", exact_engine=f"{__name__}:run_toy",
    energy_model=f"{__name__}:energy_toy", sections=(SECTION,),
    lowering=("toy.quantize", "toy.map"), demo_target="toy1")

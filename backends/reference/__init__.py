"""The ``reference`` target: the float graph itself, no quantization, no mapping."""

from __future__ import annotations

from typing import Any

from neurocc.backends.artifact import Artifact
from neurocc.backends.family import resource_use
from neurocc.compiler.graph import Graph

REFERENCE_TARGET = "reference"


def compile_reference(graph: Graph, target: Any = REFERENCE_TARGET, **_: Any) -> Artifact:
    """An artifact holding ``graph`` unchanged; resources count neurons and synapses."""
    synapses = sum(p.synapse_count() for p in graph.projections.values())
    neurons = sum(p.size for p in graph.populations.values() if p.model != "input")
    resources = {"neurons": resource_use(neurons, None, "neurons"),
                 "synapses": resource_use(synapses, None, "synapses")}
    graph = graph.with_record("reference.resources", neurons=neurons, synapses=synapses)
    return Artifact(REFERENCE_TARGET, REFERENCE_TARGET, graph, {"resources": resources})

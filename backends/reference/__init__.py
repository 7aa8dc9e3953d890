"""The ``reference`` target: the float graph itself, no quantization, no mapping."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from neurocc.backends.artifact import Artifact
from neurocc.compiler.graph import Graph


def compile_reference(graph: Graph, target: str | Path = "reference", **_: Any) -> Artifact:
    """An artifact holding ``graph`` unchanged; resources count neurons and synapses."""
    synapses = sum(int(p.weight.nnz) if p.is_sparse else int((p.dense_weight() != 0).sum())
                   for p in graph.projections.values())
    neurons = sum(p.size for p in graph.populations.values() if p.model != "input")
    layout = {"resources": {"neurons": neurons, "synapses": synapses,
                            "populations": len(graph.populations),
                            "projections": len(graph.projections)}}
    return Artifact("reference", "reference", graph, layout)

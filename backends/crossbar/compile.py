"""``compile_crossbar``: quantize every projection to conductance levels and tile it onto arrays.

The artifact's section ``crossbar`` holds each array's signed slice digits (``section.py``);
the layout holds the tiles (projection, delay, source rows, target columns, scale), the
populations, the resources and ``latency_steps`` (0: the periphery updates the neurons in the
step the array is read). Two history records: ``crossbar.quantize`` (per projection the
largest weight rounding error) and ``crossbar.map`` (arrays and cells used).
"""

from __future__ import annotations

import dataclasses
from typing import Any

from neurocc.backends.artifact import Artifact
from neurocc.backends.crossbar.mapping import map_graph, resources
from neurocc.backends.crossbar.section import INPUT_MODEL, SECTION, tile_key
from neurocc.backends.targets import TargetSpec
from neurocc.compiler.errors import MappingError
from neurocc.compiler.graph import Graph


def compile_crossbar(graph: Graph, spec: TargetSpec, *, weight_slices: int = 1,
                     progress: bool = False) -> Artifact:
    """Compile ``graph`` for the crossbar target ``spec`` (validated by the family schema);
    ``progress`` shows a bar over the arrays built."""
    if weight_slices < 1:
        raise MappingError("option weight_slices", f"is {weight_slices}; expected >= 1.",
                           "Give 1 (one device pair per weight) or more slices.")
    tiles, codes = map_graph(graph, spec, weight_slices, progress=progress)
    errors: dict[str, float] = {}
    for tile in tiles:
        errors[tile.projection] = max(errors.get(tile.projection, 0.0), tile.max_error)
    used = resources(tiles, weight_slices, spec)
    layout: dict[str, Any] = {
        "tiles": [dataclasses.asdict(t) for t in tiles],
        "slices": weight_slices,
        "populations": {n: {"model": p.model, "size": p.size, "input": p.model == INPUT_MODEL}
                        for n, p in graph.populations.items()},
        "resources": used,
        "latency_steps": 0,
    }
    graph = graph.with_record("crossbar.quantize", target=spec.name, levels=int(spec.levels),
                              weight_slices=weight_slices, max_weight_error=errors)
    graph = graph.with_record("crossbar.map", **{k: v["used"] for k, v in used.items()})
    arrays = {tile_key(i): c for i, c in enumerate(codes)}
    return Artifact(spec.name, "crossbar", graph, layout, {SECTION: arrays})

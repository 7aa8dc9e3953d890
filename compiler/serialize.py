"""Graph <-> (JSON-able dict, named arrays): the form artifacts store a graph in.

Arrays are keyed ``pop/<name>/<param>`` and ``proj/<name>/{weight,delay_steps}``
(CSR weights as ``.../data``, ``.../indices``, ``.../indptr``). The dict
holds everything else, in the graph's own order, so a round trip through
:func:`graph_to_parts` and :func:`graph_from_parts` gives an equal graph and
writing it twice gives identical bytes.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import scipy.sparse as sp

from neurocc.compiler.graph import Graph, PassRecord, Population, Projection


def graph_to_parts(graph: Graph) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """Split ``graph`` into a JSON-able description and a dict of arrays."""
    arrays: dict[str, np.ndarray] = {}
    pops = []
    for pop in graph.populations.values():
        for key, value in pop.params.items():
            arrays[f"pop/{pop.name}/{key}"] = np.asarray(value)
        pops.append({"name": pop.name, "model": pop.model, "shape": list(pop.shape),
                     "reset": pop.reset, "params": list(pop.params),
                     "metadata": dict(pop.metadata)})
    projs = []
    for proj in graph.projections.values():
        prefix = f"proj/{proj.name}"
        if proj.is_sparse:
            arrays[f"{prefix}/weight/data"] = proj.weight.data
            arrays[f"{prefix}/weight/indices"] = proj.weight.indices.astype(np.int64)
            arrays[f"{prefix}/weight/indptr"] = proj.weight.indptr.astype(np.int64)
        else:
            arrays[f"{prefix}/weight"] = np.asarray(proj.weight)
        arrays[f"{prefix}/delay_steps"] = np.asarray(proj.delay_steps, dtype=np.int64)
        projs.append({"name": proj.name, "source": proj.source, "target": proj.target,
                      "sparse": proj.is_sparse, "shape": list(proj.shape),
                      "metadata": dict(proj.metadata)}
                     | ({"receptor": proj.receptor} if proj.receptor else {}))  # default: omitted
    description = {
        "dt_s": graph.dt_s, "inputs": list(graph.inputs), "outputs": list(graph.outputs),
        "metadata": dict(graph.metadata), "populations": pops, "projections": projs,
        "history": [{"name": r.name, "details": dict(r.details)} for r in graph.history],
    }
    return description, arrays


def graph_from_parts(description: dict[str, Any], arrays: dict[str, np.ndarray]) -> Graph:
    """Rebuild (and verify) the graph written by :func:`graph_to_parts`."""
    pops = {}
    for item in description["populations"]:
        params = {key: arrays[f"pop/{item['name']}/{key}"] for key in item["params"]}
        pops[item["name"]] = Population(item["name"], item["model"], tuple(item["shape"]),
                                        params, item["reset"], item.get("metadata", {}))
    projs = {}
    for item in description["projections"]:
        prefix = f"proj/{item['name']}"
        if item["sparse"]:
            weight = sp.csr_array((arrays[f"{prefix}/weight/data"],
                                   arrays[f"{prefix}/weight/indices"],
                                   arrays[f"{prefix}/weight/indptr"]), shape=tuple(item["shape"]))
        else:
            weight = arrays[f"{prefix}/weight"]
        projs[item["name"]] = Projection(item["name"], item["source"], item["target"], weight,
                                         arrays[f"{prefix}/delay_steps"], item.get("metadata", {}),
                                         item.get("receptor") or "")
    history = tuple(PassRecord(r["name"], r["details"]) for r in description.get("history", []))
    return Graph(description["dt_s"], pops, projs, tuple(description["inputs"]),
                 tuple(description["outputs"]), description.get("metadata", {}), history)

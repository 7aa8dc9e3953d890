"""An LSM graph as a ``.nir`` file and back: :func:`write_lsm`, :func:`read_lsm`.

The file is an ordinary NIR file (``write_nir``): any NIR reader loads it. Two
things NIR has no place for are restored on reading: the recipe
(:class:`LsmParameters` and the readout report, stored as JSON in the graph
metadata under ``neurocc.lsm``) and the sparse form of the input and recurrent
weights (NIR stores a ``Linear`` node's weight dense; :func:`read_lsm` turns
them back into CSR with one delay per stored synapse, dropping the zeros, as
:func:`build_lsm` made them).
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from typing import Any

import h5py
import numpy as np
import scipy.sparse as sp

from neurocc.compiler.errors import FrontendError
from neurocc.compiler.graph import Graph, Projection
from neurocc.frontends.lsm.build import (
    INPUT,
    INPUT_PROJECTION,
    METADATA_KEY,
    READOUT,
    READOUT_PROJECTION,
    RECURRENT,
    RESERVOIR,
)
from neurocc.frontends.lsm.readout import READOUT_METADATA_KEY
from neurocc.frontends.nir import read_nir, write_nir

NIR_METADATA_KEY = "neurocc.lsm"  # graph metadata entry of the .nir file (a JSON string)
MAX_DENSE_BYTES = 2 * 2**30  # NIR writes every projection as a dense float64 matrix
SPARSE_PROJECTIONS = (INPUT_PROJECTION, RECURRENT)
ORDER = (INPUT, RESERVOIR, READOUT)
PROJECTION_ORDER = (INPUT_PROJECTION, RECURRENT, READOUT_PROJECTION)


def _check_writable(graph: Graph, path: str) -> None:
    if METADATA_KEY not in graph.metadata:
        raise FrontendError(path, "would hold a graph that build_lsm did not make (no 'lsm' "
                            "recipe in its metadata).", "Use neurocc.frontends.nir.write_nir "
                            "for other graphs.")
    for proj in graph.projections.values():
        dense_bytes = 8 * proj.shape[0] * proj.shape[1]
        if dense_bytes > MAX_DENSE_BYTES:
            raise FrontendError(f"projection '{proj.name}' {proj.shape}", f"would be written "
                                f"as a dense NIR Linear of {dense_bytes / 2**30:.1f} GiB, more "
                                f"than the limit of {MAX_DENSE_BYTES / 2**30:.0f} GiB (NIR has "
                                "no sparse node).", "Keep large reservoirs as recipes "
                                "(LsmParameters with its seed rebuilds the same graph) or as "
                                "compiled artifacts.")


def write_lsm(graph: Graph, path: str | os.PathLike[str]) -> None:
    """Write an LSM graph as a NIR file that keeps its recipe (see the module docstring)."""
    _check_writable(graph, str(path))
    write_nir(graph, path)
    recipe = {key: graph.metadata[key] for key in (METADATA_KEY, READOUT_METADATA_KEY)
              if key in graph.metadata}
    with h5py.File(path, "r+") as handle:
        group = handle.require_group("node/metadata")
        group.create_dataset(NIR_METADATA_KEY, data=json.dumps(recipe, sort_keys=True))


def _recipe(graph: Graph, path: str) -> dict[str, Any]:
    stored = graph.metadata.get("nir", {}).get("graph_metadata", {}).get(NIR_METADATA_KEY)
    try:
        recipe = json.loads(stored) if isinstance(stored, str) else None
    except json.JSONDecodeError:
        recipe = None
    if not isinstance(recipe, Mapping) or METADATA_KEY not in recipe:
        raise FrontendError(path, f"has no readable LSM recipe ('{NIR_METADATA_KEY}' in the "
                            "graph metadata).", "Write it with write_lsm, or read it as plain "
                            "NIR with neurocc.frontends.nir.read_nir.")
    return dict(recipe)


def _sparse(proj: Projection) -> Projection:
    """The dense weight NIR stored, back in CSR form with one delay per stored synapse."""
    weight = sp.csr_array(proj.dense_weight())
    weight.eliminate_zeros()
    weight.sort_indices()
    delays = proj.delay_steps
    if delays.ndim:
        coo = weight.tocoo()
        delays = delays[coo.row, coo.col]
        if delays.size and np.all(delays == delays[0]):
            delays = delays[0]
    return Projection(proj.name, proj.source, proj.target, weight, np.asarray(delays),
                      proj.metadata, proj.receptor)


def read_lsm(path: str | os.PathLike[str]) -> Graph:
    """Read a file from :func:`write_lsm`: the graph with its recipe and sparse weights."""
    graph = read_nir(path)
    recipe = _recipe(graph, str(path))
    missing = [n for n in ORDER if n not in graph.populations] + \
        [n for n in PROJECTION_ORDER if n not in graph.projections]
    if missing:
        raise FrontendError(str(path), f"has an LSM recipe but no '{missing[0]}'.",
                            "The file was changed after write_lsm; rebuild it from the recipe.")
    projections = {name: _sparse(graph.projections[name]) if name in SPARSE_PROJECTIONS
                   else graph.projections[name] for name in PROJECTION_ORDER}
    return graph.replace(populations={n: graph.populations[n] for n in ORDER},
                         projections=projections, metadata={**graph.metadata, **recipe})

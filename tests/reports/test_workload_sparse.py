"""NeuroBench metrics read sparse projections as they are stored, with the dense results."""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from neurocc.compiler.graph import Graph, Population, Projection
from neurocc.sim.result import SimResult
from neurocc.workload import connection_sparsity, synaptic_operations


def _graph(weight: object) -> Graph:
    pops = {"in": Population("in", "input", (3,)),
            "out": Population("out", "lif", (2,), {"tau_s": 0.01, "v_threshold": 1.0},
                              "to_value")}
    projs = {"p": Projection("p", "in", "out", weight, np.asarray(1))}
    return Graph(1e-3, pops, projs, ("in",), ("out",))


def test_sparse_and_dense_projections_give_the_same_metrics() -> None:
    dense = np.array([[0.5, 0.0, 0.0], [0.25, 0.0, 1.0]])
    stored = sp.csr_array(dense)
    stored.data[1] = 0.0  # an explicit zero is no synapse
    dense_same = stored.toarray()
    spikes = {"in": np.array([[[1, 1, 1], [1, 0, 1], [0, 0, 0]]], dtype=np.uint8),
              "out": np.zeros((1, 3, 2), dtype=np.uint8)}
    result = SimResult(spikes, ("out",))
    assert connection_sparsity(_graph(stored)) == connection_sparsity(_graph(dense_same)) \
        == round(4 / 6, 4)  # 2 synapses of 6 pairs
    sparse_ops = synaptic_operations(_graph(stored), result, 1)
    # by hand: fan-out per source (1, 0, 1); delay 1 -> steps 0 and 1 deliver: 1+1 and 1+1
    assert sparse_ops == synaptic_operations(_graph(dense_same), result, 1)
    assert sparse_ops["effective_acs"] == 4

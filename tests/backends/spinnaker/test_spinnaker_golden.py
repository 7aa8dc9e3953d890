"""SpiNNaker compile output is pinned: digests of the section arrays, layout and records of
a few networks, recorded from the compiler before its vectorised rewrite (issue 19).

A change of any word, core, key, routing-table count or record changes a digest. When the
compile output changes on purpose, rerun ``python tests/backends/spinnaker/
test_spinnaker_golden.py`` and paste the digests it prints.
"""

from __future__ import annotations

import hashlib
import json
import sys
from typing import Any

import numpy as np
import pytest
import scipy.sparse as sp

import neurocc
from neurocc.backends import derive_target
from neurocc.backends.artifact import Artifact, to_jsonable
from neurocc.compiler.graph import Graph, Population, Projection

LIF = {"tau_s": 0.02, "v_threshold": 1.0}


def digest(artifact: Artifact) -> str:
    """SHA-256 of every section array (name, dtype, shape, bytes), the layout and the
    family's history records (canonical JSON)."""
    h = hashlib.sha256()
    for section in sorted(artifact.sections):
        arrays = artifact.sections[section]
        for name in sorted(arrays):
            array = np.ascontiguousarray(arrays[name])
            h.update(f"{section}/{name}:{array.dtype.str}:{array.shape}".encode())
            h.update(array.tobytes())
    records = [(r.name, r.details) for r in artifact.graph.history
               if r.name.startswith("spinnaker.")]
    h.update(json.dumps(to_jsonable({"layout": artifact.layout, "records": records}),
                        sort_keys=True).encode())
    return h.hexdigest()


def sparse_random(seed: int, n_in: int, n: int, p_in: float, p_rec: float,
                  max_delay: int) -> Graph:
    """in -> rec (sparse, one delay) and rec -> rec (sparse, per-synapse delays up to
    ``max_delay``: extension stages beyond 32), mixed signs."""
    rng = np.random.default_rng(seed)
    w_in = sp.random_array((n, n_in), density=p_in, rng=rng, format="csr") * 0.6
    w_rec = sp.random_array((n, n), density=p_rec, rng=rng, format="csr")
    w_rec.data = (w_rec.data - 0.35) * 0.5
    delay = rng.integers(1, max_delay + 1, size=w_rec.nnz)
    pops = {"in": Population("in", "input", (n_in,)),
            "rec": Population("rec", "lif", (n,), LIF, "to_value")}
    projs = {"in_rec": Projection("in_rec", "in", "rec", w_in, np.asarray(1)),
             "rec_rec": Projection("rec_rec", "rec", "rec", w_rec, delay)}
    return Graph(1e-3, pops, projs, ("in",), ("rec",))


def two_receptors(seed: int) -> Graph:
    """in -> a (lif_cur_exp, excitatory and inhibitory projections from the same source),
    a -> b (dense, delay 0 below the chip's minimum)."""
    rng = np.random.default_rng(seed)
    n_in, n_a, n_b = 500, 700, 300
    exc = sp.random_array((n_a, n_in), density=0.1, rng=rng, format="csr")
    inh = sp.random_array((n_a, n_in), density=0.05, rng=rng, format="csr") * -1.0
    ab = rng.normal(0.2, 0.3, size=(n_b, n_a)) * (rng.random((n_b, n_a)) < 0.3)
    params = {"tau_mem_s": 0.02, "tau_syn_exc_s": 0.005, "tau_syn_inh_s": 0.01,
              "v_threshold": 1.0}
    pops = {"in": Population("in", "input", (n_in,)),
            "a": Population("a", "lif_cur_exp", (n_a,), params, "to_value"),
            "b": Population("b", "lif", (n_b,), LIF, "to_value")}
    projs = {"exc": Projection("exc", "in", "a", exc, np.asarray(1), receptor="excitatory"),
             "inh": Projection("inh", "in", "a", inh, np.asarray(2), receptor="inhibitory"),
             "ab": Projection("ab", "a", "b", ab, np.asarray(0))}
    return Graph(1e-3, pops, projs, ("in",), ("b",))


def _cases() -> dict[str, tuple[Any, Any, dict[str, Any]]]:
    mesh = derive_target("spinnaker2", chips_x=4, chips_y=3, cores_per_chip=6)
    return {
        "sparse_sequential": (lambda: sparse_random(1, 400, 3000, 0.05, 0.01, 90), mesh,
                              {"mapping": "sequential"}),
        "sparse_traffic": (lambda: sparse_random(2, 100, 900, 0.05, 0.02, 40), mesh,
                           {"mapping": "traffic"}),
        "two_receptors": (lambda: two_receptors(3), "spinnaker1", {}),
        "two_receptors_mesh": (lambda: two_receptors(4), mesh, {"mapping": "sequential"}),
        # small cores over a 6 x 6 mesh: hundreds of trees, tables with many routes
        "many_cores": (lambda: sparse_random(5, 300, 2000, 0.02, 0.003, 60),
                       derive_target("spinnaker2", chips_x=6, chips_y=6, cores_per_chip=10,
                                     neurons_per_core=16), {"mapping": "sequential"}),
    }


GOLDEN: dict[str, str] = {
    "sparse_sequential": "40ef758e35ce39cb7da044890fd8c15f139faba562ae8da4b5848f9be6239d12",
    "sparse_traffic": "5e3f0ed782e5614c3d9dcd572882362c7de7f3c19f0b13b1a96ad44baed69411",
    "two_receptors": "47ce768d867a5874aac26ac6a1a172dc39f9c28d4ecdcd9ff49456a280b16694",
    "two_receptors_mesh": "e48a4450bab59725216e494307d89e60cf773fa1f11881af3623b1d234003e35",
    "many_cores": "538bca6205ae1fe55a7f508150a31b150af53476f22dc982b53056ca3b1d86b9",
}


@pytest.mark.parametrize("case", sorted(GOLDEN))
def test_compile_output_is_unchanged(case: str) -> None:
    build, target, options = _cases()[case]
    assert digest(neurocc.compile(build(), target, **options)) == GOLDEN[case]


def test_progress_bar_shows_the_stages_and_leaves_the_artifact_unchanged(
        capsys: pytest.CaptureFixture[str]) -> None:
    build, target, options = _cases()["two_receptors_mesh"]
    with_bar = neurocc.compile(build(), target, progress=True, **options)
    bar = capsys.readouterr().err
    assert "spinnaker compile" in bar and "7/7" in bar  # one step per stage
    assert digest(with_bar) == GOLDEN["two_receptors_mesh"]
    assert "progress" not in with_bar.layout["options"]  # not a recorded option


if __name__ == "__main__":
    for name, (build, target, options) in _cases().items():
        print(f'    "{name}": "{digest(neurocc.compile(build(), target, **options))}",')
    sys.exit(0)

"""Frontends whose graphs carry delays on CSR weights (NIR Scale + Delay, the YAML
``fixed_probability`` rule with a delay) compile to DelaySparse for loihi2, and the exact
engine equals Lava's own DelaySparse fixed-point model on them."""

from pathlib import Path

import nir
import numpy as np
import pytest
from lava_helpers import LAVA_WARNINGS, assert_identical, require_lava

import neurocc
from neurocc.backends.loihi.lava_export import run_lava
from neurocc.frontends.nir import read_nir
from neurocc.frontends.yaml import read_network_yaml

require_lava()
pytestmark = [LAVA_WARNINGS, pytest.mark.lava]

N = 30
STEPS = 60


def spikes(n: int, seed: int, rate: float = 0.3) -> np.ndarray:
    return (np.random.default_rng(seed).random((1, STEPS, n)) < rate).astype(np.uint8)


def test_nir_per_synapse_delays_on_a_sparse_weight(tmp_path: Path) -> None:
    """Scale -> Delay -> LIF: a CSR diagonal with one delay (0..5 ms) per synapse."""
    rng = np.random.default_rng(0)
    delays_s = rng.integers(0, 6, N) * 1e-3
    nodes = {"input": nir.Input(input_type={"input": np.array([N])}),
             "gain": nir.Scale(scale=rng.uniform(1.0, 3.0, N)),
             "wait": nir.Delay(delay=delays_s),
             "lif": nir.LIF(tau=np.full(N, 0.02), r=np.full(N, 1.0), v_leak=np.zeros(N),
                            v_threshold=np.full(N, 1.0), v_reset=np.zeros(N)),
             "output": nir.Output(output_type={"output": np.array([N])})}
    edges = [("input", "gain"), ("gain", "wait"), ("wait", "lif"), ("lif", "output")]
    nir.write(tmp_path / "m.nir", nir.NIRGraph(nodes, edges, type_check=False))
    graph = read_nir(tmp_path / "m.nir", dt_s=1e-3)
    proj = graph.projections["gain"]
    assert proj.is_sparse and proj.delay_steps.shape == (N,)
    artifact = neurocc.compile(graph, "loihi2")
    assert artifact.layout["projections"]["gain"]["process"] == "DelaySparse"
    # smallest delay 0: the LIF sits one step late, so Lava delays are the graph's
    np.testing.assert_array_equal(artifact.sections["loihi"]["proj/gain/delay/data"],
                                  np.round(delays_s * 1e3).astype(int))
    x = spikes(N, 1)
    engine = neurocc.simulate(artifact, x, engine="exact", record_states=True)
    assert engine.spikes["lif"].sum() > 0
    assert_identical(engine, run_lava(artifact, x, record_states=True))


def test_yaml_fixed_probability_with_a_delay(tmp_path: Path) -> None:
    """A random CSR projection with one 3 ms delay: a DelaySparse with a scalar delay."""
    path = tmp_path / "net.yaml"
    path.write_text(f"""\
kind: network
seed: 4
dt: 1 ms
populations:
  - {{name: i, model: input, shape: {N}}}
  - {{name: n, model: lif, shape: {N}, params: {{tau: 20 ms, v_threshold: 1}}}}
projections:
  - {{source: i, target: n, connect: {{rule: fixed_probability, p: 0.2}},
      weight: {{distribution: normal, mean: 0.8, std: 0.3}}}}
  - {{source: n, target: n, delay: 3 ms, connect: {{rule: fixed_probability, p: 0.2}},
      weight: {{distribution: normal, mean: 0.5, std: 0.5}}}}
outputs: [n]
""")
    graph = read_network_yaml(path)
    assert all(p.is_sparse for p in graph.projections.values())
    artifact = neurocc.compile(graph, "loihi2")
    processes = {n: p["process"] for n, p in artifact.layout["projections"].items()}
    assert processes == {"i_n": "Sparse", "n_n": "DelaySparse"}
    assert int(artifact.sections["loihi"]["proj/n_n/delay"]) == 2  # 3 steps - one of Lava's
    x = spikes(N, 2)
    engine = neurocc.simulate(artifact, x, engine="exact", record_states=True)
    assert engine.spikes["n"].sum() > 0
    assert_identical(engine, run_lava(artifact, x, record_states=True))

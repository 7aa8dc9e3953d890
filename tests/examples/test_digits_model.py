"""The shipped digits model (examples/digits): the NIR file means what sinabs computes.

``digits_lif.nir`` stores LIF parameters for forward Euler at ``metadata["dt"]``:
``v += dt/tau * (v_leak - v + r*I)``, spike where ``v > v_threshold``, then ``v = v_reset``.
Here the file is read with nir alone, rebuilt as a sinabs network (``v = alpha*v + I`` with
``alpha = 1 - dt/tau``, expressed as sinabs' ``tau_mem`` in steps) and, independently, stepped
with plain numpy. Both run the shipped test spikes in float64.

How exact: the two differ only by float64 rounding (``alpha`` goes through exp/log and
``dt/tau * r`` is 1 up to an ulp), so membranes agree to ~1e-15 but not bit for bit. Spike trains
are identical on every neuron and step: the closest approach of any membrane to the threshold
is checked to be far above that rounding, so no crossing can flip (this also covers sinabs'
``v >= threshold`` against NIR's strict ``v > threshold``: no membrane lands on 1.0).
neurocc's own path (``read_nir`` then the float reference simulator) must give the same
spike trains too. The slow test retrains and diffs the generated files byte for byte.
"""

from __future__ import annotations

import importlib.util
import itertools
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import nir
import numpy as np
import pytest

from neurocc.frontends.nir import read_nir
from neurocc.sim.reference import run_graph

torch = pytest.importorskip("torch")
sinabs = pytest.importorskip("sinabs")

EXAMPLE_DIR = Path(__file__).resolve().parents[2] / "examples" / "digits"
NIR_NAME = "digits_lif.nir"
TEST_NAME = "digits_test.npz"
NIR_PATH = EXAMPLE_DIR / NIR_NAME
TEST_PATH = EXAMPLE_DIR / TEST_NAME
LAYERS = (("fc1", "lif1"), ("fc2", "lif2"))  # (Affine, LIF) node names, input to output
EXPECTED_DT_S = 1e-3
ROUNDING_TOL = 1e-12  # float64 rounding, accumulated over a few dozen steps, stays far below
MARGIN_FACTOR = 1e3  # threshold margin must exceed the membrane mismatch by this much
MIN_ACCURACY = 0.9  # the example's target; the recorded value is checked exactly


@pytest.fixture(scope="module")
def graph() -> nir.NIRGraph:
    return nir.read(NIR_PATH)


@pytest.fixture(scope="module")
def shipped() -> dict[str, np.ndarray]:
    with np.load(TEST_PATH) as data:
        return {name: data[name] for name in data.files}


def dt_s_of(graph: nir.NIRGraph) -> float:
    return float(graph.metadata["dt"])


def sinabs_network(graph: nir.NIRGraph) -> list[tuple[torch.nn.Linear, sinabs.layers.LIF]]:
    """(Linear, LIF) pairs in float64 rebuilt from the file's arrays, tau recovered via dt."""
    layers = []
    for affine_name, lif_name in LAYERS:
        affine, lif = graph.nodes[affine_name], graph.nodes[lif_name]
        n_out, n_in = affine.weight.shape
        linear = torch.nn.Linear(n_in, n_out, dtype=torch.float64)
        linear.weight.data = torch.from_numpy(affine.weight.astype(np.float64))
        linear.bias.data = torch.from_numpy(affine.bias.astype(np.float64))
        # Euler decay 1 - dt/tau is sinabs' alpha = exp(-1/tau_mem_steps).
        tau_mem_steps = -1.0 / np.log1p(-dt_s_of(graph) / lif.tau.astype(np.float64))
        neuron = sinabs.layers.LIF(
            tau_mem=1.0,  # placeholder: sinabs stores tau_mem as float32, replaced below
            spike_threshold=torch.from_numpy(lif.v_threshold.astype(np.float64)),
            spike_fn=sinabs.activation.SingleSpike,
            reset_fn=sinabs.activation.MembraneReset(reset_value=float(lif.v_reset.flat[0])),
            norm_input=False,
            record_states=True,
        )
        neuron.tau_mem = torch.nn.Parameter(torch.from_numpy(tau_mem_steps), requires_grad=False)
        layers.append((linear, neuron))
    return layers


def run_sinabs(graph: nir.NIRGraph, spikes: np.ndarray) -> dict[str, dict[str, np.ndarray]]:
    """Spikes and post-reset membranes (batch, steps, size) of every LIF layer, via sinabs."""
    x = torch.from_numpy(spikes).double()
    result = {}
    with torch.no_grad():
        for (linear, neuron), (_, lif_name) in zip(sinabs_network(graph), LAYERS, strict=True):
            x = neuron(linear(x)).double()  # SingleSpike emits float32 0/1: exact in float64
            result[lif_name] = {"spikes": x.numpy().astype(np.uint8),
                                "v": neuron.recordings["v_mem"].numpy()}
    return result


def run_euler(graph: nir.NIRGraph, spikes: np.ndarray) -> dict[str, dict[str, np.ndarray]]:
    """The same, stepped with plain numpy from the NIR equations (forward Euler at dt).

    Layer by layer over all steps: with zero-delay feed-forward edges this equals stepping
    the whole graph one step at a time.
    """
    dt_s = dt_s_of(graph)
    z = spikes.astype(np.float64)
    result = {}
    for affine_name, lif_name in LAYERS:
        affine, lif = graph.nodes[affine_name], graph.nodes[lif_name]
        current = z @ affine.weight.astype(np.float64).T + affine.bias
        v = np.zeros(current.shape[::2])
        pre, post, fired = [], [], []
        for step in range(current.shape[1]):
            v = v + dt_s / lif.tau * (lif.v_leak - v + lif.r * current[:, step])
            pre.append(v)
            fired.append(v > lif.v_threshold)
            v = np.where(fired[-1], lif.v_reset, v)
            post.append(v)
        z = np.stack(fired, axis=1).astype(np.float64)
        result[lif_name] = {"spikes": z.astype(np.uint8), "v": np.stack(post, axis=1),
                            "v_pre": np.stack(pre, axis=1)}
    return result


@pytest.fixture(scope="module")
def sinabs_run(graph, shipped) -> dict[str, dict[str, np.ndarray]]:
    return run_sinabs(graph, shipped["spikes"])


@pytest.fixture(scope="module")
def euler_run(graph, shipped) -> dict[str, dict[str, np.ndarray]]:
    return run_euler(graph, shipped["spikes"])


def accuracy(output_spikes: np.ndarray, labels: np.ndarray) -> float:
    """Most output spikes wins; np.argmax breaks ties by the lowest index, as deployed."""
    return float(np.mean(np.argmax(output_spikes.sum(axis=1), axis=1) == labels))


def load_encoding() -> ModuleType:
    spec = importlib.util.spec_from_file_location("digits_encoding", EXAMPLE_DIR / "encoding.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_file_is_a_chain_with_euler_parameters_for_its_dt(graph):
    assert dt_s_of(graph) == EXPECTED_DT_S
    names = ["input", *(name for layer in LAYERS for name in layer), "output"]
    assert sorted(graph.edges) == sorted(itertools.pairwise(names))
    for _, lif_name in LAYERS:
        lif = graph.nodes[lif_name]
        assert isinstance(lif, nir.LIF)
        # sinabs (norm_input=False) has input gain 1 and no leak target.
        np.testing.assert_allclose(lif.r * dt_s_of(graph) / lif.tau, 1.0, rtol=ROUNDING_TOL)
        assert np.all(lif.tau > dt_s_of(graph))  # 0 < alpha < 1
        assert np.all(lif.v_leak == 0.0) and np.all(lif.v_reset == 0.0)
        assert np.all(lif.v_threshold == 1.0)


def test_shipped_spikes_are_the_encoder_output(graph, shipped):
    pytest.importorskip("sklearn")
    encoding = load_encoding()
    meta = graph.metadata
    _, _, x_test, y_test = encoding.load_split(int(meta["split_seed"]))
    spikes = encoding.rate_encode(x_test, int(meta["encoder_n_steps"]),
                                  int(meta["encoder_seed"]), float(meta["encoder_max_rate"]))
    assert shipped["spikes"].dtype == np.uint8 and shipped["labels"].dtype == np.int64
    np.testing.assert_array_equal(shipped["spikes"], spikes)
    np.testing.assert_array_equal(shipped["labels"], y_test)


def test_sinabs_and_euler_spike_trains_are_identical(sinabs_run, euler_run):
    for _, lif_name in LAYERS:
        np.testing.assert_array_equal(sinabs_run[lif_name]["spikes"],
                                      euler_run[lif_name]["spikes"])


def test_membranes_differ_only_by_rounding_far_from_threshold(graph, sinabs_run, euler_run):
    for _, lif_name in LAYERS:
        mismatch = np.max(np.abs(sinabs_run[lif_name]["v"] - euler_run[lif_name]["v"]))
        margin = np.min(np.abs(euler_run[lif_name]["v_pre"] - graph.nodes[lif_name].v_threshold))
        assert mismatch < ROUNDING_TOL
        assert margin > MARGIN_FACTOR * mismatch  # no threshold crossing can flip


def test_accuracy_matches_the_recorded_one(graph, shipped, sinabs_run, euler_run):
    recorded = float(graph.metadata["test_accuracy"])
    assert accuracy(sinabs_run["lif2"]["spikes"], shipped["labels"]) == recorded
    assert accuracy(euler_run["lif2"]["spikes"], shipped["labels"]) == recorded
    assert recorded >= MIN_ACCURACY


def test_neurocc_reference_simulator_matches_sinabs(shipped, sinabs_run):
    # read_nir names populations after the NIR nodes and takes dt from the file's metadata.
    graph = read_nir(NIR_PATH)
    assert graph.dt_s == EXPECTED_DT_S
    assert graph.outputs == ("lif2",)
    result = run_graph(graph, shipped["spikes"])
    for _, lif_name in LAYERS:
        np.testing.assert_array_equal(result.spikes[lif_name], sinabs_run[lif_name]["spikes"])
    recorded = float(graph.metadata["nir"]["graph_metadata"]["test_accuracy"])
    assert accuracy(result.spikes["lif2"], shipped["labels"]) == recorded


@pytest.mark.slow
def test_training_regenerates_the_shipped_files_byte_for_byte(tmp_path):
    pytest.importorskip("sklearn")
    subprocess.run([sys.executable, str(EXAMPLE_DIR / "train.py"), "--out-dir", str(tmp_path)],
                   check=True, capture_output=True)
    for name in (NIR_NAME, TEST_NAME):
        assert (tmp_path / name).read_bytes() == (EXAMPLE_DIR / name).read_bytes(), name

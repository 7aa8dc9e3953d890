"""EGRU on SpiNNaker-style cores: the fixed-point gates against numpy, a hand-computed step,
and the shipped EGRU example on the exact engine against the float reference (thresholds
from the measurement in docs/spinnaker.md)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest

import neurocc
from neurocc.backends import load_target
from neurocc.backends.spinnaker.graded import gate_table
from neurocc.compiler.errors import MappingError
from neurocc.compiler.graph import Graph, Population, Projection
from neurocc.frontends.egru import EgruWeights, load_egru
from neurocc.sim.spinnaker.graded import Gates

EXAMPLE = Path(__file__).resolve().parents[3] / "examples" / "egru"
LSB = 2.0 ** -15


def gates() -> Gates:
    spec = load_target("spinnaker2")
    return Gates(gate_table(spec), int(spec.gate_table_step_bits), 15, 32)


def test_gate_tables_are_within_one_lsb_everywhere() -> None:
    x = np.arange(-24 * 2 ** 15, 24 * 2 ** 15 + 1, dtype=np.int64)  # every s16.15 in [-24, 24]
    g = gates()
    sigmoid_error = np.abs(g.sigmoid(x) * LSB - 1.0 / (1.0 + np.exp(-x * LSB)))
    tanh_error = np.abs(g.tanh(x) * LSB - np.tanh(x * LSB))
    # measured: 0.59 and 0.69 LSB (interpolation ~2e-6 plus the final rounding)
    assert sigmoid_error.max() < 0.7 * LSB and tanh_error.max() < 0.8 * LSB
    assert g.sigmoid(np.array([0]))[0] == 2 ** 14 and g.tanh(np.array([0]))[0] == 0
    assert g.tanh(np.array([2 ** 31 - 1, -2 ** 31])).tolist() == [2 ** 15, -2 ** 15]


def one_unit_graph(weight: float) -> Graph:
    params = {"bias_update": 0.0, "bias_reset": 0.0, "bias_candidate": 0.0,
              "bias_candidate_recurrent": 0.0, "c_threshold": 0.25}
    pops = {"in": Population("in", "input", (1,)),
            "g": Population("g", "egru", (1,), params, "subtract")}
    projections = {f"w_{r}": Projection(f"w_{r}", "in", "g", np.array([[weight]]),
                                        receptor=r) for r in ("update", "candidate")}
    return Graph(1e-3, pops, projections, ("in",), ("g",))


def test_one_egru_step_by_hand() -> None:
    """One input spike of weight 1 into update and candidate: u = sig(1), z = tanh(1)."""
    artifact = neurocc.compile(one_unit_graph(1.0), "spinnaker2")
    spikes = np.zeros((1, 3, 1), dtype=np.uint8)
    spikes[0, 0] = 1
    result = neurocc.simulate(artifact, spikes, engine="exact", record_states=True)
    g = gates()
    # weight 1.0: shift r = 1 (2**r > 1), word 2**14; x payload 1.0 >> (15 - 1) = 2**15,
    # arriving at tick 1 (the chip's minimum delay)
    u, z = int(g.sigmoid(np.array([2 ** 15]))[0]), int(g.tanh(np.array([2 ** 15]))[0])
    assert (u, z) == (23955, 24956)  # sigmoid(1) = 0.73106, tanh(1) = 0.76159 in s16.15
    c = (u * z) >> 15  # c = 0 + mul(u, z - 0), floor
    assert result.spikes["g"][0, :, 0].tolist() == [0, 1, 0]
    assert result.states["y/g"][0, 1, 0] == c == 18244  # 597820980 >> 15
    assert result.states["c/g"][0, 1, 0] == c - 2 ** 13  # subtract c_threshold = 0.25
    ref = neurocc.simulate(artifact, spikes[:, :2], engine="reference")
    assert abs(result.states["y/g"][0, 1, 0] * LSB - ref.states["y/g"][0, 0, 0]) < 2 * LSB


def test_graded_events_into_a_spiking_core_are_refused() -> None:
    graph = one_unit_graph(1.0)
    pops = {**graph.populations, "lif": Population("lif", "lif", (1,), {
        "tau_s": 0.02, "v_threshold": 1.0}, "subtract")}
    proj = {**graph.projections, "out": Projection("out", "g", "lif", np.ones((1, 1)))}
    with pytest.raises(MappingError, match=r"projection 'out'.*graded events"):
        neurocc.compile(Graph(1e-3, pops, proj, ("in",), ("lif",)), "spinnaker2")


def test_projection_from_an_integrator_is_refused() -> None:
    graph = one_unit_graph(1.0)
    pops = {**graph.populations, "acc": Population("acc", "integrator", (1,)),
            "acc2": Population("acc2", "integrator", (1,))}
    proj = {**graph.projections, "a": Projection("a", "g", "acc", np.ones((1, 1))),
            "b": Projection("b", "acc", "acc2", np.ones((1, 1)))}
    with pytest.raises(MappingError, match=r"projection 'b'.*non-spiking"):
        neurocc.compile(Graph(1e-3, pops, proj, ("in",), ("acc2",)), "spinnaker2")


def example_test_split(seed: int) -> tuple[np.ndarray, np.ndarray]:
    """The example's encoded test digits (its own encoding module, loaded by path)."""
    spec = importlib.util.spec_from_file_location("spinnaker_egru_encoding",
                                                  EXAMPLE / "egru_encoding.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    _, _, x_test, y_test = module.load_split(seed)
    return module.encode_rows(x_test), y_test


def test_egru_example_on_the_exact_engine_tracks_the_reference() -> None:
    _, metadata = EgruWeights.load(EXAMPLE / "egru_digits.npz")
    spikes, labels = example_test_split(int(metadata["split_seed"]))
    artifact = neurocc.compile(load_egru(EXAMPLE / "egru_digits.npz"), "spinnaker2")
    lag = artifact.layout["latency_steps"]
    assert lag == 2  # input -> egru and egru -> readout: one tick each
    padded = np.concatenate([spikes, np.zeros((len(labels), lag, 32), np.uint8)], axis=1)
    exact = neurocc.simulate(artifact, padded, engine="exact", record_states=True)
    ref = neurocc.simulate(artifact, spikes, engine="reference", record_states=True)
    steps = spikes.shape[1]
    chip_readout = exact.states["v/readout"][:, -1] * LSB
    ref_readout = ref.states["v/readout"][:, -1]
    acc_chip = float((chip_readout.argmax(1) == labels).mean())
    acc_ref = float((ref_readout.argmax(1) == labels).mean())
    events_chip = exact.spikes["egru"][:, 1:1 + steps]
    events_ref = ref.spikes["egru"]
    flips = events_chip != events_ref
    clean = ~flips.any(axis=(1, 2))  # samples where every event agrees
    c_error = np.abs(exact.states["c/egru"][:, 1:1 + steps] * LSB - ref.states["c/egru"])
    print(f"EGRU digits on spinnaker2: accuracy exact {acc_chip:.4f} reference {acc_ref:.4f}; "
          f"events {int(events_chip.sum())} vs {int(events_ref.sum())}, {int(flips.sum())} "
          f"differ; max |c| error {c_error[clean].max():.5f} over {int(clean.sum())} samples")
    # measured (floor): 0.9689 both; 47750 vs 47770 events, 26 differ; 0.0022 over 431
    assert acc_chip >= acc_ref - 0.01
    assert flips.sum() <= 60 and abs(int(events_chip.sum()) - int(events_ref.sum())) <= 100
    assert clean.sum() >= 420 and c_error[clean].max() < 0.005
    assert np.abs(chip_readout - ref_readout)[clean].max() < 0.03
    assert exact.counters["payload_packets"] == exact.spikes["egru"].sum()


def test_payload_packets_cost_the_72_bit_figure() -> None:
    from neurocc.report import simulation_report
    artifact = neurocc.compile(one_unit_graph(1.0), "spinnaker1")
    spikes = np.ones((2, 6, 1), dtype=np.uint8)
    result = neurocc.simulate(artifact, spikes, engine="exact")
    assert result.counters["payload_packets"] == 0  # the egru unit has no targets
    artifact = neurocc.compile(self_loop_graph(), "spinnaker1")
    result = neurocc.simulate(artifact, spikes, engine="exact")
    payloads = result.counters["payload_packets"]
    assert payloads == result.spikes["g"].sum() > 0
    energy = simulation_report(artifact, result, n_inferences=2)["energy"]
    spec = load_target("spinnaker1")
    # 25 pJ/bit: a 40-bit packet 1000 pJ, a 72-bit one 1800 pJ, so 800 pJ more per payload
    assert energy["breakdown"]["payloads"]["energy_pj"] == pytest.approx(payloads / 2 * 800.0)
    assert spec.energy_per_payload_packet_pj - spec.energy_per_packet_pj == 800.0


def self_loop_graph() -> Graph:
    graph = one_unit_graph(1.0)
    loop = Projection("loop", "g", "g", np.array([[0.5]]), np.asarray(1), receptor="update")
    return Graph(1e-3, graph.populations, {**graph.projections, "loop": loop}, ("in",), ("g",))


def test_egru_and_delay_artifacts_are_byte_identical(tmp_path: Path) -> None:
    graph = self_loop_graph()
    long = Projection("long", "in", "g", np.array([[0.5]]), np.asarray(100), receptor="reset")
    graph = Graph(1e-3, graph.populations, {**graph.projections, "long": long}, ("in",),
                  ("g",))
    first = neurocc.compile(graph, "spinnaker1", out=tmp_path / "one").path
    second = neurocc.compile(graph, "spinnaker1", out=tmp_path / "two").path
    names = sorted(p.name for p in first.iterdir())
    assert names == sorted(p.name for p in second.iterdir())
    for file in names:
        assert (first / file).read_bytes() == (second / file).read_bytes(), file
    spikes = np.ones((1, 110, 1), dtype=np.uint8)  # the saved artifact runs as the compiled one
    saved = neurocc.simulate(neurocc.read_artifact(first), spikes, engine="exact")
    fresh = neurocc.simulate(neurocc.compile(graph, "spinnaker1"), spikes, engine="exact")
    assert np.array_equal(saved.spikes["g"], fresh.spikes["g"])
    assert np.array_equal(saved.states["y/g"], fresh.states["y/g"])

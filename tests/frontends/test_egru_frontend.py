"""The EGRU frontend: EgruWeights -> Graph, the state-dict layouts, the .npz, load dispatch,
and the families that cannot run EGRU refusing it."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import neurocc
from neurocc.compiler.errors import FrontendError, MappingError
from neurocc.frontends import FRONTENDS
from neurocc.frontends.egru import EgruWeights, egru_graph, load_egru
from neurocc.frontends.nir import write_nir
from neurocc.sim.reference import run_graph

N_IN, N_UNITS, N_OUT = 4, 6, 3
TOL = 1e-12  # float64 on both sides; see test_egru_torch.py for why this bound

def random_weights(seed: int = 0, readout: bool = True, scale: float = 1.0) -> EgruWeights:
    rng = np.random.default_rng(seed)
    gates = ("update", "reset", "candidate")
    arrays = {f"input_{g}": rng.normal(0, scale, (N_UNITS, N_IN)) for g in gates}
    arrays |= {f"recurrent_{g}": rng.normal(0, scale, (N_UNITS, N_UNITS)) for g in gates}
    arrays |= {f"bias_{g}": rng.normal(0, 0.3, N_UNITS) for g in (*gates, "candidate_recurrent")}
    arrays["c_threshold"] = rng.uniform(0.05, 0.5, N_UNITS)
    if readout:
        arrays |= {"readout_weight": rng.normal(0, 1, (N_OUT, N_UNITS)),
                   "readout_bias": rng.normal(0, 0.1, N_OUT)}
    return EgruWeights(**arrays)


def input_spikes(seed: int = 1, batch: int = 5, n_steps: int = 12) -> np.ndarray:
    return (np.random.default_rng(seed).random((batch, n_steps, N_IN)) < 0.4).astype(np.uint8)


# -- the graph ---------------------------------------------------------------------------------
def test_graph_is_input_egru_readout_with_one_projection_per_gate():
    weights = random_weights()
    graph = egru_graph(weights, dt_s=2e-3)
    assert graph.dt_s == 2e-3 and graph.inputs == ("input",) and graph.outputs == ("readout",)
    assert {n: p.model for n, p in graph.populations.items()} == {
        "input": "input", "egru": "egru", "readout": "integrator"}
    wiring = {n: (p.source, p.target, graph.receptor_of(p), int(p.delay_steps))
              for n, p in graph.projections.items()}
    assert wiring == {
        "input_update": ("input", "egru", "update", 0),
        "input_reset": ("input", "egru", "reset", 0),
        "input_candidate": ("input", "egru", "candidate", 0),
        "recurrent_update": ("egru", "egru", "update", 1),
        "recurrent_reset": ("egru", "egru", "reset", 1),
        "recurrent_candidate": ("egru", "egru", "candidate_recurrent", 1),
        "readout_weight": ("egru", "readout", "current", 0)}
    for name, proj in graph.projections.items():
        np.testing.assert_array_equal(proj.weight, getattr(weights, name))
    egru = graph.populations["egru"]
    assert egru.reset == "subtract"
    for key in ("bias_update", "bias_reset", "bias_candidate", "bias_candidate_recurrent",
                "c_threshold"):
        np.testing.assert_array_equal(egru.params[key], getattr(weights, key))
    readout = graph.populations["readout"]
    np.testing.assert_array_equal(readout.params["bias"], weights.readout_bias)
    assert np.all(readout.params["r"] * graph.dt_s == 1.0)  # v sums W y + b exactly once


def test_readout_integrates_the_logits_of_every_step():
    weights = random_weights()
    result = run_graph(egru_graph(weights), input_spikes())
    y = result.states["y/egru"]
    logits = np.cumsum(y @ weights.readout_weight.T + weights.readout_bias, axis=1)
    np.testing.assert_allclose(result.states["v/readout"], logits, rtol=TOL, atol=TOL)
    assert 0 < result.spikes["egru"].mean() < 1  # the weights give events and silences


def test_without_readout_the_egru_population_is_the_output():
    graph = egru_graph(random_weights(readout=False))
    assert list(graph.populations) == ["input", "egru"] and graph.outputs == ("egru",)
    result = run_graph(graph, input_spikes())
    assert result.output.dtype == np.uint8  # its 0/1 events; the values are in y/egru
    np.testing.assert_array_equal(result.output, result.spikes["egru"])


# -- checks on the arrays ----------------------------------------------------------------------
def replaced(**changes: object) -> dict[str, object]:
    return random_weights().arrays() | changes


@pytest.mark.parametrize(("changes", "message"), [
    ({"recurrent_reset": np.zeros((N_UNITS, N_UNITS + 1))},
     r"'recurrent_reset' has shape \(6, 7\), expected \(6, 6\)"),
    ({"input_candidate": np.zeros((N_IN, N_UNITS))},
     r"'input_candidate' has shape \(4, 6\), expected \(6, 4\).*transpose"),
    ({"bias_reset": np.full(N_UNITS, np.nan)}, r"'bias_reset' holds NaN"),
    ({"readout_bias": None}, r"only one of readout_weight and readout_bias"),
    ({"c_threshold": np.float64(0.3)}, r"c_threshold has shape \(\)"),
    ({"bias_update": [[1.0], [1.0, 2.0]]}, r"'bias_update' is not a numeric array"),
])
def test_bad_arrays_are_refused_naming_the_array(changes, message):
    with pytest.raises(FrontendError, match=message):
        EgruWeights(**replaced(**changes))  # type: ignore[arg-type]


def test_arrays_are_float64_read_only_copies():
    source = np.ones((N_UNITS, N_IN), dtype=np.float32)
    weights = EgruWeights(**replaced(input_update=source))  # type: ignore[arg-type]
    assert weights.input_update.dtype == np.float64
    assert not weights.input_update.flags.writeable
    source[0, 0] = 5.0
    assert weights.input_update[0, 0] == 1.0


# -- state dicts -------------------------------------------------------------------------------
def neurocc_state_dict(w: EgruWeights) -> dict[str, np.ndarray]:
    stack = [np.concatenate([getattr(w, f"{kind}_{g}") for g in ("update", "reset", "candidate")])
             for kind in ("input", "recurrent", "bias")]
    return {"weight_input": stack[0], "weight_recurrent": stack[1], "bias": stack[2],
            "bias_candidate_recurrent": w.bias_candidate_recurrent,
            "c_threshold": w.c_threshold, "readout.weight": w.readout_weight,
            "readout.bias": w.readout_bias}


def test_neurocc_state_dict_splits_the_stacked_gates_in_order():
    weights = random_weights()
    again = EgruWeights.from_state_dict(neurocc_state_dict(weights))
    for name, array in weights.arrays().items():
        np.testing.assert_array_equal(getattr(again, name), array, err_msg=name)


def test_prefix_selects_a_sub_module_and_unknown_layouts_are_refused():
    weights = random_weights()
    nested = {f"rnn.{k}": v for k, v in neurocc_state_dict(weights).items()} | {"head.w": 1}
    again = EgruWeights.from_state_dict(nested, prefix="rnn.")
    np.testing.assert_array_equal(again.recurrent_candidate, weights.recurrent_candidate)
    with pytest.raises(FrontendError, match=r"none of the keys \['weight_input', 'kernel'\]"
                       r".*prefix='<name>\.'"):
        EgruWeights.from_state_dict(nested)


def test_missing_keys_and_badly_stacked_tensors_are_named():
    state = neurocc_state_dict(random_weights())
    with pytest.raises(FrontendError, match=r"lacks \['bias_candidate_recurrent'\]"):
        EgruWeights.from_state_dict({k: v for k, v in state.items()
                                     if k != "bias_candidate_recurrent"})
    with pytest.raises(FrontendError, match=r"'weight_recurrent' has shape \(17, 6\); axis 0 "
                       r"must be 3 x 6 units"):
        EgruWeights.from_state_dict(state | {"weight_recurrent": state["weight_recurrent"][1:]})


def sigmoid(a: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-a))


def evnn_forward(x: np.ndarray, p: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """EvNN's EGRU equations (shared/reference, section 3.1), written out in numpy:
    [z | r | g] blocks, z keeps the cell, the reset gate scales y R_g + b_rg."""
    h = p["thr"].size
    thr = np.clip(p["thr"], 0.0, 1.0)
    cell = y = np.zeros((x.shape[0], h))
    out: dict[str, list[np.ndarray]] = {"c": [], "o": [], "y": []}
    for t in range(x.shape[1]):
        wx = x[:, t] @ p["kernel"] + p["bias"]
        rh = y @ p["recurrent_kernel"] + p["recurrent_bias"]
        z = sigmoid(wx[:, :h] + rh[:, :h])
        r = sigmoid(wx[:, h:2 * h] + rh[:, h:2 * h])
        g = np.tanh(wx[:, 2 * h:] + r * rh[:, 2 * h:])
        c = z * cell + (1 - z) * g
        o = (c - thr > 0).astype(np.float64)
        y, cell = o * c, c - o * thr
        for key, value in (("c", cell), ("o", o), ("y", y)):
            out[key].append(value)
    return {key: np.stack(values, axis=1) for key, values in out.items()}


def test_evnn_state_dict_computes_what_evnn_computes():
    rng = np.random.default_rng(3)
    state = {"kernel": rng.normal(0, 1, (N_IN, 3 * N_UNITS)),
             "recurrent_kernel": rng.normal(0, 1, (N_UNITS, 3 * N_UNITS)),
             "bias": rng.normal(0, 0.3, 3 * N_UNITS),
             "recurrent_bias": rng.normal(0, 0.3, 3 * N_UNITS),
             "thr": np.array([-0.2, 0.1, 0.2, 0.3, 0.4, 1.5]),  # EvNN clamps to [0, 1]
             "dampening_factor": np.array([0.7])}  # EvNN keeps these as parameters too
    weights = EgruWeights.from_state_dict(state)
    assert weights.c_threshold.tolist() == [0.0, 0.1, 0.2, 0.3, 0.4, 1.0]
    x = input_spikes(n_steps=20)
    expected = evnn_forward(x.astype(np.float64), state)
    result = run_graph(load_egru(state), x, record_states=True)
    assert 0 < expected["o"].mean() < 1
    margin = np.min(np.abs(expected["c"] + expected["o"] * weights.c_threshold
                           - weights.c_threshold))
    assert margin > 1e3 * TOL  # no event can flip on rounding
    np.testing.assert_array_equal(result.spikes["egru"], expected["o"])
    np.testing.assert_allclose(result.states["c/egru"], expected["c"], rtol=TOL, atol=TOL)
    np.testing.assert_allclose(result.states["y/egru"], expected["y"], rtol=TOL, atol=TOL)


# -- .npz --------------------------------------------------------------------------------------
def test_npz_round_trip_is_exact_narrows_exact_float32_and_repeats_its_bytes(tmp_path: Path):
    weights = random_weights()
    trained = EgruWeights(**(weights.arrays() | {  # type: ignore[arg-type]
        "input_update": weights.input_update.astype(np.float32)}))
    first, second = tmp_path / "a.npz", tmp_path / "b.npz"
    trained.save(first, {"accuracy": 0.5})
    trained.save(second, {"accuracy": 0.5})
    assert first.read_bytes() == second.read_bytes()
    with np.load(first) as data:
        assert data["input_update"].dtype == np.float32  # exact in float32: stored narrow
        assert data["input_reset"].dtype == np.float64  # not exact: stored as is
    again, metadata = EgruWeights.load(first)
    assert metadata == {"accuracy": 0.5}
    for name, array in trained.arrays().items():
        np.testing.assert_array_equal(getattr(again, name), array, err_msg=name)
        assert getattr(again, name).dtype == np.float64


def test_npz_errors_name_the_file(tmp_path: Path):
    with pytest.raises(FrontendError, match=r"file .*nothing\.npz: does not exist"):
        EgruWeights.load(tmp_path / "nothing.npz")
    odd = tmp_path / "odd.npz"
    np.savez(odd, **random_weights().arrays(), extra=np.zeros(2))
    with pytest.raises(FrontendError, match=r"odd\.npz: holds arrays \['extra'\]"):
        EgruWeights.load(odd)
    short = tmp_path / "short.npz"
    np.savez(short, **{k: v for k, v in random_weights().arrays().items() if k != "bias_reset"})
    with pytest.raises(FrontendError, match=r"short\.npz: lacks \['bias_reset'\]"):
        EgruWeights.load(short)


# -- the loader and its record -----------------------------------------------------------------
def test_loader_reads_every_kind_of_source_to_the_same_graph(tmp_path: Path):
    weights = random_weights()
    path = tmp_path / "w.npz"
    weights.save(path)
    graphs = [load_egru(weights), load_egru(path), load_egru(str(path)),
              load_egru(neurocc_state_dict(weights))]
    x = input_spikes()
    reference = run_graph(graphs[0], x).states["v/readout"]
    for graph in graphs[1:]:
        np.testing.assert_array_equal(run_graph(graph, x).states["v/readout"], reference)
    assert graphs[1].metadata["source"] == str(path)
    assert len(graphs[1].metadata["source_sha256"]) == 64
    assert graphs[0].metadata["dt_source"] == "default" and graphs[0].dt_s == 1e-3
    timed = load_egru(weights, dt_s=0.5e-3)
    assert timed.dt_s == 0.5e-3 and timed.metadata["dt_source"] == "argument"


def test_loader_refuses_other_objects():
    with pytest.raises(FrontendError, match=r"int: is not something the EGRU frontend reads"):
        load_egru(3)


def test_registered_record_dispatches_objects_and_named_paths(tmp_path: Path):
    weights = random_weights()
    path = tmp_path / "w.npz"
    weights.save(path)
    assert neurocc.load(weights).populations["egru"].model == "egru"
    graph = neurocc.load(path, frontend="egru", dt_s=1e-3)
    assert graph.metadata["source"] == str(path)
    torch_model = pytest.importorskip("neurocc.frontends.egru.torch_model")
    module = torch_model.Egru(3, 4, 2)  # a torch module, but the EGRU frontend's own
    assert FRONTENDS["egru"].claims(module) and neurocc.load(module).populations["egru"]


# -- targets -----------------------------------------------------------------------------------
def test_loihi_refuses_egru_naming_the_population_and_what_it_maps():
    with pytest.raises(MappingError) as caught:
        neurocc.compile(egru_graph(random_weights()), "loihi2")
    message = str(caught.value)
    assert message.startswith("population 'egru' (egru): model 'egru' has no form on target "
                              "'loihi2' (family 'loihi' maps lif, cubalif, if, li, integrator)")
    assert "Compile for another target" in message


def test_reference_family_compiles_and_runs_egru_like_the_graph(tmp_path: Path):
    graph = egru_graph(random_weights())
    artifact = neurocc.compile(graph, "reference", out=tmp_path / "art")
    x = input_spikes()
    result = neurocc.simulate(tmp_path / "art", x, engine="exact")  # read back from disk
    direct = run_graph(graph, x)
    assert artifact.graph.populations["egru"].model == "egru"
    np.testing.assert_array_equal(result.spikes["egru"], direct.spikes["egru"])
    np.testing.assert_array_equal(result.states["v/readout"], direct.states["v/readout"])
    assert result.counters == direct.counters


def test_nir_cannot_express_egru(tmp_path: Path):
    with pytest.raises(FrontendError, match=r"population 'egru' \(egru\).*NIR cannot express"):
        write_nir(egru_graph(random_weights()), tmp_path / "egru.nir")

"""The torch frontend on sinabs models: the reference engine reproduces sinabs' forward pass.

Every model gets random weights and random input spikes, runs in sinabs (the expectation,
computed by sinabs' own layers) and, lowered by ``read_module``, in the float reference engine.

Tolerance: spikes must be identical (no tolerance). Both run in float64 (``model.double()``;
SingleSpike's float32 spikes are cast back, exactly, between layers). sinabs computes
``v = a*v + g*x``, the graph ``v + dt/tau*(v_leak - v + r*I)`` with ``dt/tau = 1 - a``: the
two differ by rounding only (checked: membranes and synaptic currents agree to
``STATE_TOL``), so a spike could flip only where a membrane comes within ~1e-15 of its
threshold, which continuous random weights do not produce. Exact ties ``v == threshold`` are
reproduced by construction (sinabs spikes at ``v >= threshold``, the graph at ``v >
v_threshold`` with ``v_threshold`` one float64 below), which ``test_ties_at_the_threshold``
checks with dyadic weights, where sinabs in float32 and the graph compute exactly.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
import scipy.sparse as sp

import neurocc
from neurocc.compiler.graph import Graph
from neurocc.frontends import FRONTENDS
from neurocc.frontends.sinabs import read_module
from neurocc.sim.reference import run_graph

torch = pytest.importorskip("torch")
sinabs = pytest.importorskip("sinabs")
sl = sinabs.layers
sa = sinabs.activation
nn = torch.nn

DT_S = 1e-3
STATE_TOL = 1e-9  # float64 rounding over a few dozen steps stays far below this
N_STEPS = 25
BATCH = 3
SPIKE_P = 0.3  # input spike probability per step

# -- helpers ---------------------------------------------------------------------------------
def single(**kw: Any) -> dict[str, Any]:
    return {"spike_fn": sa.SingleSpike, **kw}


def randomize(model: Any, seed: int, low: float = -0.4, high: float = 1.0,
              bias: float = 0.1) -> Any:
    """Uniform weights in [low, high) scaled by 1/sqrt(fan-in), biases in [-bias, bias)."""
    rng = np.random.default_rng(seed)
    with torch.no_grad():
        for layer in model.modules():
            if isinstance(layer, nn.Linear | nn.Conv1d | nn.Conv2d):
                fan_in = layer.weight[0].numel()
                draw = rng.uniform(low, high, layer.weight.shape) * 3 / np.sqrt(fan_in)
                layer.weight.copy_(torch.from_numpy(draw))
                if layer.bias is not None:
                    layer.bias.copy_(torch.from_numpy(rng.uniform(-bias, bias,
                                                                  layer.bias.shape)))
    return model


def spikes_in(shape: tuple[int, ...], seed: int, batch: int = BATCH) -> np.ndarray:
    rng = np.random.default_rng(seed + 1000)
    return (rng.random((batch, N_STEPS, *shape)) < SPIKE_P).astype(np.uint8)


def run_sinabs(model: Any, spikes: np.ndarray, dtype: Any = None) -> np.ndarray:
    """sinabs' forward pass on (batch, time, ...) spikes; every layer's output in ``dtype``."""
    dtype = dtype or torch.float64
    model = model.to(dtype).eval()
    hooks = [m.register_forward_hook(lambda m, i, o: o.to(dtype)) for m in model.modules()]
    sinabs.reset_states(model)
    try:
        with torch.no_grad():
            return model(torch.from_numpy(spikes).to(dtype)).numpy()
    finally:
        for hook in hooks:
            hook.remove()


def run_reference(graph: Graph, spikes: np.ndarray) -> Any:
    flat = spikes.reshape(spikes.shape[0], spikes.shape[1], -1)
    return run_graph(graph, flat, record_states=True)


def recorded(model: Any) -> dict[str, Any]:
    """sinabs' recorded states per layer path (layers built with record_states=True)."""
    return {name: layer.recordings for name, layer in model.named_modules()
            if getattr(layer, "record_states", False)}


def assert_same_run(model: Any, input_shape: tuple[int, ...], seed: int,
                    batch: int = BATCH) -> tuple[Graph, Any]:
    spikes = spikes_in(input_shape, seed, batch)
    model = model.double()  # the alphas the graph gets are those sinabs then uses
    graph = read_module(model, input_shape=input_shape, dt_s=DT_S)
    expected = run_sinabs(model, spikes)
    result = run_reference(graph, spikes)
    out = graph.outputs[0]
    got = result.spikes[out] if out in result.spikes else result.states[f"v/{out}"]
    flat = expected.reshape(got.shape)
    if out in result.spikes:
        np.testing.assert_array_equal(got, flat)
        assert 0 < flat.mean() < 1, "the test network is silent or saturated"
    else:
        np.testing.assert_allclose(got, flat, rtol=0, atol=STATE_TOL)
    for name, states in recorded(model).items():
        for var, trace in states.items():
            key = {"v_mem": "v", "i_syn": "i_syn"}[var]
            np.testing.assert_allclose(result.states[f"{key}/{name}"],
                                       trace.numpy().reshape(batch, N_STEPS, -1), rtol=0,
                                       atol=STATE_TOL, err_msg=f"{var} of layer {name}")
    return graph, result


# -- the linear layout ------------------------------------------------------------------------
def linear_model(reset: Callable[[], Any], norm_input: bool) -> Any:
    return nn.Sequential(
        nn.Linear(12, 16), sl.IAF(**single(reset_fn=reset(), record_states=True)),
        nn.Linear(16, 6),
        sl.LIF(tau_mem=6.0, **single(reset_fn=reset(), norm_input=norm_input,
                                     record_states=True)))


RESETS = {"subtract": sa.MembraneSubtract, "to_value": sa.MembraneReset}


@pytest.mark.parametrize("reset", sorted(RESETS))
@pytest.mark.parametrize("norm_input", [False, True])
def test_linear_layout_reproduces_sinabs(reset: str, norm_input: bool) -> None:
    high = 1.0 if not norm_input else 3.0  # norm_input scales the input by 1 - alpha
    model = randomize(linear_model(RESETS[reset], norm_input), seed=1, high=high)
    graph, _ = assert_same_run(model, (12,), seed=1)
    assert [p.model for p in graph.populations.values()] == ["input", "if", "lif"]
    assert {p.reset for p in graph.populations.values() if p.model != "input"} == {reset}
    assert all(not p.is_sparse for p in graph.projections.values())


def test_linear_parameters_follow_the_equations() -> None:
    """tau_s = dt/(1-a), r = g/(1-a), if's dt*r == 1, threshold one float below, bias kept."""
    model = linear_model(sa.MembraneSubtract, norm_input=True)
    graph = read_module(model, input_shape=(12,), dt_s=DT_S)
    alpha = float(model[3].alpha_mem_calculated.detach())  # float32, as sinabs uses it
    lif, iaf = graph.populations["3"].params, graph.populations["1"].params
    np.testing.assert_allclose(lif["tau_s"], DT_S / (1 - alpha), rtol=1e-15)
    np.testing.assert_allclose(lif["r"], 1.0, rtol=1e-15)
    assert np.all(DT_S * iaf["r"] == 1.0)
    assert np.all(iaf["v_threshold"] < 1.0) and np.all(np.nextafter(iaf["v_threshold"], 2) == 1.0)
    np.testing.assert_array_equal(iaf["bias"], model[0].bias.detach().double().numpy())
    np.testing.assert_array_equal(graph.projections["0"].weight,
                                  model[0].weight.detach().double().numpy())


def test_synaptic_current_becomes_cubalif() -> None:
    model = randomize(nn.Sequential(
        nn.Linear(10, 8), sl.LIF(tau_mem=5.0, tau_syn=3.0,
                                 **single(norm_input=False, record_states=True))), seed=2)
    graph, _ = assert_same_run(model, (10,), seed=2)
    assert graph.populations["1"].model == "cubalif"


def test_trained_alphas_and_per_neuron_parameters() -> None:
    """train_alphas keeps alpha itself; per-neuron tau and thresholds broadcast."""
    tau = torch.linspace(3.0, 9.0, 8)
    model = randomize(nn.Sequential(
        nn.Linear(10, 8),
        sl.LIF(tau_mem=tau, spike_threshold=torch.linspace(0.8, 1.2, 8), train_alphas=True,
               **single(norm_input=False, record_states=True))), seed=3)
    graph, _ = assert_same_run(model, (10,), seed=3)
    assert len(set(graph.populations["1"].params["tau_s"])) == 8


def test_expleak_readout_is_li() -> None:
    """ExpLeak outputs its membrane: the graph's li population, read from its v."""
    model = randomize(nn.Sequential(nn.Linear(10, 12), sl.IAF(**single()), nn.Linear(12, 4),
                                    sl.ExpLeak(tau_mem=4.0, norm_input=True)), seed=4)
    graph, _ = assert_same_run(model, (10,), seed=4)
    assert graph.populations["3"].model == "li" and graph.outputs == ("3",)


def test_trailing_linear_is_an_output_readout() -> None:
    model = randomize(nn.Sequential(nn.Linear(10, 12), sl.IAF(**single()), nn.Linear(12, 4)),
                      seed=5)
    graph, _ = assert_same_run(model, (10,), seed=5)
    assert graph.outputs == ("output",) and graph.populations["output"].model == "output"


def test_ties_at_the_threshold() -> None:
    """Dyadic weights make v land exactly on the threshold; sinabs (>=) spikes there.

    In float32 sinabs and the float64 graph both compute exactly here, so even the float32
    model agrees; with the threshold itself (strict >) the graph would miss those spikes.
    """
    rng = np.random.default_rng(6)
    model = nn.Sequential(nn.Linear(8, 6, bias=False), sl.IAF(**single()),
                          nn.Linear(6, 4, bias=False), sl.IAF(**single()))
    with torch.no_grad():
        model[0].weight.copy_(torch.from_numpy(rng.integers(-2, 5, (6, 8)) / 4))
        model[2].weight.copy_(torch.from_numpy(rng.integers(-1, 4, (4, 6)) / 2))
    spikes = spikes_in((8,), seed=6)
    graph = read_module(model, input_shape=(8,), dt_s=DT_S)
    expected = run_sinabs(model, spikes, torch.float32)
    np.testing.assert_array_equal(run_reference(graph, spikes).spikes["3"], expected)
    strict = graph.replace(populations={
        name: pop if pop.model != "if" else type(pop)(
            name, pop.model, pop.shape, {**pop.params, "v_threshold": np.ones(pop.size)},
            pop.reset, pop.metadata)
        for name, pop in graph.populations.items()})
    assert not np.array_equal(run_reference(strict, spikes).spikes["3"], expected)


# -- the convolutional layout sinabs documents for its chips -------------------------------------
def conv_model(batch: int, reset: Callable[[], Any] = sa.MembraneSubtract) -> Any:
    def iaf() -> Any:
        return sl.IAFSqueeze(batch_size=batch, **single(reset_fn=reset(), record_states=True))

    return nn.Sequential(
        sl.FlattenTime(),
        nn.Conv2d(2, 4, 3, padding=1), iaf(),
        nn.AvgPool2d(2),
        nn.Conv2d(4, 6, 3, stride=2, padding=1, groups=2), iaf(),
        nn.Flatten(),
        nn.Linear(6 * 2 * 2, 5), iaf(),
        sl.UnflattenTime(batch_size=batch))


@pytest.mark.parametrize("reset", sorted(RESETS))
def test_conv_layout_reproduces_sinabs(reset: str) -> None:
    model = randomize(conv_model(BATCH, RESETS[reset]), seed=7, high=0.8)
    graph, _ = assert_same_run(model, (2, 8, 8), seed=7)
    assert [p.shape for p in graph.populations.values()] == [(2, 8, 8), (4, 8, 8), (6, 2, 2),
                                                             (5,)]
    projections = graph.projections
    assert projections["1"].is_sparse and projections["4"].is_sparse  # weight-shared CSR
    assert not projections["7"].is_sparse
    assert graph.metadata["torch"]["input_layout"] == "(batch, time, ...)"


def test_conv_projection_matches_torch_conv() -> None:
    """The CSR matrix applied to an input equals torch's conv2d of that input (pooled first)."""
    model = randomize(conv_model(1), seed=8).double()
    graph = read_module(model, input_shape=(2, 8, 8), dt_s=DT_S)
    x = np.random.default_rng(8).random((4, 8, 8))
    weight = graph.projections["4"].weight
    assert sp.issparse(weight)
    with torch.no_grad():
        pooled = model[3](torch.from_numpy(x)[None])
        expected = torch.nn.functional.conv2d(pooled, model[4].weight, None, 2, 1, 1, 2)
    np.testing.assert_allclose(weight @ x.reshape(-1), expected.numpy().reshape(-1),
                               rtol=1e-12, atol=1e-12)


def test_more_layers_and_nesting() -> None:
    """SumPool2d, Dropout, Identity, a nested Sequential, LIFSqueeze, Repeat, ExpLeak and
    nn.Flatten(0, 1) in the place of FlattenTime."""
    batch = 2
    model = randomize(nn.Sequential(
        nn.Flatten(0, 1),
        nn.Sequential(nn.Conv2d(1, 4, 3, padding="same", bias=False), nn.Dropout2d(0.5),
                      sl.LIFSqueeze(tau_mem=8.0, batch_size=batch,
                                    **single(norm_input=False, record_states=True))),
        sl.SumPool2d(2), nn.Identity(), nn.Flatten(), nn.Dropout(0.5),
        nn.Linear(4 * 3 * 3, 6), sl.IAFSqueeze(num_timesteps=N_STEPS, **single()),
        sl.UnflattenTime(batch),
        sl.Repeat(nn.Linear(6, 3)),
        sl.ExpLeak(tau_mem=3.0)), seed=9, high=1.2)
    graph, _ = assert_same_run(model, (1, 6, 6), seed=9, batch=batch)
    models = {name: pop.model for name, pop in graph.populations.items()}
    assert models == {"input": "input", "1.2": "lif", "7": "if", "10": "li"}
    assert graph.outputs == ("10",) and "9.module" in graph.projections


def test_squeezed_input_layout() -> None:
    """A model that starts squeezed ((batch*time, C, H, W), no FlattenTime) lowers the same."""
    model = randomize(nn.Sequential(nn.Conv2d(2, 3, 3), sl.IAFSqueeze(batch_size=BATCH,
                                                                    **single())), seed=10)
    graph = read_module(model, input_shape=(2, 5, 5), dt_s=DT_S)
    spikes = spikes_in((2, 5, 5), seed=10)
    squeezed = spikes.reshape(BATCH * N_STEPS, 2, 5, 5)
    expected = run_sinabs(model, squeezed).reshape(BATCH, N_STEPS, -1)
    np.testing.assert_array_equal(run_reference(graph, spikes).spikes["1"], expected)
    assert graph.metadata["torch"]["input_layout"] == "(batch*time, ...)"


def test_input_shape_defaults_to_the_first_linear() -> None:
    graph = read_module(linear_model(sa.MembraneSubtract, False))
    assert graph.populations["input"].shape == (12,) and graph.dt_s == 1e-3
    assert graph.metadata["dt_source"] == "default"


# -- through neurocc.load and compile --------------------------------------------------------
@pytest.mark.parametrize("reset, options", [("to_value", {}),
                                            ("subtract", {"reset_policy": "approximate"})])
def test_layouts_compile_for_loihi2(reset: str,
                                    options: dict[str, Any]) -> None:
    """No NIR file in between: load the module, compile for loihi2, run the exact engine.

    The Loihi family resets to 0; a subtract reset compiles only with reset_policy=
    "approximate" (the overshoot is lost), so its spikes are not compared here.
    """
    for model, shape in ((linear_model(RESETS[reset], False), (12,)),
                         (conv_model(BATCH, RESETS[reset]), (2, 8, 8))):
        randomize(model, seed=11, high=0.8)
        graph = neurocc.load(model, input_shape=shape, dt_s=DT_S)  # by its type: torch
        artifact = neurocc.compile(graph, "loihi2", **options)
        spikes = spikes_in(shape, seed=11).reshape(BATCH, N_STEPS, -1)
        result = neurocc.simulate(artifact, spikes, engine="exact")
        assert result.output.shape[:2] == (BATCH, N_STEPS)


def test_a_users_own_module_class_goes_to_the_torch_frontend() -> None:
    class Net(nn.Module):  # defined here, so its module is not torch's or sinabs'
        def __init__(self) -> None:
            super().__init__()
            self.body = nn.Sequential(nn.Linear(4, 3), sl.IAF(spike_fn=sa.SingleSpike))

    assert FRONTENDS["torch"].claims(Net()) and not FRONTENDS["nir"].claims(Net())
    assert FRONTENDS["torch"].claims(nn.Sequential(nn.Linear(4, 3)))

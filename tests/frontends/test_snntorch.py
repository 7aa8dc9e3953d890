"""snnTorch modules through snnTorch's NIR export: the reference engine reproduces snnTorch.

The expectation is snnTorch's own forward pass, stepped over time as snnTorch users do
(``for t: spk = net(x[:, t])`` with ``init_hidden=True`` neurons, state reset first).
Tolerance: identical spikes. Both run in float64 (``net.double()``, spikes cast back,
exactly, between layers); the graph's Euler steps equal snnTorch's updates up to rounding,
so a spike could only flip within ~1e-15 of a threshold, which continuous random weights do
not produce. Each test also asserts the output is neither silent nor saturated.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from neurocc.compiler.errors import FrontendError
from neurocc.frontends.nir import read_nir
from neurocc.frontends.sinabs import read_module, read_snntorch
from neurocc.sim.reference import run_graph

torch = pytest.importorskip("torch")
snn = pytest.importorskip("snntorch")
export_nir = pytest.importorskip("snntorch.export_nir")
nn = torch.nn

DT_S = 1e-3
N_STEPS = 30
BATCH = 3
SPIKE_P = 0.3


def randomize(net: Any, seed: int, low: float = -0.4, high: float = 1.0) -> Any:
    rng = np.random.default_rng(seed)
    with torch.no_grad():
        for layer in net.modules():
            if isinstance(layer, nn.Linear | nn.Conv2d):
                fan_in = layer.weight[0].numel()
                draw = rng.uniform(low, high, layer.weight.shape) * 2 / np.sqrt(fan_in)
                layer.weight.copy_(torch.from_numpy(draw))
                if layer.bias is not None:
                    layer.bias.copy_(torch.from_numpy(rng.uniform(-0.1, 0.1, layer.bias.shape)))
    return net.double()


def spikes_in(shape: tuple[int, ...], seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed + 1000)
    return (rng.random((BATCH, N_STEPS, *shape)) < SPIKE_P).astype(np.uint8)


def run_snntorch(net: Any, spikes: np.ndarray, dtype: Any = None) -> np.ndarray:
    """snnTorch's time loop; the output of the last layer at every step, in ``dtype``."""
    dtype = dtype or torch.float64
    hooks = [m.register_forward_hook(lambda m, i, o: o.to(dtype)) for m in net.modules()]
    snn.utils.reset(net)
    try:
        with torch.no_grad():
            steps = [net(torch.from_numpy(spikes[:, t]).to(dtype)) for t in range(N_STEPS)]
    finally:
        for hook in hooks:
            hook.remove()
    return np.stack([s.numpy() for s in steps], axis=1)


def assert_same_run(net: Any, input_shape: tuple[int, ...], seed: int) -> Any:
    graph = read_module(net, input_shape=input_shape, dt_s=DT_S)  # dispatches to snnTorch
    spikes = spikes_in(input_shape, seed)
    expected = run_snntorch(net, spikes).reshape(BATCH, N_STEPS, -1)
    got = run_graph(graph, spikes.reshape(BATCH, N_STEPS, -1)).spikes[graph.outputs[0]]
    np.testing.assert_array_equal(got, expected)
    assert 0.02 < expected.mean() < 0.98, "the test network is silent or saturated"
    return graph


def leaky(**kw: Any) -> Any:
    return snn.Leaky(init_hidden=True, **kw)


@pytest.mark.parametrize("mechanism, models", [("subtract", {"cubalif"}), ("zero", {"lif"}),
                                               ("none", {"cubalif"})])
def test_leaky_reproduces_snntorch(mechanism: str, models: set[str]) -> None:
    net = randomize(nn.Sequential(
        nn.Linear(10, 16), leaky(beta=0.8, reset_mechanism=mechanism),
        nn.Linear(16, 5), leaky(beta=torch.linspace(0.5, 0.9, 5), threshold=1.5,
                                reset_mechanism=mechanism)), seed=1,
        high=0.7 if mechanism == "none" else 1.0)
    graph = assert_same_run(net, (10,), seed=1)
    assert {graph.populations[n].model for n in ("1", "3")} == models
    assert ("1.reset" in graph.projections) == (mechanism == "subtract")
    assert graph.dt_s == DT_S and graph.metadata["frontend"] == "snntorch"


def test_the_plain_nir_export_does_not_reproduce_subtract() -> None:
    """Why populations are rebuilt: the export means reset to zero (and dt = 1e-4 s)."""
    def per_neuron(n: int) -> Any:  # nir 1.0.8 rejects scalar parameters
        return leaky(beta=torch.full((n,), 0.8), threshold=torch.ones(n))

    net = randomize(nn.Sequential(nn.Linear(10, 16), per_neuron(16), nn.Linear(16, 5),
                                  per_neuron(5)), seed=2).float()
    spikes = spikes_in((10,), seed=2)
    exported = export_nir.export_to_nir(net, torch.zeros(1, 10), ignore_dims=[0])
    plain = read_nir(exported, dt_s=1e-4)
    expected = run_snntorch(net, spikes, torch.float32)
    assert not np.array_equal(run_graph(plain, spikes).spikes["3"], expected)
    assert_same_run(net.double(), (10,), seed=2)


def test_synaptic_zero_without_delay_is_cubalif() -> None:
    net = randomize(nn.Sequential(
        nn.Linear(10, 12), snn.Synaptic(alpha=0.6, beta=0.8, init_hidden=True,
                                        reset_mechanism="zero", reset_delay=False),
        nn.Linear(12, 4), leaky(beta=0.7)), seed=3, high=0.6)
    graph = assert_same_run(net, (10,), seed=3)
    assert graph.populations["1"].model == "cubalif"


def test_convolutional_snntorch_model() -> None:
    net = randomize(nn.Sequential(
        nn.Conv2d(1, 4, 3, padding=1), leaky(beta=0.7), nn.AvgPool2d(2),
        nn.Flatten(), nn.Linear(4 * 3 * 3, 5), leaky(beta=0.8)), seed=4, high=0.6)
    graph = assert_same_run(net, (1, 6, 6), seed=4)
    assert graph.projections["0"].is_sparse


def test_the_users_module_is_left_alone() -> None:
    net = randomize(nn.Sequential(nn.Linear(4, 3), leaky(beta=0.9)), seed=5)
    read_snntorch(net, input_shape=(4,), dt_s=DT_S)
    assert net[1].beta.shape == () and net[1].mem.numel() == 0


REFUSED = {  # factories: snnTorch warns when a layer with inhibition is built
    "reset_delay=False subtract": (lambda: leaky(beta=0.9, reset_delay=False),
                                   "reset_delay=False"),
    "delayed Synaptic": (lambda: snn.Synaptic(alpha=0.5, beta=0.9, init_hidden=True),
                         "reset_delay=True"),
    "inhibition": (lambda: leaky(beta=0.9, inhibition=True), "inhibition"),
    "graded spikes": (lambda: leaky(beta=0.9, graded_spikes_factor=2.0),
                      "graded_spikes_factor"),
    "beta 1": (lambda: leaky(beta=1.0), "beta = 1"),
    "negative threshold": (lambda: leaky(beta=0.9, threshold=-1.0), "negative threshold"),
    "other layer": (nn.Dropout, "Dropout"),
}


@pytest.mark.parametrize("case", sorted(REFUSED))
def test_refusals_name_the_layer(case: str) -> None:
    factory, text = REFUSED[case]
    if case == "inhibition":
        with pytest.warns(UserWarning, match="Inhibition"):
            layer = factory()
    else:
        layer = factory()
    net = nn.Sequential(nn.Linear(4, 3), leaky(beta=0.9), nn.Sequential(layer),
                        nn.Linear(3, 2), leaky(beta=0.9))
    with pytest.raises(FrontendError) as info:
        read_snntorch(net, input_shape=(4,), dt_s=DT_S)
    assert f"layer '2.0' ({type(layer).__name__})" in info.value.where
    assert text in str(info.value)


def test_input_shape_is_required_and_checked() -> None:
    net = nn.Sequential(nn.Linear(4, 3), leaky(beta=0.9))
    with pytest.raises(FrontendError, match="input_shape"):
        read_snntorch(net, dt_s=DT_S)
    with pytest.raises(FrontendError, match="fails on a sample input"):
        read_snntorch(net, input_shape=(5,), dt_s=DT_S)

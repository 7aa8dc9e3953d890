"""The reference engine on a torch EGRU's graph equals the torch forward pass, step by step.

Tolerance: both sides run float64 and evaluate the same expressions in the same order of
additions (input projections, recurrent projections, bias; ``u*z + (1-u)*c``; reset by
subtraction). What differs is where the hardware kernels may round differently: matrix
products (numpy's BLAS vs torch's, free to sum in another order) and torch's ``sigmoid``/
``tanh`` vs scipy's ``expit``/numpy's ``tanh``, each within an ulp or two (1e-16 relative).
Over 30 recurrent steps the differences stay near 1e-15 (measured here: 2e-16 on c and y,
3e-15 on the readout's running sums, which reach 8), so ``TOL = 1e-12`` leaves three orders
of magnitude, while any real difference in the equations (a gate's convention, where the
reset gate acts, a bias) moves ``c`` by 1e-3 or more. Events
are compared exactly after checking that no cell comes within ``MARGIN_FACTOR * TOL`` of its
threshold, so rounding cannot flip one.
"""

from __future__ import annotations

import numpy as np
import pytest

from neurocc.frontends.egru import load_egru
from neurocc.sim.reference import run_graph

torch = pytest.importorskip("torch")
from neurocc.frontends.egru.torch_model import Egru  # noqa: E402  (needs torch)

TOL = 1e-12
MARGIN_FACTOR = 1e3
N_IN, N_UNITS, N_OUT = 10, 24, 5
N_STEPS, BATCH = 30, 16


@pytest.fixture(scope="module")
def model() -> Egru:
    torch.manual_seed(0)
    net = Egru(N_IN, N_UNITS, N_OUT, dtype=torch.float64)
    with torch.no_grad():  # larger weights than the default init: more events and silences
        net.weight_recurrent.mul_(3.0)
        net.weight_input.mul_(2.0)
    return net


@pytest.fixture(scope="module")
def spikes() -> np.ndarray:
    return (np.random.default_rng(2).random((BATCH, N_STEPS, N_IN)) < 0.3).astype(np.uint8)


def test_engine_equals_torch_step_by_step(model, spikes):
    with torch.no_grad():
        expected = model(torch.from_numpy(spikes))
    result = run_graph(load_egru(model), spikes, record_states=True)
    events = expected.events.numpy()
    assert 0.05 < events.mean() < 0.95  # both events and silences are exercised
    c_pre = expected.c.numpy() + events * model.c_threshold.detach().numpy()
    margin = np.min(np.abs(c_pre - model.c_threshold.detach().numpy()))
    assert margin > MARGIN_FACTOR * TOL
    np.testing.assert_array_equal(result.spikes["egru"], events)
    for key, value in (("c/egru", expected.c), ("y/egru", expected.y),
                       ("v/readout", expected.readout)):
        np.testing.assert_allclose(result.states[key], value.numpy(), rtol=TOL, atol=TOL,
                                   err_msg=key)


def test_events_are_counted_by_the_engine(model, spikes):
    with torch.no_grad():
        expected = model(torch.from_numpy(spikes))
    result = run_graph(load_egru(model), spikes)
    assert result.counters["spikes"] == int(expected.events.sum())


def test_surrogate_gradient_is_evnns_triangle():
    torch.manual_seed(0)
    net = Egru(1, 3, dtype=torch.float64)
    with torch.no_grad():
        net.c_threshold.copy_(torch.tensor([0.5, 0.5, 0.5], dtype=torch.float64))
    c = torch.tensor([[0.2, 0.9, 2.0]], dtype=torch.float64, requires_grad=True)
    # One step from a given cell with every weight and bias zero: u = r = 1/2 and z = 0,
    # so the new cell is c/2 and its distance to the threshold c/2 - 0.5.
    with torch.no_grad():
        for p in (net.weight_input, net.weight_recurrent, net.bias,
                  net.bias_candidate_recurrent):
            p.zero_()
    silent = torch.zeros(1, 3, dtype=torch.float64)
    _, events, _ = net.step(torch.zeros(1, 3 * 3, dtype=torch.float64), silent, c)
    events.sum().backward()
    distance = 0.5 * np.array([0.2, 0.9, 2.0]) - 0.5  # u = 1/2: c' = c/2
    slope = 0.7 * np.maximum(0.0, 1.0 - np.abs(distance))
    np.testing.assert_allclose(c.grad.numpy()[0], slope * 0.5, rtol=1e-15)
    assert events.tolist() == [[0.0, 0.0, 1.0]]


def test_to_weights_is_the_state_dict_layout(model):
    weights = model.to_weights()
    n = N_UNITS
    np.testing.assert_array_equal(weights.input_reset, model.weight_input.detach()[n:2 * n])
    np.testing.assert_array_equal(weights.recurrent_candidate,
                                  model.weight_recurrent.detach()[2 * n:])
    np.testing.assert_array_equal(weights.bias_update, model.bias.detach()[:n])
    np.testing.assert_array_equal(weights.readout_weight, model.readout.weight.detach())

"""Zero-shot reservoirs: weights from switched RRAM cells (frontends/lsm/zeroshot.py)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.stats import norm

from neurocc.backends import load_target
from neurocc.compiler.errors import FrontendError
from neurocc.frontends.lsm import (
    LsmParameters,
    fit_readout,
    formed_conductances,
    gaussian_reservoir,
    readout_from_spikes,
    readout_values,
    reservoir_states,
    train_readout,
    zeroshot_reservoir,
)

DENSE = {"shape": (60,), "length_constant": None, "connectivity": (1.0, 1.0, 1.0, 1.0),
         "input_fraction": 1.0, "tau_s": 10e-3}


def params(seed: int = 0) -> LsmParameters:
    return LsmParameters(n_inputs=16, n_readout=3, seed=seed, **DENSE)


def test_weights_are_scaled_differences_of_the_switched_cells() -> None:
    graph = zeroshot_reservoir(params(), input_scale=3.0, recurrent_scale=0.5)
    spec = load_target("rram256k")
    unit = math.sqrt(2) * spec.switching_set_std_us
    cells = formed_conductances(graph)
    for name, scale in (("input_reservoir", 3.0), ("reservoir_reservoir", 0.5)):
        g_plus, g_minus = cells[name]
        weight = graph.projections[name].weight
        assert np.array_equal(weight.data, scale * (g_plus - g_minus) / unit)
    # dense: every input reaches every neuron, every ordered pair of neurons is connected
    assert len(cells["input_reservoir"][0]) == 16 * 60
    assert len(cells["reservoir_reservoir"][0]) == 60 * 59


def test_cells_follow_the_targets_clipped_normal_switching_law() -> None:
    """Normal(28, 8) µS clipped to [4, 40]: a share Phi(-3) sits at g_min and 1 - Phi(1.5) at
    g_max (from the rram256k file), and the rest is the normal law's body."""
    spec = load_target("rram256k")
    mean, sd = spec.switching_set_mean_us, spec.switching_set_std_us
    big = LsmParameters(n_inputs=64, n_readout=2, **{**DENSE, "shape": (200,)})
    g = np.concatenate(formed_conductances(zeroshot_reservoir(
        big, input_scale=1.0, recurrent_scale=1.0))["reservoir_reservoir"])
    n = len(g)
    assert g.min() == spec.g_min_us and g.max() == spec.g_max_us
    at_top = norm.sf((spec.g_max_us - mean) / sd)
    at_bottom = norm.cdf((spec.g_min_us - mean) / sd)
    assert abs(np.mean(g == spec.g_max_us) - at_top) < 5 * math.sqrt(at_top / n)
    assert abs(np.mean(g == spec.g_min_us) - at_bottom) < 5 * math.sqrt(at_bottom / n) + 1e-4
    inside = g[(g > spec.g_min_us) & (g < spec.g_max_us)]
    assert np.median(inside) == pytest.approx(norm.ppf(0.5 * (norm.cdf(-3) + norm.cdf(1.5)),
                                                       mean, sd), abs=0.2)


def test_reset_pulse_and_the_device_seed_pick_other_cells() -> None:
    base = zeroshot_reservoir(params(), input_scale=1.0, recurrent_scale=1.0)
    again = zeroshot_reservoir(params(), input_scale=1.0, recurrent_scale=1.0)
    other = zeroshot_reservoir(params(), input_scale=1.0, recurrent_scale=1.0, device_seed=7)
    reset = zeroshot_reservoir(params(), input_scale=1.0, recurrent_scale=1.0, pulse="reset")
    data = {g: g.projections["reservoir_reservoir"].weight.data
            for g in (base, again, other, reset)}
    assert np.array_equal(data[base], data[again])
    assert not np.array_equal(data[base], data[other])
    # both cells of a pair come from one law, so the weights stay zero-mean with either pulse
    reset_cells = formed_conductances(reset)["reservoir_reservoir"][0]
    assert reset_cells.mean() < formed_conductances(base)["reservoir_reservoir"][0].mean()
    assert base.metadata["lsm_zeroshot"]["device_seed"] == 0
    assert other.metadata["lsm_zeroshot"]["device_seed"] == 7


def test_software_reservoir_has_gaussian_weights_of_the_given_scale() -> None:
    big = LsmParameters(n_inputs=64, n_readout=2, **{**DENSE, "shape": (200,)})
    graph = gaussian_reservoir(big, input_scale=2.0, recurrent_scale=0.25)
    w_in = graph.projections["input_reservoir"].weight.data
    w_rec = graph.projections["reservoir_reservoir"].weight.data
    assert w_in.std() == pytest.approx(2.0, rel=0.03) and abs(w_in.mean()) < 0.06
    assert w_rec.std() == pytest.approx(0.25, rel=0.03)


def test_digital_readout_from_spikes_equals_the_reference_run() -> None:
    rng = np.random.default_rng(3)
    spikes = (rng.random((40, 12, 16)) < 0.3).astype(np.uint8)
    labels = np.arange(40) % 3
    graph = zeroshot_reservoir(params(), input_scale=3.0, recurrent_scale=0.3)
    trained, report = train_readout(graph, spikes, labels)
    raw = reservoir_states(graph, spikes)[1]
    refit, again = fit_readout(graph, raw, labels)
    assert again == report
    np.testing.assert_allclose(readout_from_spikes(trained, raw),
                               readout_values(trained, spikes), rtol=1e-9, atol=1e-9)
    assert np.array_equal(refit.projections["reservoir_readout"].weight,
                          trained.projections["reservoir_readout"].weight)


@pytest.mark.parametrize(("call", "where"), [
    (lambda: zeroshot_reservoir(params(), input_scale=1.0, recurrent_scale=1.0,
                                pulse="forming"), "pulse 'forming'"),
    (lambda: zeroshot_reservoir(params(), "pcm256", input_scale=1.0, recurrent_scale=1.0),
     "target 'pcm256'"),
    (lambda: zeroshot_reservoir(params(), input_scale=-1.0, recurrent_scale=1.0),
     "input_scale"),
    (lambda: zeroshot_reservoir(params(), input_scale=1.0, recurrent_scale=1.0,
                                device_seed=-1), "device_seed"),
    (lambda: formed_conductances(gaussian_reservoir(params(), input_scale=1.0,
                                                    recurrent_scale=1.0)), "graph"),
    (lambda: fit_readout(gaussian_reservoir(params(), input_scale=1.0, recurrent_scale=1.0),
                         np.zeros((4, 5, 7)), np.arange(4) % 3), "reservoir_spikes"),
])
def test_errors_name_what_is_wrong(call, where: str) -> None:
    with pytest.raises(FrontendError) as info:
        call()
    assert info.value.where == where

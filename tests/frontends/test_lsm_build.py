"""build_lsm: the reservoir's statistics match the recipe; the graph is deterministic.

Expected counts are summed here over every pair from the recipe's equation
(p = C[type(a), type(b)] * exp(-(D/lambda)^2), no self-connections), with the
neuron types the builder chose (``excitatory_mask``). A count of independent
trials has variance sum p(1 - p); each check allows 5 standard deviations,
on three seeds.
"""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from scipy import stats

import neurocc
from neurocc.compiler.errors import FrontendError
from neurocc.frontends.lsm import (
    EiPair,
    LsmParameters,
    build_lsm,
    excitatory_mask,
    expected_synapses,
    load_lsm,
)

SIGMAS = 5.0
SEEDS = (0, 1, 2)
GRID = (8, 8, 6)
C = EiPair(0.3, 0.2, 0.4, 0.1)


def pair_probabilities(params: LsmParameters, excitatory: np.ndarray) -> np.ndarray:
    """p[post, pre] for every pair, brute force."""
    at = np.array(list(itertools.product(*map(range, params.shape))), float)
    d2 = ((at[:, None, :] - at[None, :, :]) ** 2).sum(axis=2)
    table = np.array(params.connectivity.table())  # [pre][post], 0 = E
    inhibitory = (~excitatory).astype(int)
    c = table[inhibitory[None, :], inhibitory[:, None]]
    p = c if params.length_constant is None else c * np.exp(-d2 / params.length_constant**2)
    np.fill_diagonal(p, 0.0)
    return p


def assert_count(count: float, p: np.ndarray) -> None:
    mean, sd = p.sum(), math.sqrt((p * (1 - p)).sum())
    assert abs(count - mean) <= SIGMAS * sd, (count, mean, sd)


def type_masks(excitatory: np.ndarray) -> dict[str, np.ndarray]:
    """(post, pre) masks of the four pair types."""
    e = excitatory
    return {"ee": e[:, None] & e[None, :], "ei": ~e[:, None] & e[None, :],
            "ie": e[:, None] & ~e[None, :], "ii": ~e[:, None] & ~e[None, :]}


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("length", [2.0, None])
def test_density_per_pair_type_matches_the_recipe(seed, length):
    params = LsmParameters(n_inputs=4, shape=GRID, connectivity=C, length_constant=length,
                           seed=seed)
    graph = build_lsm(params)
    excitatory = excitatory_mask(params)
    p = pair_probabilities(params, excitatory)
    weight = graph.projections["reservoir_reservoir"].dense_weight()
    assert np.all(np.diag(weight) == 0)
    for mask in type_masks(excitatory).values():
        assert_count(np.count_nonzero(weight[mask]), np.where(mask, p, 0.0))
    assert_count(np.count_nonzero(weight), p)
    assert expected_synapses(params) == pytest.approx(p.sum() + 4 * round(0.3 * p.shape[0]),
                                                      rel=0.02)  # 2 %: E/I types are random


@pytest.mark.parametrize("seed", SEEDS)
def test_distance_profile_follows_the_gaussian(seed):
    params = LsmParameters(n_inputs=4, shape=GRID, connectivity=C, length_constant=2.0,
                           seed=seed)
    excitatory = excitatory_mask(params)
    p = pair_probabilities(params, excitatory)
    at = np.array(list(itertools.product(*map(range, GRID))))
    d2 = ((at[:, None, :] - at[None, :, :]) ** 2).sum(axis=2)
    connected = build_lsm(params).projections["reservoir_reservoir"].dense_weight() != 0
    chi2, bins = 0.0, 0
    for value in np.unique(d2[(d2 > 0) & (d2 <= 16)]):  # D <= 4 = 2 lambda: p >= C e^-4
        in_bin = d2 == value
        mean, var = p[in_bin].sum(), (p * (1 - p))[in_bin].sum()
        assert abs(connected[in_bin].sum() - mean) <= SIGMAS * math.sqrt(var), value
        chi2, bins = chi2 + (connected[in_bin].sum() - mean) ** 2 / var, bins + 1
    assert chi2 < stats.chi2.ppf(0.9999, bins)
    assert not connected[d2 > 16 * 9].any()  # D > 12: p < 0.4 e^-36, never drawn here


def test_excitatory_fraction_is_exact_and_signs_follow_the_presynaptic_type():
    params = LsmParameters(n_inputs=4, shape=GRID, excitatory_fraction=0.8)
    excitatory = excitatory_mask(params)
    assert excitatory.sum() == round(0.8 * np.prod(GRID))
    weight = build_lsm(params).projections["reservoir_reservoir"].dense_weight()
    assert np.all(weight[:, excitatory] >= 0) and np.all(weight[:, ~excitatory] <= 0)


@pytest.mark.parametrize("distribution", ["gamma", "lognormal"])
def test_weight_means_per_pair_type(distribution):
    # standard error of a mean of n magnitudes: mean * cv / sqrt(n); 5 of them allowed
    means = EiPair(3.0, 6.0, 2.0, 1.0)
    params = LsmParameters(n_inputs=4, shape=(12, 12, 12), weight_mean=means, weight_cv=0.5,
                           weight_distribution=distribution, length_constant=2.5)
    excitatory = excitatory_mask(params)
    weight = build_lsm(params).projections["reservoir_reservoir"].dense_weight()
    for name, mask in type_masks(excitatory).items():
        values = np.abs(weight[mask & (weight != 0)])
        mean = getattr(means, name)
        assert abs(values.mean() - mean) <= SIGMAS * mean * 0.5 / math.sqrt(len(values)), name


def test_constant_weights_and_delays_per_pair_type():
    params = LsmParameters(n_inputs=4, shape=(6, 6, 6), weight_distribution="constant",
                           weight_mean=EiPair(3.0, 6.0, 2.0, 1.0),
                           delay_s=EiPair(1.5e-3, 0.8e-3, 0.8e-3, 2.6e-3))
    excitatory = excitatory_mask(params)
    proj = build_lsm(params).projections["reservoir_reservoir"]
    post, pre, weight, delays = proj.coo()
    kind = 2 * (~excitatory[pre]) + (~excitatory[post])
    # Maass' 1.5 ms rounds half up to 2 steps, 0.8 ms to 1, 2.6 ms to 3
    np.testing.assert_array_equal(delays, np.array([2, 1, 1, 3])[kind])
    np.testing.assert_array_equal(weight, np.array([3.0, 6.0, -2.0, -1.0])[kind])


def test_input_projection_reaches_a_fixed_fraction():
    params = LsmParameters(n_inputs=7, shape=(10, 10), input_fraction=0.25, input_weight=2.0,
                           weight_distribution="constant")
    proj = build_lsm(params).projections["input_reservoir"]
    weight = proj.dense_weight()
    np.testing.assert_array_equal(np.count_nonzero(weight, axis=0), np.full(7, 25))
    assert np.all(weight[weight != 0] == 2.0) and int(proj.delay_steps) == 0


def test_graph_layout_and_neuron_parameters():
    params = LsmParameters(n_inputs=3, shape=(5, 4, 3), tau_s=20e-3, v_threshold=1.5,
                           v_reset=0.2, bias=0.1, n_readout=4, readout_tau_s=50e-3, dt_s=5e-4)
    graph = build_lsm(params)
    assert graph.dt_s == 5e-4 and graph.inputs == ("input",) and graph.outputs == ("readout",)
    reservoir = graph.populations["reservoir"]
    assert (reservoir.model, reservoir.shape, reservoir.reset) == ("lif", (5, 4, 3), "to_value")
    for key, value in (("tau_s", 20e-3), ("v_threshold", 1.5), ("v_reset", 0.2), ("bias", 0.1)):
        np.testing.assert_array_equal(reservoir.params[key], np.full(60, value))
    readout = graph.populations["readout"]
    assert readout.model == "li" and readout.size == 4
    np.testing.assert_array_equal(readout.params["tau_s"], np.full(4, 50e-3))
    assert not graph.projections["reservoir_readout"].dense_weight().any()
    assert graph.projections["reservoir_reservoir"].is_sparse
    assert LsmParameters.from_json(graph.metadata["lsm"]) == params


def test_synaptic_time_constant_makes_cubalif():
    graph = build_lsm(LsmParameters(n_inputs=2, tau_syn_s=3e-3, tau_s=30e-3))
    reservoir = graph.populations["reservoir"]
    assert reservoir.model == "cubalif"
    assert reservoir.params["tau_syn_s"][0] == 3e-3 and reservoir.params["tau_mem_s"][0] == 30e-3


def test_same_seed_same_graph_other_seed_other_graph():
    params = LsmParameters(n_inputs=5, shape=(7, 6, 5))
    a, b = build_lsm(params), build_lsm(params)
    c = build_lsm(params.replace(seed=1))
    for name in ("input_reservoir", "reservoir_reservoir"):
        x, y, z = (g.projections[name].weight for g in (a, b, c))
        for attr in ("indptr", "indices", "data"):
            np.testing.assert_array_equal(getattr(x, attr), getattr(y, attr))
        assert x.nnz != z.nnz or not np.array_equal(x.indices, z.indices)


def test_input_recipe_leaves_the_reservoir_unchanged():
    params = LsmParameters(n_inputs=5, shape=(7, 6, 5))
    a = build_lsm(params).projections["reservoir_reservoir"].weight
    b = build_lsm(params.replace(n_inputs=9, input_fraction=0.5)).projections[
        "reservoir_reservoir"].weight
    np.testing.assert_array_equal(a.data, b.data)


def test_neurocc_load_builds_through_the_frontend_record():
    params = LsmParameters(n_inputs=3, shape=(4, 4, 4))
    graph = neurocc.load(params, seed=5)
    expected = build_lsm(params.replace(seed=5))
    np.testing.assert_array_equal(graph.projections["reservoir_reservoir"].weight.data,
                                  expected.projections["reservoir_reservoir"].weight.data)


# -- errors -----------------------------------------------------------------------------------
@pytest.mark.parametrize("changes,field", [
    ({"n_inputs": 0}, "n_inputs"),
    ({"n_inputs": 2.5}, "n_inputs"),
    ({"shape": (3, 0, 2)}, "shape"),
    ({"shape": (2, 2, 2, 2)}, "shape"),
    ({"excitatory_fraction": 1.2}, "excitatory_fraction"),
    ({"connectivity": EiPair(0.3, 0.2, -0.1, 0.1)}, r"connectivity\.ie"),
    ({"connectivity": {"ee": 0.3}}, "connectivity"),
    ({"connectivity": (0.3, 0.2)}, "connectivity"),
    ({"length_constant": 0.0}, "length_constant"),
    ({"weight_mean": EiPair(1.0, 0.0, 1.0, 1.0)}, r"weight_mean\.ei"),
    ({"weight_distribution": "normal"}, "weight_distribution"),
    ({"weight_cv": -0.1}, "weight_cv"),
    ({"delay_s": EiPair(1e-3, 1e-3, 0.4e-3, 1e-3)}, r"delay_s\.ie"),
    ({"tau_s": 0.0}, "tau_s"),
    ({"tau_syn_s": -1e-3}, "tau_syn_s"),
    ({"dt_s": float("nan")}, "dt_s"),
    ({"v_threshold": float("inf")}, "v_threshold"),
    ({"reset": "none"}, "reset"),
    ({"seed": -1}, "seed"),
])
def test_bad_parameters_name_the_field(changes, field):
    with pytest.raises(FrontendError, match=rf"LsmParameters\.{field}"):
        LsmParameters(**{"n_inputs": 4, **changes})


def test_too_many_neurons_is_refused_before_building():
    with pytest.raises(FrontendError, match=r"10,000,000"):
        LsmParameters(n_inputs=1, shape=(1000, 1000, 11))


def test_too_many_synapses_is_refused_before_building():
    with pytest.raises(FrontendError, match=r"connectivity.*more than the limit of 200,000,000"):
        LsmParameters(n_inputs=1, shape=(100_000,), length_constant=None)


def test_pairs_from_mappings_and_sequences():
    params = LsmParameters(n_inputs=1, connectivity={"ee": 0.1, "ei": 0.2, "ie": 0.3, "ii": 0.4},
                           weight_mean=[1.0, 2.0, 3.0, 4.0])
    assert params.connectivity == EiPair(0.1, 0.2, 0.3, 0.4)
    assert params.weight_mean == EiPair(1.0, 2.0, 3.0, 4.0)


def test_unknown_option_and_wrong_source():
    with pytest.raises(FrontendError, match=r"no field 'tau'"):
        load_lsm(LsmParameters(n_inputs=1), tau=1.0)
    with pytest.raises(FrontendError, match=r"not an LsmParameters"):
        load_lsm({"n_inputs": 1})

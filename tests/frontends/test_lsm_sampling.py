"""The sparse samplers draw each pair with its own probability, independently.

Expectations are computed here by brute force over every pair (the samplers
never enumerate pairs). Tolerances: a count of independent trials has variance
sum p(1 - p); every check allows 5 standard deviations (a false failure about
once in 1.7 million for a normal count; the seeds are fixed, so a run either
passes or fails every time).
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from neurocc.frontends.lsm.sampling import (
    DENSE_SHARE,
    cutoff_distance,
    distinct_pairs,
    draw_magnitudes,
    grid_expected,
    grid_pairs,
    to_csr,
    uniform_pairs,
)

SIGMAS = 5.0


def within(count: np.ndarray, p: np.ndarray, trials: int) -> None:
    """``count`` successes in ``trials`` runs of independent events of probability ``p``."""
    sd = np.sqrt(trials * p * (1 - p))
    assert np.all(np.abs(count - trials * p) <= SIGMAS * sd + 1e-9), \
        np.max(np.abs(count - trials * p) / np.maximum(sd, 1e-12))


def brute_grid(pre_shape, post_shape, peak, length, self_connections=True):
    """p[post, pre] = peak * exp(-(D/length)^2) over every pair."""
    pre_at = np.array(list(itertools.product(*map(range, pre_shape))), float)
    post_at = np.array(list(itertools.product(*map(range, post_shape))), float)
    d2 = ((post_at[:, None, :] - pre_at[None, :, :]) ** 2).sum(axis=2)
    p = peak * np.exp(-d2 / length**2)
    if not self_connections:
        p[d2 == 0] = 0.0
    return p


@pytest.mark.parametrize("size,count", [(20, 4), (20, 12), (7, 7)])
def test_distinct_pairs_is_a_uniform_subset(size, count):
    # (20, 4) takes the rejection path with many repeats, (20, 12) and (7, 7) the permutation
    assert (count > DENSE_SHARE * size) == (count != 4)
    rng = np.random.default_rng(0)
    trials = 3000
    hits = np.zeros(size)
    for _ in range(trials):
        keys = distinct_pairs(rng, np.array([size]), np.array([count]),
                              lambda g, i: i, lambda k: np.zeros(len(k), np.int64))
        assert len(keys) == count and np.all(np.diff(keys) > 0)
        hits[keys] += 1
    within(hits, np.full(size, count / size), trials)


def test_distinct_pairs_per_group():
    rng = np.random.default_rng(1)
    sizes, counts = np.array([5, 1000, 0, 3]), np.array([5, 10, 0, 1])
    keys = distinct_pairs(rng, sizes, counts, lambda g, i: g * 10_000 + i, lambda k: k // 10_000)
    np.testing.assert_array_equal(np.bincount(keys // 10_000, minlength=4), counts)
    assert np.all(keys % 10_000 < sizes[keys // 10_000])


@pytest.mark.parametrize("self_connections", [True, False])
def test_uniform_pairs_each_pair_with_p(self_connections):
    rng = np.random.default_rng(2)
    n_post, n_pre, p, trials = 6, (6 if not self_connections else 5), 0.3, 3000
    hits = np.zeros((n_post, n_pre))
    for _ in range(trials):
        pairs = uniform_pairs(rng, n_post, n_pre, p, self_connections)
        keys = pairs.post * n_pre + pairs.pre
        assert np.all(np.diff(keys) > 0)  # CSR order, no repeats
        hits[pairs.post, pairs.pre] += 1
    expected = np.full((n_post, n_pre), p)
    if not self_connections:
        np.fill_diagonal(expected, 0.0)
    within(hits, expected, trials)


@pytest.mark.parametrize("pre_shape,post_shape,self_connections", [
    ((3, 4), (3, 4), False), ((3, 4), (2, 5), True), ((6,), (4,), True), ((2, 2, 3), (2, 2, 3),
                                                                          False)])
def test_grid_pairs_each_pair_with_its_distance_probability(pre_shape, post_shape,
                                                             self_connections):
    rng = np.random.default_rng(3)
    peak, length, trials = 0.6, 1.5, 2000
    n_pre = int(np.prod(pre_shape))
    hits = np.zeros((int(np.prod(post_shape)), n_pre))
    for _ in range(trials):
        pairs = grid_pairs(rng, pre_shape, post_shape, peak, length, self_connections)
        assert np.all(np.diff(pairs.post * n_pre + pairs.pre) > 0)
        hits[pairs.post, pairs.pre] += 1
    within(hits, brute_grid(pre_shape, post_shape, peak, length, self_connections), trials)


def test_grid_expected_matches_the_brute_force_sum():
    expected = brute_grid((5, 4, 3), (5, 4, 3), 0.3, 2.0, False).sum()
    assert grid_expected((5, 4, 3), (5, 4, 3), 0.3, 2.0, False) == pytest.approx(expected,
                                                                                 rel=1e-9)


def test_cutoff_leaves_out_only_pairs_below_1e_12():
    length, peak = 2.0, 0.3
    d = cutoff_distance(peak, length)
    assert peak * np.exp(-((d / length) ** 2)) == pytest.approx(1e-12)


def test_to_csr_keeps_the_order_of_per_synapse_values():
    rng = np.random.default_rng(4)
    pairs = uniform_pairs(rng, 30, 40, 0.2)
    values = np.arange(len(pairs), dtype=float)
    matrix = to_csr(pairs, values, (30, 40))
    np.testing.assert_array_equal(matrix.data, values)
    coo = matrix.tocoo()
    np.testing.assert_array_equal(coo.row, pairs.post)
    np.testing.assert_array_equal(coo.col, pairs.pre)


@pytest.mark.parametrize("kind", ["gamma", "lognormal"])
def test_magnitudes_have_the_mean_and_cv(kind):
    # n = 1e5, cv 0.5: the sample mean's standard error is 0.5/sqrt(n) = 0.16 % of the mean,
    # the sample cv's about 0.002 (gamma kurtosis 1.5, lognormal 5.0): tolerances are >= 5 SE
    values = draw_magnitudes(np.random.default_rng(5), kind, 2.0, 0.5, 100_000)
    assert np.all(values > 0)
    assert values.mean() == pytest.approx(2.0, rel=0.008)
    assert values.std() / values.mean() == pytest.approx(0.5, abs=0.012)


def test_constant_magnitudes():
    values = draw_magnitudes(np.random.default_rng(6), "constant", 1.5, 0.5, 10)
    np.testing.assert_array_equal(values, np.full(10, 1.5))

"""Random sparse connectivity without dense matrices (shared by the LSM and YAML frontends).

Every rule here draws each candidate pair (pre, post) independently, a Bernoulli
trial with the pair's probability. Pairs are grouped so that all pairs of one
group share one probability (one group for a uniform probability; one group per
grid offset for a distance rule). A group of ``n`` pairs gets
``Binomial(n, p)`` synapses, placed on a uniformly random subset of its pairs of
that size: the same law as ``n`` independent trials, at a cost that grows with
the number of synapses, not of pairs. Nothing here allocates a (post, pre)
matrix.

The subset is drawn by rejection (draw uniformly, drop repeats, draw again for
the missing) where a group is sparse, and by ``Generator.choice`` (a
permutation) where it holds more than :data:`DENSE_SHARE` of its pairs. Both
give uniform subsets; the order of draws is fixed, so one seed gives one result.
A pair is named by its key ``post * n_pre + pre``, so one sort of the keys both
finds repeats and gives the CSR order.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

DENSE_SHARE = 0.25  # above this share of a group's pairs, rejection would repeat many rounds
TAIL_PROBABILITY = 1e-12  # distance rules skip pairs less likely than this (see grid_groups)
MAX_KEYS = 2**62  # pair keys post * n_pre + pre must stay inside int64
MAX_NEURONS = 10_000_000  # per population: parameter arrays of 80 MB each
MAX_SYNAPSES = 200_000_000  # expected, per graph: about 24 bytes each while building (< 5 GB)
MAX_OFFSETS = 20_000_000  # grid offsets of a distance rule: 3 int64 each while building
MAGNITUDE_DISTRIBUTIONS = ("constant", "gamma", "lognormal")

KeysOf = Callable[[np.ndarray, np.ndarray], np.ndarray]  # (group, index in group) -> pair key
GroupOf = Callable[[np.ndarray], np.ndarray]  # pair key -> group


@dataclass(frozen=True)
class Pairs:
    """Synapse end points in CSR order: sorted by ``post``, then ``pre``, no repeats."""

    post: np.ndarray
    pre: np.ndarray

    def __len__(self) -> int:
        return len(self.post)

    def take(self, keep: np.ndarray) -> Pairs:
        return Pairs(self.post[keep], self.pre[keep])

    @staticmethod
    def from_keys(keys: np.ndarray, n_pre: int) -> Pairs:
        post, pre = np.divmod(keys, max(n_pre, 1))
        return Pairs(post, pre)


def check_pair_count(n_post: int, n_pre: int) -> None:
    if n_post * n_pre >= MAX_KEYS:
        raise ValueError(f"{n_post} x {n_pre} pairs exceed 2**62")


# -- drawing distinct pairs ---------------------------------------------------------------
def distinct_pairs(rng: np.random.Generator, sizes: np.ndarray, counts: np.ndarray,
                   keys_of: KeysOf, group_of: GroupOf) -> np.ndarray:
    """For each group g, ``counts[g]`` distinct pairs drawn uniformly from its ``sizes[g]``.

    ``keys_of`` maps a group and an index inside it to the pair key,
    ``group_of`` a key back to its group. Returns the sorted keys.
    """
    sizes, counts = np.asarray(sizes, np.int64), np.asarray(counts, np.int64)
    dense = counts > DENSE_SHARE * sizes
    keys, missing = _unique_counted(np.concatenate([
        _dense_keys(rng, sizes, counts, dense, keys_of),
        _draw(rng, sizes, np.where(dense, 0, counts), keys_of)]), group_of, len(sizes))
    while missing.any():  # draw again for the repeats: a uniform subset per group, by symmetry
        new, missing = _unique_counted(_draw(rng, sizes, missing, keys_of), group_of,
                                       len(sizes))
        position = np.minimum(np.searchsorted(keys, new), max(len(keys) - 1, 0))
        known = keys[position] == new if len(keys) else np.zeros(len(new), bool)
        missing = missing + np.bincount(group_of(new[known]), minlength=len(sizes))
        # two sorted runs: the stable sort (timsort) merges them in linear time
        keys = np.sort(np.concatenate([keys, new[~known]]), kind="stable")
    return keys


def _draw(rng: np.random.Generator, sizes: np.ndarray, counts: np.ndarray,
          keys_of: KeysOf) -> np.ndarray:
    group = np.repeat(np.arange(len(sizes)), counts)
    return keys_of(group, rng.integers(0, np.maximum(sizes[group], 1)))


def _dense_keys(rng: np.random.Generator, sizes: np.ndarray, counts: np.ndarray,
                dense: np.ndarray, keys_of: KeysOf) -> np.ndarray:
    parts = [keys_of(np.full(counts[g], g), rng.choice(sizes[g], counts[g], replace=False))
             for g in np.flatnonzero(dense & (counts > 0))]
    return np.concatenate(parts) if parts else np.zeros(0, np.int64)


def _unique_counted(keys: np.ndarray, group_of: GroupOf, n_groups: int
                    ) -> tuple[np.ndarray, np.ndarray]:
    """Sorted distinct keys, and per group how many repeats were dropped."""
    keys = np.sort(keys)
    repeat = keys[1:] == keys[:-1]
    dropped = np.bincount(group_of(keys[1:][repeat]), minlength=n_groups)
    return (keys[np.concatenate([[True], ~repeat])] if len(keys) else keys), dropped


# -- uniform probability ------------------------------------------------------------------
def uniform_pairs(rng: np.random.Generator, n_post: int, n_pre: int, probability: float,
                  self_connections: bool = True) -> Pairs:
    """Each (post, pre) pair with ``probability``; without ``self_connections`` (a population
    onto itself, ``n_post == n_pre``) the diagonal is left out."""
    check_pair_count(n_post, n_pre)
    skip_diagonal = not self_connections
    if skip_diagonal and n_post != n_pre:
        raise ValueError(f"no diagonal to leave out of {n_post} x {n_pre} pairs")
    columns = n_pre - 1 if skip_diagonal else n_pre
    size = n_post * columns
    count = int(rng.binomial(size, probability)) if size > 0 else 0

    def keys_of(group: np.ndarray, index: np.ndarray) -> np.ndarray:
        post, column = np.divmod(index, max(columns, 1))
        return post * n_pre + (column + (column >= post) if skip_diagonal else column)

    keys = distinct_pairs(rng, np.array([max(size, 0)]), np.array([count]), keys_of,
                          lambda keys: np.zeros(len(keys), np.int64))
    return Pairs.from_keys(keys, n_pre)


def uniform_expected(n_post: int, n_pre: int, probability: float,
                     self_connections: bool = True) -> float:
    """The expected number of synapses of :func:`uniform_pairs`."""
    return probability * n_post * (n_pre - (0 if self_connections else 1))


# -- distance on a grid ---------------------------------------------------------------------
@dataclass(frozen=True)
class GridGroups:
    """The offsets (post position minus pre position) pairs can have, each with the box of
    pre positions whose post lies inside the target grid."""

    offsets: np.ndarray  # (G, d) int64
    lower: np.ndarray  # (G, d) first pre coordinate of the box
    extent: np.ndarray  # (G, d) pre coordinates per dimension (0: no pair has this offset)
    distance: np.ndarray  # (G,) Euclidean length of the offset, in grid units
    reach: np.ndarray  # (d,) the largest |offset| per dimension (for the lookup table)

    @property
    def sizes(self) -> np.ndarray:
        return np.prod(self.extent, axis=1, dtype=np.int64)


def cutoff_distance(peak: float, length: float) -> float:
    """Where ``peak * exp(-(D/length)^2)`` falls below :data:`TAIL_PROBABILITY`."""
    if peak <= TAIL_PROBABILITY:
        return 0.0
    return length * math.sqrt(math.log(peak / TAIL_PROBABILITY))


def _offset_box(pre_shape: tuple[int, ...], post_shape: tuple[int, ...], cutoff: float
                ) -> tuple[np.ndarray, np.ndarray]:
    """Per dimension, the lowest and highest offset within ``cutoff`` and both grids."""
    pre, post = np.array(pre_shape, np.int64), np.array(post_shape, np.int64)
    reach = np.full(len(pre), math.floor(cutoff), np.int64)
    return np.maximum(-(pre - 1), -reach), np.minimum(post - 1, reach)


def offset_count(pre_shape: tuple[int, ...], post_shape: tuple[int, ...], peak: float,
                 length: float) -> int:
    """How many offsets a distance rule enumerates (check against :data:`MAX_OFFSETS`)."""
    low, high = _offset_box(pre_shape, post_shape, cutoff_distance(peak, length))
    return math.prod((high - low + 1).tolist())


def grid_groups(pre_shape: tuple[int, ...], post_shape: tuple[int, ...], cutoff: float,
                self_connections: bool = True) -> GridGroups:
    """Every offset ``b - a`` (a on the pre grid, b on the post grid) of length <= cutoff.

    Offsets beyond ``cutoff`` only hold pairs less likely than
    :data:`TAIL_PROBABILITY`: leaving them out misses fewer than
    ``TAIL_PROBABILITY * n_pre * n_post`` synapses in expectation.
    """
    pre, post = np.array(pre_shape, np.int64), np.array(post_shape, np.int64)
    low, high = _offset_box(pre_shape, post_shape, cutoff)
    if math.prod((high - low + 1).tolist()) > MAX_OFFSETS:
        raise ValueError(f"more than {MAX_OFFSETS} grid offsets")
    axes = [np.arange(lo, hi + 1) for lo, hi in zip(low.tolist(), high.tolist(), strict=True)]
    offsets = np.stack([a.reshape(-1) for a in np.meshgrid(*axes, indexing="ij")], axis=1)
    distance = np.sqrt((offsets.astype(np.float64) ** 2).sum(axis=1))
    keep = (distance <= cutoff) & (self_connections | (distance > 0))
    offsets, distance = offsets[keep], distance[keep]
    lower = np.maximum(0, -offsets)
    extent = np.clip(np.minimum(pre, post - offsets) - lower, 0, None)
    return GridGroups(offsets, lower, extent, distance, np.maximum(-low, high))


def gaussian_profile(distance: np.ndarray, peak: float, length: float) -> np.ndarray:
    """Maass et al. (2002): ``p = C * exp(-(D / lambda)^2)``."""
    return peak * np.exp(-((distance / length) ** 2))


def grid_pairs(rng: np.random.Generator, pre_shape: tuple[int, ...],
               post_shape: tuple[int, ...], peak: float, length: float,
               self_connections: bool = True) -> Pairs:
    """Pairs with probability ``peak * exp(-(D/length)^2)``, D the Euclidean distance of the
    grid positions (pre neuron at index a of ``pre_shape``, post neuron at b of
    ``post_shape``, both C order)."""
    n_pre, n_post = math.prod(pre_shape), math.prod(post_shape)
    check_pair_count(n_post, n_pre)
    groups = grid_groups(pre_shape, post_shape, cutoff_distance(peak, length),
                         self_connections)
    counts = rng.binomial(groups.sizes, gaussian_profile(groups.distance, peak, length))
    table = _offset_table(groups)

    def keys_of(group: np.ndarray, index: np.ndarray) -> np.ndarray:
        pre_at = _unravel(index, groups.extent[group]) + groups.lower[group]
        post_at = pre_at + groups.offsets[group]
        return (np.ravel_multi_index(tuple(post_at.T), post_shape).astype(np.int64) * n_pre
                + np.ravel_multi_index(tuple(pre_at.T), pre_shape))

    def group_of(keys: np.ndarray) -> np.ndarray:
        post, pre = np.divmod(keys, n_pre)
        offset = (np.stack(np.unravel_index(post, post_shape), axis=1)
                  - np.stack(np.unravel_index(pre, pre_shape), axis=1))
        return table[tuple((offset + groups.reach).T)]

    keys = distinct_pairs(rng, groups.sizes, counts, keys_of, group_of)
    return Pairs.from_keys(keys, n_pre)


def _offset_table(groups: GridGroups) -> np.ndarray:
    """Group index by offset (shifted by ``reach``): maps a drawn pair back to its group."""
    table = np.full(tuple(2 * groups.reach + 1), -1, np.int64)
    table[tuple((groups.offsets + groups.reach).T)] = np.arange(len(groups.offsets))
    return table


def grid_expected(pre_shape: tuple[int, ...], post_shape: tuple[int, ...], peak: float,
                  length: float, self_connections: bool = True) -> float:
    """The expected number of synapses of :func:`grid_pairs` (without drawing any)."""
    groups = grid_groups(pre_shape, post_shape, cutoff_distance(peak, length),
                         self_connections)
    return float(groups.sizes @ gaussian_profile(groups.distance, peak, length))


def _unravel(index: np.ndarray, extent: np.ndarray) -> np.ndarray:
    """C-order coordinates of ``index`` in boxes of per-row ``extent`` (n, d)."""
    coords = np.empty(extent.shape, np.int64)
    rest = index.astype(np.int64)
    for axis in range(extent.shape[1] - 1, -1, -1):
        rest, coords[:, axis] = np.divmod(rest, np.maximum(extent[:, axis], 1))
    return coords


# -- assembling -----------------------------------------------------------------------------
def to_csr(pairs: Pairs, weights: np.ndarray, shape: tuple[int, int]) -> sp.csr_array:
    """A CSR matrix from pairs in CSR order; entries keep their order, so per-synapse arrays
    built alongside (delays) stay aligned with ``data``."""
    indptr = np.concatenate([[0], np.cumsum(np.bincount(pairs.post, minlength=shape[0]))])
    return sp.csr_array((np.asarray(weights, np.float64), pairs.pre, indptr), shape=shape)


def draw_magnitudes(rng: np.random.Generator, kind: str, mean: np.ndarray | float, cv: float,
                    size: int) -> np.ndarray:
    """``size`` positive values with the given mean (one, or one per value) and coefficient
    of variation cv = standard deviation / mean: ``constant``, ``gamma`` or ``lognormal``."""
    mean = np.broadcast_to(np.asarray(mean, np.float64), (size,))
    if kind == "constant" or cv == 0:
        return mean.copy()
    if kind == "gamma":  # shape k = 1/cv^2, scale = mean * cv^2: mean k*scale, sd sqrt(k)*scale
        return rng.gamma(1.0 / cv**2, mean * cv**2)
    if kind == "lognormal":  # sigma^2 = ln(1 + cv^2), mu = ln(mean) - sigma^2/2
        sigma = math.sqrt(math.log1p(cv**2))
        return rng.lognormal(np.log(mean) - sigma**2 / 2, sigma)
    raise ValueError(f"unknown distribution {kind!r}; known: {MAGNITUDE_DISTRIBUTIONS}")

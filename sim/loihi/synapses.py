"""Synaptic accumulation of one projection, exact and event-driven.

A projection becomes one weight block per distinct synaptic delay. Each block
holds Lava's effective weights (clipped and truncated) as floats: every
partial sum of binary spikes times integer weights is an integer below
:data:`FLOAT32_EXACT` (or below 2**53 in float64, chosen when the bound is
larger), so BLAS and scipy products are exact and the int64 result equals
Lava's integer sum bit for bit.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import cast

import numpy as np
import scipy.sparse as sp

from neurocc.backends.loihi.section import CSR_PROCESSES, ProjectionSpec
from neurocc.compiler.graph import Weight
from neurocc.sim.loihi import fixed_point as fx

FLOAT32_EXACT = 1 << 24  # float32 represents every integer of magnitude <= 2**24
# Below this fraction of active inputs a sparse (events x weights) product beats a
# dense matmul (measured on 1k-4k neurons, batch 64: 1 % -> 5 ms vs 17-33 ms, 10 % -> 45 vs 17)
EVENT_DRIVEN_MAX_DENSITY = 0.03
# Weight blocks sparser than this are stored as CSR (delay groups, Sparse projections)
SPARSE_BLOCK_MAX_DENSITY = 0.1


@dataclass(frozen=True, eq=False)
class WeightBlock:
    """The synapses of one delay: ``dense_t`` (pre, post) or ``csr_t`` (pre, post) CSR."""

    delay: int
    dense_t: np.ndarray | None
    csr_t: sp.csr_array | None

    def accumulate(self, events: np.ndarray) -> np.ndarray:
        """Exact int64 sums (rows, post) of the weights of the active inputs of each row.

        ``events``: (rows, pre) 0/1. One row gathers the active weight rows;
        few active inputs use a sparse product; many a dense matmul. A CSR block is
        stored pre-major, so the sparse (events x weights) product reads only the
        synapses of active inputs: its cost grows with the events, not the synapses.
        """
        if self.csr_t is not None:
            return _gather_rows(self.csr_t, events)
        weights = cast(np.ndarray, self.dense_t)  # one of csr, dense_t is set
        if events.shape[0] == 1:
            active = np.flatnonzero(events[0])
            return weights[active].sum(axis=0, keepdims=True).astype(np.int64)
        if np.count_nonzero(events) < EVENT_DRIVEN_MAX_DENSITY * events.size:
            return (sp.csr_array(events.astype(weights.dtype)) @ weights).astype(np.int64)
        return (events.astype(weights.dtype) @ weights).astype(np.int64)


def _gather_rows(csr_t: sp.csr_array, events: np.ndarray) -> np.ndarray:
    """Exact int64 sums (rows, post): for each row of ``events``, the weights of the synapses
    of its active inputs (rows of the pre-major ``csr_t``), gathered and added by ``bincount``
    in float64, exact for integer sums below 2**53. Cost: a few passes over the events."""
    rows, pre = np.nonzero(events)
    n_post = csr_t.shape[1]
    starts, stops = csr_t.indptr[pre], csr_t.indptr[pre + 1]
    lengths = stops - starts
    total = int(lengths.sum())
    # position of every gathered synapse: each active input's range of csr_t entries
    offsets = np.cumsum(lengths) - lengths
    where = np.arange(total, dtype=np.int64) + np.repeat(starts - offsets, lengths)
    bins = np.repeat(rows.astype(np.int64) * n_post, lengths) + csr_t.indices[where]
    sums = np.bincount(bins, weights=csr_t.data[where], minlength=events.shape[0] * n_post)
    return sums.astype(np.int64).reshape(events.shape[0], n_post)


@dataclass(frozen=True, eq=False)
class CompiledProjection:
    """A projection ready to run: weight blocks per delay and event-count data."""

    spec: ProjectionSpec
    blocks: tuple[WeightBlock, ...]
    synapses_per_pre: np.ndarray  # nonzero effective weights per source neuron

    def contributions(self, events: np.ndarray) -> list[tuple[int, np.ndarray]]:
        """(delay, int32 input) pairs that ``events`` (rows, pre) produce, per delay block.

        Each block's sum is shifted by ``weight_exp`` on its own and wrapped to
        int32, as Lava's Dense/DelayDense do per step and per delay slot.
        """
        return [(block.delay, fx.wrap_int32(fx.apply_weight_exp(block.accumulate(events),
                                                                 self.spec.weight_exp)))
                for block in self.blocks]


def effective_matrix(spec: ProjectionSpec, arith: fx.Arithmetic) -> Weight:
    """Lava's effective int32 weights of ``spec`` (post, pre): dense, or CSR for Sparse and
    DelaySparse."""
    n_entries = spec.shape[0] * spec.shape[1]
    if spec.process in CSR_PROCESSES:
        matrix = sp.csr_array(spec.weight, copy=True)
        matrix.data = fx.effective_weights(matrix.data, n_entries, spec.num_weight_bits, arith)
        matrix.eliminate_zeros()
        return matrix
    return fx.effective_weights(spec.weight, n_entries, spec.num_weight_bits, arith)


def _float_dtype(matrix: Weight, n_pre: int) -> type:
    values = matrix.data if sp.issparse(matrix) else matrix
    largest = int(np.abs(values).max()) if values.size else 0
    return np.float32 if largest * n_pre <= FLOAT32_EXACT else np.float64


def _block(delay: int, matrix: Weight, dtype: type) -> WeightBlock:
    size = max(matrix.shape[0] * matrix.shape[1], 1)
    nnz = matrix.nnz if sp.issparse(matrix) else np.count_nonzero(matrix)
    if nnz / size < SPARSE_BLOCK_MAX_DENSITY:
        return WeightBlock(delay, None, sp.csr_array(sp.csr_array(matrix, dtype=dtype).T))
    dense = matrix.toarray() if sp.issparse(matrix) else matrix
    return WeightBlock(delay, np.ascontiguousarray(dense.T, dtype=dtype), None)


def _synapses_per_pre(matrix: Weight) -> np.ndarray:
    if sp.issparse(matrix):  # zeros already eliminated
        return np.bincount(matrix.indices, minlength=matrix.shape[1]).astype(np.int64)
    return np.count_nonzero(matrix, axis=0).astype(np.int64)


def _csr_delay_blocks(spec: ProjectionSpec, arith: fx.Arithmetic) -> CompiledProjection:
    """A DelaySparse with one delay per stored synapse (``spec.delay`` aligned with the CSR
    data): one CSR block per distinct delay, each cut from the CSR directly.

    The synapses of delay ``k`` keep their CSR order, so block ``k``'s row pointer is the
    running count of its synapses per row; no (post, pre) array is formed.
    """
    weight = sp.csr_array(spec.weight)
    n_post, n_pre = spec.shape
    data = fx.effective_weights(weight.data, n_post * n_pre, spec.num_weight_bits, arith)
    keep = data != 0  # Lava's truncation can zero a weight: no synapse, no event
    data, pre, delay = data[keep], weight.indices[keep], spec.delay[keep]
    rows = np.repeat(np.arange(n_post), np.diff(weight.indptr))[keep]
    dtype = _float_dtype(data, n_pre)
    per_pre = np.bincount(pre, minlength=n_pre).astype(np.int64)
    blocks = []
    for k in (np.unique(delay) if delay.size else np.zeros(1, np.int64)):
        pick = delay == k
        indptr = np.concatenate(([0], np.cumsum(np.bincount(rows[pick], minlength=n_post))))
        block = sp.csr_array((data[pick], pre[pick], indptr), shape=spec.shape)
        blocks.append(_block(int(k), block, dtype))
    return CompiledProjection(spec, tuple(blocks), per_pre)


def compile_projection(spec: ProjectionSpec, arith: fx.Arithmetic) -> CompiledProjection:
    """Effective weights split by delay into blocks, plus synapses per source neuron."""
    if spec.delay.ndim == 1:
        return _csr_delay_blocks(spec, arith)
    matrix = effective_matrix(spec, arith)
    dtype = _float_dtype(matrix, spec.shape[1])
    per_pre = _synapses_per_pre(matrix)
    if spec.delay.ndim == 0:
        return CompiledProjection(spec, (_block(int(spec.delay), matrix, dtype),), per_pre)
    dense = matrix.toarray() if sp.issparse(matrix) else matrix
    delays = np.unique(spec.delay[dense != 0]) if np.any(dense) else np.zeros(1, np.int64)
    blocks = tuple(_block(int(k), np.where(spec.delay == k, dense, 0), dtype) for k in delays)
    return CompiledProjection(spec, blocks, per_pre)

"""Synapse blocks stored pre-major, and the per-tick delivery of the neurons that fired.

A projection's synapses (the artifact's COO arrays ``proj/J/{post,pre,weight,type,delay,
stage}``) fall into blocks, one per (delay-extension stage, on-core delay, type), in sorted
order. Each block is a CSR over the presynaptic neurons: the synapses of neuron ``i`` are
``post[indptr[i]:indptr[i + 1]]`` with their words ``word[...]``. A tick touches only the
synapses of the neurons that fired, so time and memory follow the synapses (``nnz``), never
``pre x post``.

Spiking targets: each synapse of a fired neuron adds its unsigned word to the ring-buffer
slot, saturating at ``slot_max`` (sPyNNaker's ``synapses.h`` saturates at each add). With
non-negative words, saturating each add gives the same slot as adding the whole tick's sum
and clipping once: ``min(min(a + b, M) + c, M) = min(a + b + c, M)`` for ``a, b, c >= 0``.

Graded targets (egru, integrator): a payload times each word is rounded on its own, so a
block holds one word per (pre, post): duplicate synapses are merged (their words summed)
before any product, as one dense ``(pre, post)`` matrix would hold them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
from numba import njit

from neurocc.compiler.errors import SimulationError


@dataclass(frozen=True)
class Block:
    """One (stage, on-core delay, type) block of a projection, pre-major (CSR)."""

    stage: int
    delay: int
    kind: int
    indptr: np.ndarray  # (n_pre + 1,) int64 positions into post and word
    post: np.ndarray  # int32 target neuron per synapse
    word: np.ndarray  # word per synapse (int64, duplicates merged, for graded targets)
    count: np.ndarray  # (n_pre,) synapses per presynaptic neuron, duplicates included


@njit(cache=True)
def _code_counts(stage: np.ndarray, delay: np.ndarray, kind: np.ndarray, delays: int,
                 kinds: int, codes: int) -> np.ndarray:
    """Synapses per block code ``(stage * delays + delay) * kinds + kind``."""
    counts = np.zeros(codes, np.int64)
    for s in range(stage.size):
        counts[(stage[s] * delays + delay[s]) * kinds + kind[s]] += 1
    return counts


@njit(cache=True)
def _fill(pre: np.ndarray, post: np.ndarray, weight: np.ndarray, stage: np.ndarray,
          delay: np.ndarray, kind: np.ndarray, block_of_code: np.ndarray, delays: int,
          kinds: int, n_pre: int, indptr: np.ndarray, count: np.ndarray, head: np.ndarray,
          out_post: np.ndarray, out_word: np.ndarray) -> None:
    """Counting sort of the synapses by row ``block * n_pre + pre`` (stable) into ``indptr``
    (rows + 1, zeros), ``count`` (synapses per row), ``out_post`` and ``out_word``; ``head``
    (rows) is scratch. The caller allocates every array: numpy's allocations are traced."""
    for s in range(pre.size):
        row = block_of_code[(stage[s] * delays + delay[s]) * kinds + kind[s]] * n_pre + pre[s]
        indptr[row + 1] += 1
    count[:] = indptr[1:]
    for r in range(count.size):
        indptr[r + 1] += indptr[r]
    head[:] = indptr[:-1]
    for s in range(pre.size):
        row = block_of_code[(stage[s] * delays + delay[s]) * kinds + kind[s]] * n_pre + pre[s]
        out_post[head[row]] = post[s]
        out_word[head[row]] = weight[s]
        head[row] += 1


@njit(cache=True)
def _merge_duplicates(indptr: np.ndarray, post: np.ndarray, word: np.ndarray) -> int:
    """Sort each row by post and sum the words of equal posts, in place (indptr updated);
    returns the synapses kept."""
    write = 0
    for r in range(indptr.size - 1):
        lo, hi = indptr[r], indptr[r + 1]
        order = np.argsort(post[lo:hi], kind="mergesort")
        row_post, row_word = post[lo:hi][order], word[lo:hi][order]
        start = write
        for k in range(hi - lo):
            if write > start and post[write - 1] == row_post[k]:
                word[write - 1] += row_word[k]
            else:
                post[write] = row_post[k]
                word[write] = row_word[k]
                write += 1
        indptr[r] = start
    indptr[indptr.size - 1] = write
    return write


def blocks_of(arrays: Mapping[str, np.ndarray], n_pre: int, *, merge: bool,
              where: str) -> list[Block]:
    """The blocks of one projection from its COO arrays (keys post, pre, weight, type,
    delay, stage), sorted by (stage, delay, type); ``merge`` sums duplicate (pre, post)
    words within a block (graded targets)."""
    post, pre, weight, kind, delay, stage = (np.ascontiguousarray(arrays[k]) for k in
                                             ("post", "pre", "weight", "type", "delay",
                                              "stage"))
    for key, values in (("pre", pre), ("stage", stage), ("delay", delay), ("type", kind)):
        if values.size and int(values.min()) < 0:
            raise SimulationError(f"{where} array '{key}'", f"holds {int(values.min())}, "
                                  "expected indices and ticks >= 0.",
                                  "Compile the model again; the compiler writes them.")
    if not pre.size:
        return []
    if not merge and int(weight.min()) < 0:
        raise SimulationError(f"{where} array 'weight'", f"holds {int(weight.min())}; the "
                              "words of a spiking core's ring buffer are unsigned.",
                              "Compile the model again; the compiler writes |w| and the type.")
    delays, kinds = int(delay.max()) + 1, int(kind.max()) + 1
    counts = _code_counts(stage, delay, kind, delays, kinds, (int(stage.max()) + 1) * delays
                          * kinds)
    codes = np.flatnonzero(counts)  # sorted codes: sorted (stage, delay, type)
    block_of_code = np.full(counts.size, -1, dtype=np.int64)
    block_of_code[codes] = np.arange(codes.size)
    int32 = np.iinfo(np.int32).max
    out_post = np.empty(pre.size, np.int32 if int(post.max()) <= int32 else np.int64)
    narrow = not merge and int(weight.max()) <= int32  # merged words may grow
    out_word = np.empty(pre.size, np.int32 if narrow else np.int64)
    rows = codes.size * n_pre
    indptr, count = np.zeros(rows + 1, dtype=np.int64), np.empty(rows, dtype=np.int64)
    _fill(pre, post, weight, stage, delay, kind, block_of_code, delays, kinds, n_pre, indptr,
          count, np.empty(rows, dtype=np.int64), out_post, out_word)
    if merge:
        kept = _merge_duplicates(indptr, out_post, out_word)
        out_post, out_word = out_post[:kept], out_word[:kept]
    blocks = []
    for b, code in enumerate(codes.tolist()):
        s, rest = divmod(code, delays * kinds)
        d, k = divmod(rest, kinds)
        rows_b = slice(b * n_pre, (b + 1) * n_pre)
        blocks.append(Block(s, d, k, indptr[b * n_pre:(b + 1) * n_pre + 1], out_post,
                            out_word, count[rows_b]))
    return blocks


@njit(cache=True)
def deliver_spikes(batch: np.ndarray, pre: np.ndarray, indptr: np.ndarray, post: np.ndarray,
                   word: np.ndarray, count: np.ndarray, slot: np.ndarray, kind: int,
                   slot_max: int, counted: bool) -> int:
    """Add the words of the fired neurons ``(batch[e], pre[e])`` to ``slot`` (batch, types,
    size) at ``kind``, each add saturating at ``slot_max``; returns their synaptic events
    (``count`` per neuron) when ``counted``, else 0."""
    events = 0
    for e in range(pre.size):
        b, i = batch[e], pre[e]
        if counted:
            events += count[i]
        for j in range(indptr[i], indptr[i + 1]):
            total = np.int64(slot[b, kind, post[j]]) + word[j]
            slot[b, kind, post[j]] = total if total < slot_max else slot_max
    return events


FLOOR, NEAREST, STOCHASTIC = 0, 1, 2  # rounding modes, as the kernels take them
ROUNDING_MODES = {"floor": FLOOR, "nearest": NEAREST, "stochastic": STOCHASTIC}


def no_draws(ndim: int) -> np.ndarray:
    """An empty array of random words: what the kernels take when rounding draws none."""
    return np.zeros((0,) * ndim, dtype=np.int64)


@njit(cache=True, inline="always")
def rounded(product: int, bits: int, mode: int, draw: int) -> int:
    """``product >> bits`` rounded by ``mode``; ``draw`` is the stochastic mode's random word
    shifted to ``bits`` bits (rounds up when below the dropped bits)."""
    if mode == NEAREST:
        return (product + (1 << (bits - 1))) >> bits
    if mode == STOCHASTIC:
        return (product >> bits) + (1 if draw < (product & ((1 << bits) - 1)) else 0)
    return product >> bits


@njit(cache=True, inline="always")
def wrap(x: int, state_bits: int) -> int:
    """Two's-complement wrap-around of a ``state_bits`` word."""
    half = 1 << (state_bits - 1)
    return ((x + half) & ((half << 1) - 1)) - half


@njit(cache=True)
def deliver_products(payload: np.ndarray, active: np.ndarray, indptr: np.ndarray,
                     post: np.ndarray, word: np.ndarray, target: np.ndarray, kind: int,
                     bits: int, mode: int, state_bits: int, draws: np.ndarray,
                     first_row: int, rows: int) -> None:
    """Rows ``first_row ..`` of the (batch, active) grid: add ``mul(payload, w) >> bits``
    (rounded by ``mode``) of each synapse to ``target`` (batch, receptors, size), wrapping
    at ``state_bits``. Stochastic rounding reads ``draws[row - first_row, post]``: one word
    per (batch, active, post) as the dense product drew them."""
    n_active = active.size
    for r in range(rows):
        b = (first_row + r) // n_active
        i = active[(first_row + r) % n_active]
        p = payload[b, i]
        if p == 0:  # a zero product rounds to zero in every mode
            continue
        for j in range(indptr[i], indptr[i + 1]):
            draw = draws[r, post[j]] if mode == STOCHASTIC else 0
            value = rounded(p * word[j], bits, mode, draw)
            target[b, kind, post[j]] = wrap(target[b, kind, post[j]] + value, state_bits)

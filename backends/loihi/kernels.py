"""Compiled kernels of the Loihi compiler: one pass over the synapses, no full-size temporary.

**Partition** (``mapping``): a target population's incoming synapses are given as
``bounds`` (K, n + 1): row ``i`` of its ``k``-th incoming projection holds the entries
``bounds[k, i]:bounds[k, i + 1]`` of ``indices`` (source neuron indices, local to the
projection's source), and ``offsets[k]`` turns them into global neuron ids (populations
side by side in placement order).

Distinct sources and destinations are counted with a *stamp* per global neuron: the id of
the last run (core) that saw it. Rows of a core are contiguous, so a neuron seen again with
the same stamp is not new, and nothing is sorted or merged (two projections from one source
population share their axons without a union of their masks).

**Zeros** (``quantize``): :func:`drop_zeros` compacts a CSR matrix in place.

numba, one core (``nopython``, cached on disk); imported only when a Loihi compile runs.
"""

from __future__ import annotations

import numpy as np
from numba import njit

# columns of the usage rows ``pack_runs`` returns (the mapping names them by limit)
USAGE_COLUMNS = 5
NEURONS, SYNAPSES, MEMORY_BITS, FAN_IN, FAN_OUT = range(USAGE_COLUMNS)


@njit(cache=True)
def _mark(bounds: np.ndarray, indices: np.ndarray, offsets: np.ndarray, row: int,
          stamp: np.ndarray, mark: int, seen: np.ndarray) -> int:
    """Stamp row ``row``'s sources with ``mark``; those that did not have it yet go to
    ``seen`` (the first entries); returns their count."""
    new = 0
    for k in range(bounds.shape[0]):
        base = offsets[k]
        for j in range(bounds[k, row], bounds[k, row + 1]):
            g = indices[j] + base
            if stamp[g] != mark:
                stamp[g] = mark
                seen[new] = g
                new += 1
    return new


@njit(cache=True)
def _scratch(bounds: np.ndarray) -> np.ndarray:
    """Room for the sources of the longest row."""
    longest = 0
    for i in range(bounds.shape[1] - 1):
        length = 0
        for k in range(bounds.shape[0]):
            length += bounds[k, i + 1] - bounds[k, i]
        longest = max(longest, length)
    return np.empty(longest, np.int64)


@njit(cache=True)
def distinct_sources(bounds: np.ndarray, indices: np.ndarray, offsets: np.ndarray,
                     total: int) -> np.ndarray:
    """Per row: its distinct global sources (over all K projections)."""
    n = bounds.shape[1] - 1
    stamp = np.full(total, -1, np.int64)
    seen = _scratch(bounds)
    found = np.zeros(n, np.int64)
    for i in range(n):
        found[i] = _mark(bounds, indices, offsets, i, stamp, i, seen)
    return found


@njit(cache=True)
def pack_runs(bounds: np.ndarray, indices: np.ndarray, offsets: np.ndarray, bits: np.ndarray,
              fan_out: np.ndarray, limits: np.ndarray, total: int
              ) -> tuple[np.ndarray, np.ndarray]:
    """Greedy contiguous runs: each neuron joins the current run while the run stays within
    every limit (``limits``: neurons, synapses, memory bits, fan-in, fan-out, as the usage
    columns), else it starts the next run. Every neuron must fit alone (checked before).

    Returns the run of every row and the usage rows (one per run)."""
    n = bounds.shape[1] - 1
    run_of = np.empty(n, np.int64)
    usage = np.zeros((max(n, 1), USAGE_COLUMNS), np.int64)
    stamp = np.full(total, -1, np.int64)
    seen = _scratch(bounds)
    run = 0
    for i in range(n):
        synapses, memory = 0, 0
        for k in range(bounds.shape[0]):
            count = bounds[k, i + 1] - bounds[k, i]
            synapses += count
            memory += count * bits[k]
        used = usage[run]
        if used[NEURONS] > 0 and (used[NEURONS] + 1 > limits[NEURONS]
                                  or used[SYNAPSES] + synapses > limits[SYNAPSES]
                                  or used[MEMORY_BITS] + memory > limits[MEMORY_BITS]
                                  or used[FAN_OUT] + fan_out[i] > limits[FAN_OUT]):
            run += 1
            used = usage[run]
        new = _mark(bounds, indices, offsets, i, stamp, run, seen)
        if used[NEURONS] > 0 and used[FAN_IN] + new > limits[FAN_IN]:
            run += 1  # the sources counted above belong to the closed run: count them again
            used = usage[run]
            new = _mark(bounds, indices, offsets, i, stamp, run, seen)
        used[NEURONS] += 1
        used[SYNAPSES] += synapses
        used[MEMORY_BITS] += memory
        used[FAN_IN] += new
        used[FAN_OUT] += fan_out[i]
        run_of[i] = run
    return run_of, usage[:run + 1 if n else 0]


@njit(cache=True)
def count_destinations(bounds: np.ndarray, indices: np.ndarray, offsets: np.ndarray,
                       core_of_row: np.ndarray, stamp: np.ndarray, msg: np.ndarray,
                       with_hops: bool, core_of: np.ndarray, position: np.ndarray,
                       hops_ew: np.ndarray, hops_ns: np.ndarray) -> None:
    """Add, per global source neuron, the distinct cores of this population it reaches
    (``msg``) and, ``with_hops``, the tile distances from its core (``core_of``, global) to
    each (``position``: (core, 2) of x, y). ``stamp`` (per global neuron) carries over
    between populations: core ids are unique."""
    seen = _scratch(bounds)
    for i in range(bounds.shape[1] - 1):
        core = core_of_row[i]
        for t in range(_mark(bounds, indices, offsets, i, stamp, core, seen)):
            g = seen[t]
            msg[g] += 1
            if with_hops:
                source = core_of[g]
                hops_ew[g] += abs(position[source, 0] - position[core, 0])
                hops_ns[g] += abs(position[source, 1] - position[core, 1])


@njit(cache=True)
def drop_zeros(data: np.ndarray, indices: np.ndarray, indptr: np.ndarray,
               new_indices: np.ndarray, new_indptr: np.ndarray) -> int:
    """Move the nonzero entries of the CSR (data, indices, indptr) to the front of ``data``
    (in place) and their columns into ``new_indices``; ``new_indptr`` gets the rows' new
    bounds. Returns the entries kept."""
    kept = 0
    for row in range(indptr.size - 1):
        new_indptr[row] = kept
        for j in range(indptr[row], indptr[row + 1]):
            if data[j] != 0:
                data[kept] = data[j]
                new_indices[kept] = indices[j]
                kept += 1
    new_indptr[indptr.size - 1] = kept
    return kept

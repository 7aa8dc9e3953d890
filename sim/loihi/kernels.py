"""Compiled (numba) kernels of the exact Loihi engine's two hot loops, one core each.

Both compute exactly what the numpy reference computes (``fixed_point.lif_step``;
``synapses.WeightBlock.accumulate`` followed by ``fixed_point.apply_weight_exp`` and
``wrap_int32``): the tests run both on random states, overflow and negative rounding
included. Why kernels: at 1 % activity and 100 synapses per neuron every step delivers
about one event per neuron, so a step is one pass over the population and one over the
events; numpy needs ~15 full-size temporaries for the first and repeat/index/bincount
for the second, a kernel one pass each, with the state in registers.

int32 arithmetic. Lava's u, v and ports are int32 and wrap modulo 2**32. numba computes
integer expressions in int64, so each chain of wrapping operations (additions, left
shifts) is computed in int64 and cast once with ``np.int32(x)`` (a truncation: the same
residue modulo 2**32) before a non-modular operation (a comparison, a right shift, the
clip). Storing an int64 into an int32 array element truncates the same way.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from neurocc.sim.loihi.fixed_point import INT64_SIGN_SHIFT

# Gather: read the synapse rows of the source this many active sources ahead, one int32
# per 64-byte cache line (measured on 10 k-100 k neurons: 4-8 ahead cut the time ~30 %)
TOUCH_AHEAD = 4
TOUCH_STRIDE = 16


@njit(cache=True)
def _decay(state: int, keep: int, shift: int, round_: int) -> np.int32:
    """``fixed_point.decay_toward_zero`` of one value: int64 product, truncation toward 0."""
    product = np.int64(state) * keep
    product += (product >> INT64_SIGN_SHIFT) & round_
    return np.int32(product >> shift)


@njit(cache=True)
def lif_steps(u: np.ndarray, v: np.ndarray, window: np.ndarray, first: int,
              params: tuple[int, ...],
              bias: np.ndarray, spikes: np.ndarray, t0: int, n_steps: int, u_trace: np.ndarray,
              v_trace: np.ndarray, record_u: bool, record_v: bool) -> int:
    """``n_steps`` LIF steps of a (batch, n) population, in place; the active updates.

    Step s reads its input from ``window[:, first + s]`` and writes its spikes to
    ``spikes[:, t0 + s]`` (and u, v after the step to ``u_trace``, ``v_trace`` at the same
    index when ``record_u``, ``record_v``): whole C-ordered arrays and offsets, so every
    row the loop touches is contiguous and the loop vectorizes. ``params`` (ints): u_keep, v_keep,
    vth_scaled, decay_shift_bits, decay_round, act_shift_bits, u_max, u_wrap, v_min, v_max
    (``engine._Lif``). Per neuron, as ``fixed_point.lif_step``::

        u = wrap_u(int32(trunc(u * u_keep / 2**D) + (a_in << act_shift)))
        v = clip(int32(trunc(v * v_keep / 2**D) + u + bias), v_min, v_max)
        spike = v > vth_scaled;  v = 0 where spike

    with ``wrap_u`` one subtraction of u_wrap above u_max or addition at or below
    -u_max. Returns how many updates had a nonzero input, u or v before the step.
    """
    u_keep, v_keep, vth, shift, round_, act, u_max, u_wrap, v_min, v_max = params
    batch, n = u.shape
    active = 0
    for b in range(batch):
        u_row, v_row = u[b], v[b]
        for s in range(n_steps):
            a_row, out = window[b, first + s], spikes[b, t0 + s]
            for i in range(n):
                a_in, ui, vi = a_row[i], u_row[i], v_row[i]
                active += (a_in | ui | vi) != 0
                x = np.int32(np.int64(_decay(ui, u_keep, shift, round_))
                             + (np.int64(a_in) << act))
                x = np.int32(x - u_wrap) if x > u_max else x
                x = np.int32(x + u_wrap) if x <= -u_max else x
                y = int(np.int32(np.int64(_decay(vi, v_keep, shift, round_))
                                 + np.int64(x) + np.int64(bias[i])))
                y = min(max(y, v_min), v_max)
                fired = y > vth
                u_row[i] = x
                v_row[i] = 0 if fired else y
                out[i] = fired
            if record_u:
                u_trace[b, t0 + s] = u_row
            if record_v:
                v_trace[b, t0 + s] = v_row
    return active


@njit(cache=True)
def _touch(indptr: np.ndarray, indices: np.ndarray, data: np.ndarray, p: int) -> int:
    """Read one value per cache line of source ``p``'s synapses: loads issued ahead of use, so
    the misses of the next rows overlap the work on this one (numba has no prefetch)."""
    seen = 0
    for k in range(indptr[p], indptr[p + 1], TOUCH_STRIDE):
        seen += indices[k] + data[k]
    return seen


@njit(cache=True)
def scatter_events(indptr: np.ndarray, indices: np.ndarray, data: np.ndarray, weight_exp: int,
                   events: np.ndarray, t0: int, n_steps: int, window: np.ndarray, first: int,
                   acc: np.ndarray) -> int:
    """Add the contributions of ``events[:, t0 + s]`` (s < n_steps; events (batch, T, pre))
    to ``window[:, first + s]``.

    ``indptr``, ``indices``, ``data``: the block's pre-major CSR (int32 effective weights).
    Per (batch, step) row, Lava's Dense computes ``int32(sum << weight_exp)`` of the
    weights of the active inputs (``>>`` when negative). With ``weight_exp >= 0`` that is
    linear modulo 2**32, so each weight, shifted, is added into the int32 window directly
    (one random read-modify-write per event). With ``weight_exp < 0`` the floor shift is
    not: the row's sums are gathered in ``acc`` (int64, zero, one entry per target) and
    each touched entry is shifted, added and cleared on a second walk over the same
    synapses (an entry already cleared adds 0), so the cost follows the events.

    Speed: the active sources' synapse rows lie at random places of the CSR arrays, one
    memory latency each; reading the rows ``TOUCH_AHEAD`` sources ahead (:func:`_touch`)
    lets those latencies overlap. Returns a value of the touched loads (nothing to use).
    """
    batch, _, pre = events.shape
    active = np.empty(pre, dtype=np.int64)
    seen = 0
    for b in range(batch):
        for s in range(n_steps):
            row = window[b, first + s]
            spikes = events[b, t0 + s]
            m = 0
            for p in range(pre):
                if spikes[p] != 0:
                    active[m] = p
                    m += 1
            for j in range(min(TOUCH_AHEAD, m)):
                seen += _touch(indptr, indices, data, active[j])
            if weight_exp >= 0:
                for j in range(m):
                    if j + TOUCH_AHEAD < m:
                        seen += _touch(indptr, indices, data, active[j + TOUCH_AHEAD])
                    p = active[j]
                    for k in range(indptr[p], indptr[p + 1]):
                        row[indices[k]] += np.int32(np.int64(data[k]) << weight_exp)
                continue
            for j in range(m):
                if j + TOUCH_AHEAD < m:
                    seen += _touch(indptr, indices, data, active[j + TOUCH_AHEAD])
                p = active[j]
                for k in range(indptr[p], indptr[p + 1]):
                    acc[indices[k]] += data[k]
            for j in range(m):
                p = active[j]
                for k in range(indptr[p], indptr[p + 1]):
                    total = acc[indices[k]]
                    if total != 0:
                        row[indices[k]] += np.int32(total >> -weight_exp)
                        acc[indices[k]] = 0
    return seen


@njit(cache=True)
def add_dense_rows(weights: np.ndarray, weight_exp: int, events: np.ndarray, t0: int,
                   n_steps: int, window: np.ndarray, first: int, acc: np.ndarray) -> None:
    """``scatter_events`` for a dense block: ``weights`` (pre, post), C order, integers held
    in float32 or float64 (exact: they are at most ``weight_clip_bits`` wide); per active
    input its whole weight row is added (contiguous, vectorized). With a negative
    ``weight_exp`` the row's sums go through ``acc`` (int64, zero, one per target) first."""
    batch, _, pre = events.shape
    post = weights.shape[1]
    for b in range(batch):
        for s in range(n_steps):
            row = window[b, first + s]
            spikes = events[b, t0 + s]
            if weight_exp >= 0:
                for p in range(pre):
                    if spikes[p] != 0:
                        w = weights[p]
                        for j in range(post):
                            row[j] += np.int32(np.int64(w[j]) << weight_exp)  # exact int
                continue
            any_active = False
            for p in range(pre):
                if spikes[p] != 0:
                    any_active = True
                    w = weights[p]
                    for j in range(post):
                        acc[j] += np.int64(w[j])
            if any_active:
                for j in range(post):
                    row[j] += np.int32(acc[j] >> -weight_exp)
                    acc[j] = 0

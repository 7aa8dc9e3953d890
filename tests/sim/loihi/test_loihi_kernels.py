"""The compiled kernels equal the numpy reference rules on random states.

``kernels.lif_steps`` against ``fixed_point.lif_step`` (u wrap-around both ways, v
saturation both ways, negative decays that truncate toward zero, int32 overflow of the
input shift and of ``v + u + bias``); ``kernels.scatter_events`` against the numpy gather
(``WeightBlock.accumulate``, ``apply_weight_exp``, ``wrap_int32``) and
``kernels.add_dense_rows`` likewise, for positive, zero and negative weight exponents,
with int32 wrap-around of the window.
"""

import numpy as np
import pytest
import scipy.sparse as sp

from neurocc.backends.loihi.spec import load_loihi_target
from neurocc.sim.loihi import fixed_point as fx
from neurocc.sim.loihi import kernels, synapses
from neurocc.sim.loihi.synapses import _pre_major

LAVA = fx.arithmetic_of(load_loihi_target("loihi2"))
INT32 = np.iinfo(np.int32)


def kernel_params(u_keep: int, v_keep: int, vth_scaled: int, a: fx.Arithmetic) -> tuple:
    return (u_keep, v_keep, vth_scaled, a.decay_shift_bits, a.decay_round, a.act_shift_bits,
            a.u_max, a.u_wrap, a.v_min, a.v_max)


def random_state(rng, shape, scale):
    """int32 values spread over +-scale, with exact zeros and the int32 extremes mixed in."""
    values = rng.integers(-scale, scale, size=shape, dtype=np.int64)
    values[rng.random(shape) < 0.2] = 0
    return values.astype(np.int32)


@pytest.mark.parametrize("seed", range(6))
def test_lif_kernel_equals_the_numpy_rule(seed):
    rng = np.random.default_rng(seed)
    batch, steps, n = 3, 5, 400
    # u and v near and beyond the 24-bit bounds; inputs whose << 6 overflows int32
    u = random_state(rng, (batch, n), 1 << 25)
    v = random_state(rng, (batch, n), 1 << 24)
    window = random_state(rng, (batch, steps + 2, n), [1 << 10, 1 << 18, 1 << 30][seed % 3])
    window[0, 0, :4] = [INT32.max, INT32.min, (1 << 25) + 3, -(1 << 25) - 3]
    bias = random_state(rng, (n,), [1 << 8, 1 << 23, 1 << 30][seed % 3])
    u_keep, v_keep = int(rng.integers(0, 4097)), int(rng.integers(0, 4097))
    vth_scaled = int(rng.integers(0, 1 << 23))
    ref_u, ref_v = u.copy(), v.copy()
    ref_spikes, ref_u_trace, ref_v_trace, active = [], [], [], 0
    for s in range(steps):
        a_in = window[:, 1 + s]
        active += int(np.count_nonzero((a_in != 0) | (ref_u != 0) | (ref_v != 0)))
        ref_spikes.append(fx.lif_step(ref_u, ref_v, a_in, u_keep=u_keep, v_keep=v_keep,
                                      bias=bias, vth_scaled=vth_scaled, arith=LAVA))
        ref_u_trace.append(ref_u.copy())
        ref_v_trace.append(ref_v.copy())
    spikes = np.zeros((batch, steps, n), np.uint8)
    u_trace, v_trace = np.zeros_like(spikes, np.int32), np.zeros_like(spikes, np.int32)
    got = kernels.lif_steps(u, v, window, 1, kernel_params(u_keep, v_keep, vth_scaled, LAVA),
                            bias, spikes, 0, steps, u_trace, v_trace, True, True)
    assert got == active
    np.testing.assert_array_equal(spikes, np.stack(ref_spikes, axis=1))
    np.testing.assert_array_equal(u_trace, np.stack(ref_u_trace, axis=1))
    np.testing.assert_array_equal(v_trace, np.stack(ref_v_trace, axis=1))
    np.testing.assert_array_equal(u, ref_u)
    np.testing.assert_array_equal(v, ref_v)


def test_lif_kernel_by_hand():
    # u = -5, u_keep 4095: -5 * 4095 / 4096 = -4.998... truncates toward zero to -4, then
    # + 2 << 6 = 124; v = 0 + 124 + bias 10 = 134 > vth 100: spike, v reset, u kept.
    # Second neuron: u = 2**23 - 1 decays to 8386559 (8388607 * 4095 / 4096 = 8386559.0002
    # truncates), + 1 << 6 = 8386623: below 2**23, no wrap; v = 8386623 spikes too.
    u = np.array([[-5, (1 << 23) - 1]], np.int32)
    v = np.zeros((1, 2), np.int32)
    window = np.array([[[2, 1]]], np.int32)
    spikes = np.zeros((1, 1, 2), np.uint8)
    empty = np.zeros((1, 0, 0), np.int32)
    active = kernels.lif_steps(u, v, window, 0, kernel_params(4095, 4096, 100, LAVA),
                               np.array([10, 0], np.int32), spikes, 0, 1, empty, empty, False,
                               False)
    assert active == 2
    assert u.tolist() == [[124, 8386623]]
    assert spikes.tolist() == [[[1, 1]]]
    assert v.tolist() == [[0, 0]]
    # with u_keep 4096 (no decay) the second neuron's u = 2**23 + 63 wraps once to
    # 2**23 + 63 - 2**24; v = that, far below the threshold
    u, v = np.array([[0, (1 << 23) - 1]], np.int32), np.zeros((1, 2), np.int32)
    kernels.lif_steps(u, v, window, 0, kernel_params(4096, 4096, 100, LAVA),
                      np.zeros(2, np.int32), spikes, 0, 1, empty, empty, False, False)
    assert u.tolist() == [[128, (1 << 23) + 63 - (1 << 24)]]
    assert v.tolist() == [[0, (1 << 23) + 63 - (1 << 24)]]
    assert spikes.tolist() == [[[1, 0]]]


@pytest.mark.parametrize("kind", ["sparse", "dense"])
@pytest.mark.parametrize("weight_exp", [-7, -1, 0, 3, 20])
def test_scatter_kernels_equal_the_numpy_gather(monkeypatch, weight_exp, kind):
    rng = np.random.default_rng(weight_exp + 50)
    n_post, n_pre, batch, steps = 300, 200, 2, 4
    matrix = sp.random_array((n_post, n_pre), density=0.05 if kind == "sparse" else 0.6,
                             rng=rng, format="csr")
    matrix.data = rng.integers(-256, 256, matrix.nnz).astype(np.float64)
    matrix.data[matrix.data == 0] = 1
    block = synapses._block(0, matrix, np.float64)
    assert (block.kernel_csr is not None) == (kind == "sparse")
    # the dense kernel runs below this fraction of active inputs: on every chunk here
    monkeypatch.setattr(synapses, "EVENT_DRIVEN_MAX_DENSITY", 2.0)
    events = (rng.random((batch, steps, n_pre)) < 0.3).astype(np.uint8)
    # windows near the int32 ends: the additions wrap as Lava's int32 port values do
    window = random_state(rng, (batch, steps + 3, n_post), INT32.max)
    expected = window.copy()
    sums = block.accumulate(events.reshape(batch * steps, -1))
    values = fx.wrap_int32(fx.apply_weight_exp(sums, weight_exp)).reshape(batch, steps, -1)
    expected[:, 2:2 + steps] += values
    scratch = np.zeros(n_post if weight_exp < 0 else 0, np.int64)
    block.add_into(events, 0, steps, window, 2, weight_exp, scratch)
    np.testing.assert_array_equal(window, expected)
    assert not scratch.any()  # left zero for the next call


def test_negative_exponent_floors_each_sum_not_each_weight():
    # two weights -3 and -1 into one target, weight_exp -1: Lava floors the sum, -4 >> 1 = -2;
    # flooring each weight would give -2 + -1 = -3
    matrix = sp.csr_array(np.array([[-3.0, -1.0]]))
    block = _pre_major(0, matrix)
    window = np.zeros((1, 1, 1), np.int32)
    block.add_into(np.ones((1, 1, 2), np.uint8), 0, 1, window, 0, -1, np.zeros(1, np.int64))
    assert window.item() == -2

"""Weight quantization at derived bit widths: half-step error bounds, calibrated scaling."""

from __future__ import annotations

import numpy as np
import pytest

import neurocc
from neurocc.backends import derive_target, load_target
from neurocc.backends.loihi.quantize import (
    calibrated_weight_exp,
    choose_weight_exp,
    quantize_values,
    weight_grid,
)
from neurocc.backends.spinnaker.quantize import (
    ring_shift,
    synapse_table,
    weight_words,
    word_shift,
)
from neurocc.compiler.errors import MappingError, TargetError
from neurocc.compiler.graph import Graph, Population, Projection

BITS = (8, 6, 4, 2)


def graph(weight: np.ndarray) -> Graph:
    n_post, n_pre = weight.shape
    pops = {"in": Population("in", "input", (n_pre,)),
            "h": Population("h", "lif", (n_post,), {"tau_s": 5e-3, "v_threshold": 1.0},
                            "to_value")}
    return Graph(1e-3, pops, {"w": Projection("w", "in", "h", weight)}, ("in",), ("h",))


@pytest.mark.parametrize("bits", BITS)
def test_loihi_max_scaling_errs_at_most_half_a_step_per_weight(bits: int) -> None:
    spec = derive_target("loihi2", weight_bits=bits)
    x = np.random.default_rng(bits).normal(0.0, 300.0, (20, 30))
    stored, exp, stats = quantize_values(x, spec)
    step = weight_grid("mixed", bits, spec)[0] * 2.0 ** exp  # grid step in units of x
    assert stats["weights_saturated"] == 0
    assert np.all(np.abs(stored * 2.0 ** exp - x) <= step / 2)
    assert np.all(stored % weight_grid("mixed", bits, spec)[0] == 0)  # on Lava's grid


def test_loihi_calibrated_scaling_clips_an_outlier_to_keep_the_many_small_weights() -> None:
    """2 bits, mixed signs: mantissas -256, -128, 0, 128 times 2^e. For one 1000 and a
    hundred 100s the max-fit exponent is 3 (1000/8 = 125 <= 128), where every 100 rounds
    to 0 (squared error 100 * 100^2 = 1e6); at e = 0 the 1000 clips to 128 (872^2) and each
    100 becomes 128 (28^2): 760384 + 78400 < 1e6, and e = 1, 2 and -1 do worse."""
    spec = derive_target("loihi2", weight_bits=2)
    x = np.array([1000.0, *[100.0] * 100, -1.0])
    assert choose_weight_exp(x, "mixed", 2, spec) == 3
    assert calibrated_weight_exp(x, np.ones_like(x), "mixed", spec) == 0
    stored, exp, stats = quantize_values(x, spec, np.ones_like(x))
    assert exp == 0 and stats["weight_scaling"] == "calibrated"
    np.testing.assert_array_equal(stored[:3], [128, 128, 128])
    assert stats["weights_saturated"] == 1


def test_loihi_calibrated_weights_need_nothing_but_the_option() -> None:
    weight = np.random.default_rng(0).normal(0.0, 0.3, (8, 12))
    target = derive_target("loihi2", weight_bits=2)
    plain = neurocc.compile(graph(weight), target)
    tuned = neurocc.compile(graph(weight), target, weight_scaling="calibrated")
    exps = [a.graph.history[-3].details["projections"]["w"]["weight_exp"] for a in (plain, tuned)]
    assert exps[1] < exps[0]


@pytest.mark.parametrize("bits", (16, 8, 4))
def test_spinnaker_words_err_at_most_half_a_step(bits: int) -> None:
    spec = derive_target("spinnaker2", weight_bits=bits)
    weight = np.random.default_rng(bits).uniform(0.0, 0.4, (6, 10))
    g = graph(weight)
    table = synapse_table(g, g.projections["w"], spec)
    shift = [ring_shift(float(np.bincount(table.post, table.magnitude).max())), 0]
    words = weight_words(table, shift, spec)
    step = 2.0 ** (shift[0] + word_shift(spec) - spec.fraction_bits)
    assert np.all(np.abs(words * step - table.magnitude) <= step / 2)
    assert words.max() < 2 ** bits
    if bits == 16:  # sPyNNaker's own formula: rint(|w| * 2^(15 - r))
        np.testing.assert_array_equal(words, np.rint(table.magnitude * 2.0 ** (15 - shift[0])))


def test_spinnaker_calibrated_shifts_follow_the_input_seen() -> None:
    """Gain r = 1: the worst case sums 64 * 0.3 = 19.2 (shift ceil(log2 19.2) = 5); the
    sample inputs send 8 spikes at a time, 2.4 (shift 2)."""
    weight = np.full((4, 64), 0.3)
    spikes = np.zeros((2, 8, 64), dtype=np.uint8)
    for t in range(8):
        spikes[:, t, 8 * t:8 * t + 8] = 1
    g = graph(weight)
    plain = neurocc.compile(g, "spinnaker2")
    tuned = neurocc.compile(g, "spinnaker2", weight_scaling="calibrated",
                            calibration_spikes=spikes)
    found = [a.graph.history[-3].details["shifts"]["h"][0] for a in (plain, tuned)]
    assert found == [5, 2]
    with pytest.raises(MappingError, match="no calibration_spikes"):
        neurocc.compile(g, "spinnaker2", weight_scaling="calibrated")


def test_derived_targets_are_checked_copies() -> None:
    spec = derive_target("loihi2", weight_bits=4)
    assert spec.weight_bits == 4 and spec.name == "loihi2+weight_bits=4"
    assert spec.entries["weight_bits"].status == "derived"
    assert load_target("loihi2").weight_bits == 8  # the packaged file is untouched
    with pytest.raises(TargetError, match=r"weight_bits.*at most weight_clip_bits"):
        derive_target("loihi2", weight_bits=9)
    with pytest.raises(TargetError, match=r"weight_bits.*at most fraction_bits"):
        derive_target("spinnaker2", weight_bits=17)
    with pytest.raises(TargetError, match="key 'bogus_bits': is not an entry"):
        derive_target("loihi2", bogus_bits=1)
    with pytest.raises(TargetError, match="no target file"):
        derive_target("reference", weight_bits=4)

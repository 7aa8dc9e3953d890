"""The exact engine equals Lava's fixed_pt models bit for bit: spikes, u and v at every step."""

import numpy as np
import pytest
import random_artifacts as ra
from lava_helpers import LAVA_WARNINGS, assert_identical, require_lava

from neurocc.backends.loihi.lava_export import run_lava
from neurocc.sim.loihi import fixed_point as fx
from neurocc.sim.loihi import run_artifact

require_lava()
pytestmark = [LAVA_WARNINGS, pytest.mark.lava]

TOPOLOGIES = {
    "feed_forward_mixed": ra.feed_forward(ra.MIXED),
    "feed_forward_excitatory": ra.feed_forward(ra.EXCITATORY),
    "feed_forward_inhibitory": ra.feed_forward(ra.INHIBITORY, "driven"),
    "recurrent": ra.recurrent(),
    "delayed": ra.delayed(),
    "delayed_sparse": ra.delayed_sparse(),
    "sparse_fan_in": ra.sparse_fan_in(),
}
DEFAULT_SEEDS = (0, 1, 2)
DEFAULT_STEPS = 200
SLOW_SEEDS = tuple(range(2, 14))
SLOW_STEPS = 400
INPUT_RATE = 0.2
ARITH = fx.arithmetic_of(ra.SWEEP_TARGET)  # Lava's numbers (the sweep target widens exponents)


def compare(recipe: ra.NetworkRecipe, seed: int, steps: int, batch: int = 1):
    artifact = ra.build_artifact(recipe, seed)
    n_in = sum(recipe.sizes[name] for name in recipe.inputs)
    spikes = ra.random_spikes(np.random.default_rng(seed + 100), batch, steps, n_in, INPUT_RATE)
    engine = run_artifact(artifact, spikes, record_states=True)
    assert_identical(engine, run_lava(artifact, spikes, record_states=True))
    return engine


@pytest.mark.parametrize("seed", DEFAULT_SEEDS)
@pytest.mark.parametrize("topology", sorted(TOPOLOGIES))
def test_engine_equals_lava(topology, seed):
    recipe = TOPOLOGIES[topology]
    engine = compare(recipe, seed, DEFAULT_STEPS)
    # the comparison means something only if the network moved: u changed somewhere
    assert any(np.any(engine.states[f"u/{p}"]) for p in recipe.sizes if p not in recipe.inputs)


def test_delay_sparse_equals_lava_with_recurrent_spikes():
    """DelaySparse (per-synapse delays 0..5 in CSR, recurrent too) beside a DelayDense,
    equal to Lava's PyDelaySparseModelBitAcc: a seed where the delayed recurrence fires."""
    recipe = ra.delayed_sparse()
    artifact = ra.build_artifact(recipe, 4)
    arrays = artifact.sections["loihi"]
    assert [artifact.layout["projections"][f"p{i}"]["process"] for i in range(4)] == [
        "DelaySparse", "DelaySparse", "DelaySparse", "DelayDense"]
    assert set(arrays["proj/p0/delay/data"]) == set(range(6))
    engine = compare(recipe, 4, DEFAULT_STEPS)
    assert engine.spikes["h"].sum() > 0 and engine.spikes["out"].sum() > 0


def test_default_sweep_spikes_in_every_topology():
    """Across the default seeds every topology emits spikes (checked on the engine alone)."""
    for name, recipe in TOPOLOGIES.items():
        total = 0
        for seed in DEFAULT_SEEDS:
            artifact = ra.build_artifact(recipe, seed)
            n_in = sum(recipe.sizes[p] for p in recipe.inputs)
            spikes = ra.random_spikes(np.random.default_rng(seed + 100), 1, DEFAULT_STEPS, n_in,
                                      INPUT_RATE)
            total += run_artifact(artifact, spikes).counters["spikes"]
        assert total > 0, name


def test_batch_of_two_equals_lava_per_sample():
    compare(ra.sparse_fan_in(), seed=5, steps=80, batch=2)


@pytest.mark.parametrize("sign, wrapped_sign", [(ra.EXCITATORY, -1), (ra.INHIBITORY, 1)])
def test_u_wraps_and_v_saturates_like_lava(sign, wrapped_sign):
    """One-signed input can only give u the other sign by the 24-bit wrap-around."""
    wrapped = saturated = False
    for seed in range(3):
        engine = compare(ra.saturating(sign), seed, steps=120)
        u, v = engine.states["u/h"], engine.states["v/h"]
        wrapped |= bool(np.any(u * wrapped_sign > 0))
        saturated |= bool(np.any(v == ARITH.v_min))
    assert wrapped and saturated


def test_extreme_shifts_leave_24_bits_like_lava():
    """Sums beyond 2**24 wrap once only (u leaves 24 bits) and the int32 ports wrap."""
    recipe = ra.NetworkRecipe({"in": 12, "h": 10}, ("in",), ("h",),
                              (ra.Recipe("in", "h", sign=ra.EXCITATORY),), "extreme")
    engine = compare(recipe, seed=3, steps=100)
    assert np.abs(engine.states["u/h"]).max() > 2 * ARITH.u_max


@pytest.mark.slow
@pytest.mark.parametrize("seed", SLOW_SEEDS)
@pytest.mark.parametrize("topology", sorted(TOPOLOGIES))
def test_engine_equals_lava_many_seeds(topology, seed):
    compare(TOPOLOGIES[topology], seed, SLOW_STEPS)


@pytest.mark.slow
@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("regime", ["saturating", "extreme"])
def test_saturating_many_seeds(regime, seed):
    recipe = ra.NetworkRecipe({"in": 12, "h": 10, "o": 6}, ("in",), ("o",),
                              (ra.Recipe("in", "h"), ra.Recipe("h", "o"),
                               ra.Recipe("h", "h", process="DelayDense", max_delay=3)), regime)
    compare(recipe, seed, SLOW_STEPS)

"""verify_against_lava: identical on a faithful engine, the exact first difference otherwise."""

import dataclasses

import numpy as np
import pytest
import random_artifacts as ra
from lava_helpers import LAVA_WARNINGS, require_lava

from neurocc.backends.loihi import verify
from neurocc.backends.loihi.section import pop_key
from neurocc.sim.loihi import run_artifact

require_lava()
pytestmark = [LAVA_WARNINGS, pytest.mark.lava]

STEPS = 60


def small_case(seed: int = 4):
    recipe = ra.feed_forward(ra.EXCITATORY)
    artifact = ra.build_artifact(recipe, seed)
    spikes = ra.random_spikes(np.random.default_rng(seed), 1, STEPS, recipe.sizes["in"], 0.3)
    return artifact, spikes


def test_identical_report():
    artifact, spikes = small_case()
    report = verify.verify_against_lava(artifact, spikes)
    assert report.identical and report.first_difference is None
    assert report.steps == STEPS and report.batch == 1
    assert report.populations == ("h1", "h2", "out")
    assert report.summary().startswith("identical to Lava")


def perturbed(artifact, key: str, index: int, delta: int):
    arrays = dict(artifact.sections["loihi"])
    value = np.array(arrays[key], copy=True)
    value[index] += delta
    arrays[key] = value
    return dataclasses.replace(artifact, sections={"loihi": arrays})


def test_first_difference_of_a_perturbed_bias(monkeypatch):
    """The engine runs an artifact whose bias of h2[3] is 1 higher: v of h2[3] differs first."""
    artifact, spikes = small_case()
    bias_key = pop_key("h2", "bias_mant")
    changed = perturbed(artifact, bias_key, 3, 1)
    monkeypatch.setattr(verify, "run_artifact",
                        lambda _artifact, x, **kw: run_artifact(changed, x, **kw))
    report = verify.verify_against_lava(artifact, spikes)
    diff = report.first_difference
    assert not report.identical and diff is not None
    # the bias enters v at the first step (t = 0); u does not see the bias
    assert (diff.step, diff.sample, diff.population, diff.neuron, diff.variable) == \
        (0, 0, "h2", 3, "v")
    # at step 0 u is still 0 (Dense sends its empty buffer first), so v is the bias itself
    mant = int(artifact.sections["loihi"][bias_key][3])
    exp = int(artifact.sections["loihi"][pop_key("h2", "bias_exp")][3])
    bias = (lambda m: m << exp) if exp >= 0 else (lambda m: m >> -exp)
    assert (diff.lava_value, diff.engine_value) == (bias(mant), bias(mant + 1))
    assert "population 'h2', neuron 3, v" in report.summary()


def test_first_difference_of_a_raised_threshold_in_spikes(monkeypatch):
    artifact, spikes = small_case(seed=6)
    changed = perturbed(artifact, pop_key("out", "vth"), (), 1000)
    monkeypatch.setattr(verify, "run_artifact",
                        lambda _artifact, x, **kw: run_artifact(changed, x, **kw))
    report = verify.verify_against_lava(artifact, spikes, check_states=False)
    assert report.variables == ("spikes",)
    # expected: the first (step, neuron) where the two engine runs disagree on out's spikes
    original = run_artifact(artifact, spikes).spikes["out"][0]
    raised = run_artifact(changed, spikes).spikes["out"][0]
    step, neuron = np.argwhere(original != raised)[0]
    diff = report.first_difference
    assert (diff.population, diff.variable, diff.step, diff.neuron) == \
        ("out", "spikes", step, neuron)
    assert (diff.lava_value, diff.engine_value) == (1, 0)  # a higher threshold only removes

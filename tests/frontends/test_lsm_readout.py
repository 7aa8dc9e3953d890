"""train_readout: a trained LSM beats chance, and the written readout is the fitted model."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

from neurocc.compiler.errors import FrontendError
from neurocc.frontends.lsm import (
    LsmParameters,
    build_lsm,
    classify,
    readout_values,
    reservoir_states,
    train_readout,
)
from neurocc.sim.reference import run_graph

N_STEPS = 25
MAX_RATE = 0.2  # spike probability per step of a full-intensity pixel (examples/digits)


def rate_encode(images: np.ndarray, seed: int) -> np.ndarray:
    """Bernoulli rate code of 0..16 pixels, as examples/digits/encoding.py."""
    rng = np.random.default_rng(seed)
    probability = MAX_RATE * images / 16.0
    return (rng.random((len(images), N_STEPS, images.shape[1])) < probability[:, None, :]
            ).astype(np.uint8)


@pytest.fixture(scope="module")
def digits():
    data = load_digits()
    x_train, x_test, y_train, y_test = train_test_split(
        data.data, data.target, test_size=0.25, random_state=0, stratify=data.target)
    return rate_encode(x_train, 1), y_train, rate_encode(x_test, 2), y_test


@pytest.fixture(scope="module")
def lsm():
    return build_lsm(LsmParameters(n_inputs=64, n_readout=10, seed=0))


@pytest.mark.parametrize("method", ["ridge", "logistic"])
def test_digits_readout_beats_chance_by_far(digits, lsm, method):
    # 10 balanced classes: chance is 10 %; a linear readout of 135 LIF neurons gets ~80 %
    train_spikes, train_labels, test_spikes, test_labels = digits
    trained, report = train_readout(lsm, train_spikes, train_labels, method=method)
    accuracy = np.mean(classify(trained, test_spikes) == test_labels)
    assert accuracy > 0.6, accuracy
    assert report.task == "classification" and report.n_samples == len(train_labels)
    assert report.n_steps == N_STEPS and report.n_features == 135
    assert 0 < report.reservoir_rate < 1
    # the simulated readout decides as the fitted model did on the training data
    assert np.mean(classify(trained, train_spikes) == train_labels) == pytest.approx(
        report.train_score, abs=1 / len(train_labels))
    assert trained.metadata["lsm_readout"]["method"] == method
    assert not lsm.projections["reservoir_readout"].dense_weight().any()  # input untouched


def test_final_readout_value_is_the_filtered_spike_train(digits, lsm):
    spikes, labels = digits[0][:40], digits[1][:40]
    trained, _ = train_readout(lsm, spikes, labels)
    raw = run_graph(trained, spikes).spikes["reservoir"]
    leak = 1 - trained.dt_s / 30e-3
    trace = np.zeros(raw.shape[::2])  # the recursion the li readout runs, step by step
    for t in range(raw.shape[1]):
        trace = leak * trace + (1 - leak) * raw[:, t]
    weight = trained.projections["reservoir_readout"].dense_weight()
    bias = trained.populations["readout"].params["bias"]
    expected = trace @ weight.T + bias * (1 - leak**N_STEPS)
    np.testing.assert_allclose(readout_values(trained, spikes), expected, rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(reservoir_states(trained, spikes)[0], trace, rtol=1e-12)


def temporal_task(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Two classes with the same input statistics over the first 20 steps: the class is
    which half of the inputs fires in the last 10 steps."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 2, n)
    spikes = (rng.random((n, 30, 8)) < 0.1).astype(np.uint8)
    late = rng.random((n, 10, 4)) < 0.4
    for half in (0, 1):
        rows = labels == half
        spikes[rows, 20:, 4 * half:4 * half + 4] |= late[rows].astype(np.uint8)
    return spikes, labels


def test_generated_temporal_task_with_two_classes():
    graph = build_lsm(LsmParameters(n_inputs=8, n_readout=2, shape=(6, 5, 4), seed=3))
    train_spikes, train_labels = temporal_task(300, 0)
    test_spikes, test_labels = temporal_task(200, 1)
    trained, _ = train_readout(graph, train_spikes, train_labels, method="logistic")
    assert np.mean(classify(trained, test_spikes) == test_labels) > 0.8  # chance: 0.5


def test_ridge_regression_targets():
    graph = build_lsm(LsmParameters(n_inputs=8, n_readout=2, shape=(6, 5, 4), seed=3))
    spikes, _ = temporal_task(300, 0)
    targets = np.stack([spikes[:, 20:, :4].mean(axis=(1, 2)),
                        spikes[:, 20:, 4:].mean(axis=(1, 2))], axis=1)
    _, report = train_readout(graph, spikes, targets, method="ridge")
    assert report.task == "regression" and report.train_score > 0.5


# -- errors -----------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def small():
    graph = build_lsm(LsmParameters(n_inputs=3, n_readout=3, shape=(3, 3, 3)))
    spikes = (np.random.default_rng(0).random((12, 10, 3)) < 0.3).astype(np.uint8)
    return graph, spikes


@pytest.mark.parametrize("labels,kwargs,match", [
    (np.array([0, 1, 3] * 4), {}, r"class 3, outside 0\.\.2"),
    (np.zeros(12, int), {}, r"single class"),
    (np.array([0, 1] * 6), {"method": "logistic"}, r"no example of class 2"),
    (np.array([0, 1, 2] * 4), {"method": "svm"}, r"method 'svm'"),
    (np.array([0, 1, 2] * 4), {"regularization": 0.0}, r"regularization"),
    (np.zeros((12, 3)), {"method": "logistic"}, r"only the 'ridge' method"),
    (np.array(["a"] * 12), {}, r"expected integer classes"),
    (np.array([0, 1, 2] * 3), {}, r"9 samples, the spikes 12"),
])
def test_bad_training_requests(small, labels, kwargs, match):
    graph, spikes = small
    with pytest.raises(FrontendError, match=match):
        train_readout(graph, spikes, labels, **kwargs)


def test_a_graph_that_is_not_an_lsm(small):
    graph, spikes = small
    other = graph.replace(projections={k: v for k, v in graph.projections.items()
                                       if k != "reservoir_readout"})
    with pytest.raises(FrontendError, match=r"not a liquid state machine"):
        train_readout(other, spikes, np.array([0, 1, 2] * 4))

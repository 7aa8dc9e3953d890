"""Train the readout of an LSM graph with scikit-learn (no torch): :func:`train_readout`.

The readout population is ``li`` (``tau_s = readout_tau_s``) fed by the
reservoir with no delay, so with ``a = 1 - dt_s / tau_s`` its value after the
last step ``T - 1`` is exactly linear in the reservoir's spikes ``s_t``::

    v_readout = W @ x + bias * (1 - a^T),   x = (1 - a) * sum_t a^(T-1-t) s_t

``x`` (:func:`reservoir_states`) is the spike train filtered by the readout's
own leak. The linear model is fitted on ``x`` (standardized; the scaling is
folded back into ``W``), and its intercept is written as ``bias = intercept /
(1 - a^T)``: simulating the trained graph for ``T`` steps gives the fitted
model's decision values in ``v`` of the readout (:func:`readout_values`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from neurocc.compiler.errors import FrontendError
from neurocc.compiler.graph import Graph, Population, Projection
from neurocc.frontends.lsm.build import READOUT, READOUT_PROJECTION, RESERVOIR
from neurocc.sim.reference import run_graph

METHODS = ("ridge", "logistic")
READOUT_METADATA_KEY = "lsm_readout"


@dataclass(frozen=True)
class ReadoutReport:
    """What :func:`train_readout` fitted and how well the written readout does on the
    training data (``train_score``: accuracy for classes, R^2 for regression)."""

    method: str
    task: str  # "classification" or "regression"
    regularization: float  # ridge alpha; logistic 1/C
    n_samples: int
    n_steps: int  # T: the readout's bias is exact for runs of this length
    n_features: int
    train_score: float
    reservoir_rate: float  # mean spikes per reservoir neuron and step
    silent_fraction: float  # reservoir neurons that never spiked on the training data

    def to_json(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in self.__dataclass_fields__}


def _readout_leak(graph: Graph) -> float:
    """``a = 1 - dt_s / tau_s`` of the readout (one value: all its neurons share tau)."""
    tau_s = graph.populations[READOUT].params["tau_s"]
    return float(1.0 - graph.dt_s / tau_s[0])


def _check_lsm(graph: Graph) -> None:
    pops, projs = graph.populations, graph.projections
    ok = (RESERVOIR in pops and READOUT in pops and pops[READOUT].model == "li"
          and READOUT_PROJECTION in projs
          and np.all(pops[READOUT].params["tau_s"] == pops[READOUT].params["tau_s"][0])
          and np.all(projs[READOUT_PROJECTION].delay_steps == 0))
    if not ok:
        raise FrontendError("graph", "is not a liquid state machine from build_lsm (it needs "
                            f"populations '{RESERVOIR}' and '{READOUT}' (li, one tau) and the "
                            f"projection '{READOUT_PROJECTION}' without delay).",
                            "Build it with neurocc.frontends.lsm.build_lsm(LsmParameters(...)).")


def filter_weights(n_steps: int, leak: float) -> np.ndarray:
    """``(1 - a) a^(T-1-t)`` for t = 0..T-1: the readout's response to one spike at t."""
    return (1.0 - leak) * leak ** np.arange(n_steps - 1, -1, -1, dtype=np.float64)


def reservoir_states(graph: Graph, spikes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Run the reference engine; return the filtered reservoir spikes ``x`` (batch, N) at the
    last step and the raw reservoir spikes (batch, T, N)."""
    _check_lsm(graph)
    raw = run_graph(graph, spikes).spikes[RESERVOIR]
    return states_from_spikes(graph, raw), raw


def states_from_spikes(graph: Graph, reservoir_spikes: np.ndarray) -> np.ndarray:
    """The filtered reservoir spikes ``x`` (batch, N) at the last step, from spikes (batch, T,
    N) of any engine: what the trained readout's ``v`` is linear in."""
    weights = filter_weights(reservoir_spikes.shape[1], _readout_leak(graph))
    return np.einsum("btn,t->bn", reservoir_spikes, weights)


def readout_values(graph: Graph, spikes: np.ndarray) -> np.ndarray:
    """The readout's ``v`` after the last step (batch, n_readout), from a reference run."""
    _check_lsm(graph)
    return run_graph(graph, spikes).states[f"v/{READOUT}"][:, -1]


def readout_from_spikes(graph: Graph, reservoir_spikes: np.ndarray) -> np.ndarray:
    """The trained readout's final ``v`` (batch, n_readout) computed digitally from reservoir
    spikes (batch, T, N) of any engine: ``W x + bias (1 - a^T)``, what a reference run of
    the whole graph gives when its reservoir spikes the same."""
    _check_lsm(graph)
    x = states_from_spikes(graph, reservoir_spikes)
    weight = np.asarray(graph.projections[READOUT_PROJECTION].weight)
    bias = graph.populations[READOUT].params["bias"]
    decay = 1.0 - _readout_leak(graph) ** reservoir_spikes.shape[1]
    return np.asarray(x @ weight.T + bias * decay)


def classify(graph: Graph, spikes: np.ndarray) -> np.ndarray:
    """The class of each sample: the readout neuron with the largest final ``v``."""
    return np.argmax(readout_values(graph, spikes), axis=1)


# -- fitting --------------------------------------------------------------------------------
def _task(labels: np.ndarray, n_readout: int, method: str) -> str:
    if labels.ndim == 1 and labels.dtype.kind in "iu":
        bad = labels[(labels < 0) | (labels >= n_readout)]
        if bad.size:
            raise FrontendError("labels", f"hold the class {int(bad[0])}, outside 0.."
                                f"{n_readout - 1} (one class per readout neuron).",
                                "Set LsmParameters.n_readout to the number of classes.")
        if len(np.unique(labels)) < 2:
            raise FrontendError("labels", "hold a single class.", "Give at least two classes.")
        return "classification"
    if labels.ndim == 2 and labels.shape[1] == n_readout and labels.dtype.kind in "iuf":
        if method != "ridge":
            raise FrontendError("labels", "are regression targets (2-D), which only the "
                                "'ridge' method fits.", "Use method='ridge'.")
        return "regression"
    raise FrontendError("labels", f"have shape {labels.shape} and dtype {labels.dtype}; "
                        f"expected integer classes (batch,) in 0..{n_readout - 1}, or float "
                        f"targets (batch, {n_readout}).", "One label (row) per sample.")


def _fit(method: str, regularization: float, x: np.ndarray, labels: np.ndarray,
         task: str, n_readout: int) -> tuple[np.ndarray, np.ndarray]:
    """Coefficients (n_readout, N) and intercepts (n_readout,) on standardized features."""
    # imported here: scikit-learn takes about a second to import, and only training needs it
    from sklearn.linear_model import LogisticRegression, Ridge

    if method == "ridge":
        targets = np.eye(n_readout)[labels] if task == "classification" else labels
        ridge = Ridge(alpha=regularization).fit(x, targets)
        return np.atleast_2d(ridge.coef_), np.atleast_1d(ridge.intercept_)
    missing = sorted(set(range(n_readout)) - set(np.unique(labels).tolist()))
    if missing:
        raise FrontendError("labels", f"have no example of class {missing[0]}; logistic "
                            "regression fits only the classes it sees.",
                            "Give examples of every class, or use method='ridge'.")
    model = LogisticRegression(C=1.0 / regularization, max_iter=2000).fit(x, labels)
    coef, intercept = model.coef_, model.intercept_
    if n_readout == 2:  # sklearn gives one decision d for two classes: argmax(-d/2, d/2)
        coef, intercept = np.vstack([-coef / 2, coef / 2]), np.array([-1, 1]) * intercept / 2
    return coef, intercept


def _score(task: str, decision: np.ndarray, labels: np.ndarray) -> float:
    if task == "classification":
        return float(np.mean(np.argmax(decision, axis=1) == labels))
    residual = ((labels - decision) ** 2).sum()
    total = ((labels - labels.mean(axis=0)) ** 2).sum()
    return float(1.0 - residual / total) if total > 0 else 0.0


def _with_readout(graph: Graph, weight: np.ndarray, bias: np.ndarray,
                  report: ReadoutReport) -> Graph:
    old = graph.projections[READOUT_PROJECTION]
    readout = graph.populations[READOUT]
    params = {**readout.params, "bias": bias}
    populations = {**graph.populations, READOUT: Population(
        READOUT, readout.model, readout.shape, params, readout.reset, readout.metadata)}
    projections = {**graph.projections, READOUT_PROJECTION: Projection(
        old.name, old.source, old.target, weight, old.delay_steps, old.metadata, old.receptor)}
    metadata = {**graph.metadata, READOUT_METADATA_KEY: report.to_json()}
    return graph.replace(populations=populations, projections=projections, metadata=metadata)


def _check_options(graph: Graph, method: str, regularization: float) -> None:
    if method not in METHODS:
        raise FrontendError(f"method '{method}'", "is not a readout method.",
                            f"Use one of {list(METHODS)}.")
    if not (isinstance(regularization, int | float) and regularization > 0):
        raise FrontendError("regularization", f"is {regularization!r}; expected > 0.",
                            "For example 1.0.")
    _check_lsm(graph)


def train_readout(graph: Graph, spikes: np.ndarray, labels: Any, *, method: str = "ridge",
                  regularization: float = 1.0) -> tuple[Graph, ReadoutReport]:
    """Fit the readout on a reference run of ``spikes`` (batch, T, n_in) and return a new
    graph with the trained readout weights and biases, and a :class:`ReadoutReport`.

    ``labels``: integer classes (batch,) in ``0..n_readout-1`` (the readout
    neuron with the largest final ``v`` is the class), or float targets
    (batch, n_readout) for ridge regression. ``method``: ``ridge`` (alpha =
    ``regularization``) or ``logistic`` (C = 1 / ``regularization``).
    """
    _check_options(graph, method, regularization)
    _, raw = reservoir_states(graph, spikes)
    return fit_readout(graph, raw, labels, method=method, regularization=regularization)


def fit_readout(graph: Graph, reservoir_spikes: np.ndarray, labels: Any, *,
                method: str = "ridge", regularization: float = 1.0
                ) -> tuple[Graph, ReadoutReport]:
    """:func:`train_readout` on reservoir spikes (batch, T, N) recorded by any engine (an
    analog crossbar, a chip): the readout is fitted on what that reservoir really did."""
    _check_options(graph, method, regularization)
    n_readout = graph.populations[READOUT].size
    labels = np.asarray(labels)
    task = _task(labels, n_readout, method)
    raw = np.asarray(reservoir_spikes)
    if raw.ndim != 3 or raw.shape[2] != graph.populations[RESERVOIR].size:
        raise FrontendError("reservoir_spikes", f"have shape {raw.shape}; expected (batch, T, "
                            f"{graph.populations[RESERVOIR].size}).",
                            "Pass the reservoir's spikes of a run (SimResult.spikes).")
    x = states_from_spikes(graph, raw)
    if len(labels) != len(x):
        raise FrontendError("labels", f"hold {len(labels)} samples, the spikes {len(x)}.",
                            "Give one label per sample.")
    mean, scale = x.mean(axis=0), x.std(axis=0)
    scale[scale == 0] = 1.0  # a neuron that never varies: its (zero) coefficient stays zero
    coef, intercept = _fit(method, regularization, (x - mean) / scale, labels, task, n_readout)
    weight = coef / scale
    intercept = intercept - weight @ mean
    n_steps = raw.shape[1]
    bias = intercept / (1.0 - _readout_leak(graph) ** n_steps)
    report = ReadoutReport(method, task, float(regularization), len(x), n_steps, x.shape[1],
                           _score(task, x @ weight.T + intercept, labels),
                           float(raw.mean()), float(np.mean(raw.sum(axis=(0, 1)) == 0)))
    return _with_readout(graph, weight, bias, report), report

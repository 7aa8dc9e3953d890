"""LSM frontend: build a liquid state machine from a few parameters (docs section, copied to
``docs/``).

Build
    ``build_lsm(LsmParameters(n_inputs=64))`` returns a verified Graph::

        input (n_inputs) --input_reservoir--> reservoir (shape) --reservoir_readout--> readout
                                              ^         |
                                              +---------+ reservoir_reservoir (delay >= 1)

    ``neurocc.load(params)`` does the same (options are field overrides:
    ``neurocc.load(params, seed=3)``). The reservoir is ``lif`` (``cubalif``
    when ``tau_syn_s`` is set) on a grid ``shape`` of 1 to 3 dimensions with unit
    spacing; ``round(excitatory_fraction * N)`` neurons, chosen at random, are
    excitatory (E), the rest inhibitory (I). The readout is ``li`` with
    ``readout_tau_s``, all-to-all from the reservoir with zero weights until
    trained. ``graph.metadata["lsm"]`` keeps the recipe.

Connection rule (Maass, Natschläger & Markram 2002)
    Each ordered pair of distinct reservoir neurons a -> b is one independent
    trial with probability ``p(a, b) = C[type(a), type(b)] * exp(-(D(a, b) /
    lambda)^2)``: ``C = connectivity`` (``EiPair(ee, ei, ie, ii)``, ``ei`` = E
    -> I; default 0.3, 0.2, 0.4, 0.1 as in the paper), ``D`` the Euclidean
    distance of the grid positions, ``lambda = length_constant`` (default 2;
    ``None``: ``p = C`` alone). No self-connections. Pairs less likely than
    1e-12 are never drawn (fewer than 1e-12 * N^2 synapses are missed in
    expectation). Weights: magnitude from ``weight_distribution`` (``gamma``,
    ``lognormal`` or ``constant``) with mean ``weight_mean[pair]`` and
    coefficient of variation ``weight_cv`` (sd / mean; default 0.5, the paper's
    "SD 50 % of the mean"), sign + for E, - for I presynaptic neurons. Delays:
    ``delay_s[pair]`` rounded to the nearest step of ``dt_s``, halves up; each
    must give >= 1 step. Input: each input neuron reaches ``round(input_fraction
    * N)`` distinct reservoir neurons chosen at random, weights positive with
    mean ``input_weight`` (same distribution and cv), no delay.

Construction
    Sparse throughout, never a dense (post, pre) matrix (``sampling.py``): a
    group of pairs sharing one probability (one per grid offset) gets
    ``Binomial(pairs, p)`` synapses on a uniform random subset; the E/I
    probabilities are drawn with the largest ``C`` and thinned by
    ``C[pair] / C_max``. Three random streams are spawned from ``seed`` (types,
    recurrent, input): the same parameters give the same graph, bit for bit.
    The expected synapse count is checked against 2e8, and N against 1e7,
    before anything is allocated. ``benchmarks/lsm_build.py`` measures time
    and memory (100 k neurons, 10 M synapses).

Readout
    ``train_readout(graph, spikes, labels, method="ridge"|"logistic",
    regularization=1.0) -> (graph, ReadoutReport)`` runs the reference engine,
    takes the reservoir spikes filtered by the readout's own leak at the last
    step (``reservoir_states``), fits scikit-learn's ``Ridge`` (one-hot targets
    for classes, or float targets (batch, n_readout) for regression) or
    ``LogisticRegression`` on standardized states, and writes the weights and
    biases into a new graph: simulating it for the same number of steps gives
    the fitted model's decision values as the readout's final ``v``
    (``readout_values``, ``classify``: argmax). ``fit_readout(graph,
    reservoir_spikes, labels)`` fits on the reservoir spikes of any engine (an
    analog crossbar run), ``readout_from_spikes`` applies the trained readout to
    them digitally. Labels are classes
    ``0..n_readout-1``, one readout neuron each.

Files
    ``write_lsm(graph, path)`` writes an ordinary NIR file (dense ``Linear``
    weights, as NIR has no sparse node; refused above 2 GiB per matrix) with the
    recipe as JSON in the graph metadata (``neurocc.lsm``); ``read_lsm(path)``
    reads it back with the recipe and the input and recurrent weights in CSR
    form (same ``indptr``, ``indices``, ``data`` and delays). Per-pair delays
    that differ between E and I (for example Maass' 1.5 ms EE, 0.8 ms
    otherwise) vary by both pre and post neuron, which a NIR Delay node cannot
    express: ``write_nir`` refuses them; keep such graphs as artifacts.

Zero-shot reservoirs (``zeroshot.py``)
    ``zeroshot_reservoir(params, "rram256k", input_scale=, recurrent_scale=)``
    keeps the structure of ``build_lsm(params)`` and draws every input and
    recurrent weight from a differential pair of resistive cells switched once
    without verify, unprogrammed: ``w = scale * (G+ - G-) / (sqrt(2) sigma_G)``
    with ``G`` from the target's switching distribution (device section).
    ``gaussian_reservoir`` is the software reservoir of the same structure
    (``w ~ Normal(0, scale^2)``); ``formed_conductances(graph)`` re-draws the
    cells from the recipe kept in ``metadata["lsm_zeroshot"]``.

Errors
    A value out of range is a ``FrontendError`` naming the field
    (``LsmParameters.delay_s.ee``), the value and the allowed range, raised when
    the parameters are made.
"""

from __future__ import annotations

from typing import Any

from neurocc.compiler.errors import FrontendError
from neurocc.compiler.graph import Graph
from neurocc.frontends.lsm.build import build_lsm, excitatory_mask
from neurocc.frontends.lsm.nirio import read_lsm, write_lsm
from neurocc.frontends.lsm.parameters import EiPair, LsmParameters, expected_synapses
from neurocc.frontends.lsm.readout import (
    ReadoutReport,
    classify,
    fit_readout,
    readout_from_spikes,
    readout_values,
    reservoir_states,
    train_readout,
)
from neurocc.frontends.lsm.zeroshot import (
    formed_conductances,
    gaussian_reservoir,
    zeroshot_reservoir,
)


def load_lsm(source: Any, **options: Any) -> Graph:
    """The frontend loader: ``LsmParameters`` -> Graph; ``options`` replace fields."""
    if not isinstance(source, LsmParameters):
        raise FrontendError(type(source).__name__, "is not an LsmParameters recipe.",
                            "Pass neurocc.frontends.lsm.LsmParameters(n_inputs=...).")
    return build_lsm(source.replace(**options) if options else source)


__all__ = [
    "EiPair",
    "LsmParameters",
    "ReadoutReport",
    "build_lsm",
    "classify",
    "excitatory_mask",
    "expected_synapses",
    "fit_readout",
    "formed_conductances",
    "gaussian_reservoir",
    "load_lsm",
    "read_lsm",
    "readout_from_spikes",
    "readout_values",
    "reservoir_states",
    "train_readout",
    "write_lsm",
    "zeroshot_reservoir",
]

"""``build_lsm``: an :class:`LsmParameters` recipe -> a verified :class:`Graph`.

Random numbers come from three independent streams spawned from the seed
(neuron types, recurrent synapses, input synapses), so the types can be
re-derived alone (:func:`excitatory_mask`) and changing the input recipe leaves
the reservoir as it was.
"""

from __future__ import annotations

import numpy as np

from neurocc.compiler.graph import Graph, Population, Projection
from neurocc.frontends.lsm.parameters import LsmParameters, expected_synapses
from neurocc.frontends.lsm.sampling import (
    Pairs,
    distinct_pairs,
    draw_magnitudes,
    grid_pairs,
    to_csr,
    uniform_pairs,
)

INPUT, RESERVOIR, READOUT = "input", "reservoir", "readout"
INPUT_PROJECTION, RECURRENT, READOUT_PROJECTION = (
    "input_reservoir", "reservoir_reservoir", "reservoir_readout")
METADATA_KEY = "lsm"  # graph.metadata["lsm"] holds the recipe (LsmParameters.to_json())
TYPES_STREAM, RECURRENT_STREAM, INPUT_STREAM = range(3)


def _streams(params: LsmParameters) -> list[np.random.Generator]:
    return [np.random.default_rng(s) for s in np.random.SeedSequence(params.seed).spawn(3)]


def excitatory_mask(params: LsmParameters) -> np.ndarray:
    """Which reservoir neurons are excitatory: ``n_excitatory`` of them, at random."""
    rng = _streams(params)[TYPES_STREAM]
    mask = np.zeros(params.n_reservoir, bool)
    mask[rng.permutation(params.n_reservoir)[:params.n_excitatory]] = True
    return mask


def recurrent_pairs(rng: np.random.Generator, params: LsmParameters,
                    excitatory: np.ndarray) -> Pairs:
    """Draw every pair with the largest C of the four, then keep each with
    ``C[pre type][post type] / C_max``: the same law as one trial per pair with its own C,
    from one sampler."""
    table = np.array(params.connectivity.table())
    peak = float(table.max())
    if peak == 0:
        return Pairs(np.zeros(0, np.int64), np.zeros(0, np.int64))
    n, length = params.n_reservoir, params.length_constant
    pairs = (uniform_pairs(rng, n, n, peak, self_connections=False) if length is None
             else grid_pairs(rng, params.shape, params.shape, peak, length, False))
    kind = _pair_kind(pairs, excitatory)
    return pairs.take(rng.random(len(pairs)) < table.reshape(-1)[kind] / peak)


def _pair_kind(pairs: Pairs, excitatory: np.ndarray) -> np.ndarray:
    """0 = EE, 1 = EI, 2 = IE, 3 = II (row-major ``[pre][post]``, 0 = excitatory)."""
    return 2 * (~excitatory[pairs.pre]).astype(np.int64) + (~excitatory[pairs.post])


def _recurrent(rng: np.random.Generator, params: LsmParameters,
               excitatory: np.ndarray) -> Projection:
    pairs = recurrent_pairs(rng, params, excitatory)
    kind = _pair_kind(pairs, excitatory)
    mean = np.array(params.weight_mean.table()).reshape(-1)[kind]
    sign = np.where(excitatory[pairs.pre], 1.0, -1.0)
    weight = sign * draw_magnitudes(rng, params.weight_distribution, mean, params.weight_cv,
                                    len(pairs))
    delays = np.array(params.delay_steps(), np.int64).reshape(-1)
    per_synapse = delays[kind]
    n = params.n_reservoir
    return Projection(RECURRENT, RESERVOIR, RESERVOIR, to_csr(pairs, weight, (n, n)),
                      delays[0] if np.all(delays == delays[0]) else per_synapse,
                      {METADATA_KEY: {"rule": "maass2002" if params.length_constant
                                      else "uniform"}})


def input_pairs(rng: np.random.Generator, params: LsmParameters) -> Pairs:
    """Each input reaches ``round(input_fraction * n_reservoir)`` distinct reservoir neurons."""
    n_in, n = params.n_inputs, params.n_reservoir
    reach = round(params.input_fraction * n)
    keys = distinct_pairs(rng, np.full(n_in, n), np.full(n_in, reach),
                          lambda group, index: index * n_in + group, lambda keys: keys % n_in)
    return Pairs.from_keys(keys, n_in)


def _input(rng: np.random.Generator, params: LsmParameters) -> Projection:
    pairs = input_pairs(rng, params)
    weight = draw_magnitudes(rng, params.weight_distribution, params.input_weight,
                             params.weight_cv, len(pairs))
    shape = (params.n_reservoir, params.n_inputs)
    return Projection(INPUT_PROJECTION, INPUT, RESERVOIR, to_csr(pairs, weight, shape),
                      np.zeros((), np.int64), {METADATA_KEY: {"rule": "input_fraction"}})


def _arrays(values: dict[str, float]) -> dict[str, np.ndarray]:
    """Scalar parameters as 0-d arrays (a Population broadcasts them to its size)."""
    return {key: np.asarray(value, np.float64) for key, value in values.items()}


def _reservoir(params: LsmParameters) -> Population:
    common = {"r": 1.0, "v_leak": 0.0, "v_threshold": params.v_threshold,
              "v_reset": params.v_reset, "bias": params.bias}
    taus = ({"tau_s": params.tau_s} if params.tau_syn_s is None else
            {"tau_mem_s": params.tau_s, "tau_syn_s": params.tau_syn_s, "w_in": 1.0})
    return Population(RESERVOIR, params.model, params.shape, _arrays({**common, **taus}),
                      params.reset)


def build_lsm(params: LsmParameters) -> Graph:
    """input -> reservoir (recurrent, delays >= 1 step) -> readout (``li``, zero weights).

    Deterministic: one ``params`` (seed included) gives one graph. The recipe is
    kept in ``graph.metadata["lsm"]``.
    """
    _, recurrent_rng, input_rng = _streams(params)  # the types stream: excitatory_mask
    excitatory = excitatory_mask(params)
    n = params.n_reservoir
    populations = [
        Population(INPUT, "input", (params.n_inputs,)),
        _reservoir(params),
        Population(READOUT, "li", (params.n_readout,), _arrays({"tau_s": params.readout_tau_s})),
    ]
    projections = [
        _input(input_rng, params),
        _recurrent(recurrent_rng, params, excitatory),
        Projection(READOUT_PROJECTION, RESERVOIR, READOUT, np.zeros((params.n_readout, n))),
    ]
    metadata = {"frontend": "lsm", METADATA_KEY: params.to_json(),
                "lsm_expected_synapses": expected_synapses(params)}
    return Graph(params.dt_s, {p.name: p for p in populations},
                 {p.name: p for p in projections}, (INPUT,), (READOUT,), metadata)

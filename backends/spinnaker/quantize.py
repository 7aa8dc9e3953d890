"""Quantization for SpiNNaker: s16.15 parameters and 16-bit ring-buffer weights.

What sPyNNaker does, reimplemented from ``shared/reference/spinnaker.md`` §2:

- Parameters are s16.15, encoded on the host with round-half-even (``S1615.encode_as_int``).
- Decays are ``exp(-dt/tau)``: s16.15 for the membrane (``exp_TC``), u0.32 for exponential
  synapses, with ``init = (tau/dt)(1 - decay)`` so a synapse keeps its charge. They are the
  integers the core computes on load from the host's s16.15 millisecond words, with
  spinn_common's table exp and truncating divisions (``chip_math``); so is the refractory
  period in ticks, ``T_refract = ceil(tau_refrac / dt)``.
- Weights are unsigned 16-bit magnitudes; the sign picks the synapse type (positive weights
  to ``excitatory``, negative to ``inhibitory``, which the neuron subtracts). Each (post
  population, synapse type) gets one ring-buffer shift ``r`` from the worst-case summed weight
  ``M`` of one slot (every presynaptic neuron spiking in the same tick): ``r = ceil(log2 M)``,
  plus 1 when ``2**r <= M``; the stored word is ``rint(|w| * 2**(15 - r))``.

The graph's weights are folded with each model's gain (``r``, ``dt`` for IF, ``dt/tau_syn``
for exponential synapses: the graph's synaptic currents are rates, PyNN's are amplitudes), so
the chip computes ``alpha = I + v_leak; V = alpha - exp_TC (alpha - V)`` with ``R = 1``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import scipy.sparse as sp

from neurocc.backends.spinnaker import chip_math, delays, kernels
from neurocc.backends.spinnaker.section import SYNAPSE_TYPES, pop_key
from neurocc.backends.targets import TargetSpec
from neurocc.compiler.errors import MappingError
from neurocc.compiler.graph import Graph, Population, Projection

EXCITATORY, INHIBITORY = 0, 1


@dataclass(frozen=True)
class ModelRule:
    """How a neuron model becomes the chip's LIF: which leak, which synapse, which types.

    ``tau_mem``: the membrane time-constant parameter (None: no leak, IF). ``tau_syn``: the
    excitatory and inhibitory synaptic time constants (None: the current acts in the tick it
    arrives, sPyNNaker's delta synapse). ``by_sign``: one signed receptor whose weights are
    split by sign; otherwise receptor i feeds synapse type i.
    """

    tau_mem: str | None
    tau_syn: tuple[str, str] | None
    by_sign: bool


RULES: dict[str, ModelRule] = {
    "lif": ModelRule("tau_s", None, True),
    "if": ModelRule(None, None, True),
    "cubalif": ModelRule("tau_mem_s", ("tau_syn_s", "tau_syn_s"), True),
    "lif_cur_exp": ModelRule("tau_mem_s", ("tau_syn_exc_s", "tau_syn_inh_s"), False),
}
MODELS = tuple(RULES)


def _encode(value: np.ndarray, fraction_bits: int, bits: int, where: str) -> np.ndarray:
    """Round-half-even to a signed fixed-point word, as the host toolchain encodes."""
    raw = np.rint(np.asarray(value, dtype=np.float64) * 2.0 ** fraction_bits).astype(np.int64)
    limit = 2 ** (bits - 1)
    if raw.size and (raw.min() < -limit or raw.max() >= limit):
        raise MappingError(where, f"a value of {float(np.abs(value).max()):g} does not fit "
                           f"the signed {bits}-bit fixed-point word "
                           f"(limit {limit >> fraction_bits}).",
                           "Rescale the model (weights and thresholds) or prune the input.")
    return raw


def base_gain(pop: Population, dt_s: float) -> np.ndarray:
    """The membrane gain of a current: ``r`` (``r * w_in`` for cubalif, ``r * dt`` for IF)."""
    rule = RULES[pop.model]
    gain = pop.params["r"] * pop.params.get("w_in", 1.0)
    return gain if rule.tau_mem is not None else gain * dt_s


def weight_gain(pop: Population, dt_s: float, synapse_type: int) -> np.ndarray:
    """Per post neuron: what one unit of graph weight is on the chip's synapse type."""
    rule = RULES[pop.model]
    gain = base_gain(pop, dt_s)
    if rule.tau_syn is not None:
        gain = gain * dt_s / pop.params[rule.tau_syn[synapse_type]]
    return np.asarray(gain, dtype=np.float64)


def _check_format(spec: TargetSpec) -> None:
    """The load-time arithmetic (``chip_math``) is s16.15 with u0.32 decays, as the chip's."""
    if (spec.fraction_bits, spec.state_bits, spec.decay_bits) != (
            chip_math.FRACTION_BITS, chip_math.WORD_BITS, chip_math.WORD_BITS):
        raise MappingError(f"target '{spec.name}'", f"format fraction_bits / state_bits / "
                           f"decay_bits = {spec.fraction_bits} / {spec.state_bits} / "
                           f"{spec.decay_bits}; the core's load-time arithmetic (spinn_common's "
                           f"table exp) is {chip_math.FRACTION_BITS} / {chip_math.WORD_BITS} / "
                           f"{chip_math.WORD_BITS}.", "Keep the s16.15 / u0.32 format.")


def population_words(pop: Population, dt_s: float, spec: TargetSpec
                     ) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    """The s16.15 / u0.32 parameter arrays of one population and its history record.

    The decays and the refractory ticks are what the core derives on load from the host's
    s16.15 millisecond words (``chip_math``), so they match a real chip's bits.
    """
    rule, p, where = RULES[pop.model], pop.params, f"population '{pop.name}'"
    f, bits = spec.fraction_bits, spec.state_bits
    _check_format(spec)
    ones = np.ones(pop.size)
    threshold = _encode(p["v_threshold"] * ones, f, bits, where)
    exp_tc = (chip_math.per_neuron(lambda tau: chip_math.membrane_decay(dt_s, tau),
                                   p[rule.tau_mem] * ones)
              if rule.tau_mem else _encode(ones, f, bits, where))
    refrac = p.get("tau_refrac_s", 0.0 * ones) * ones
    arrays = {"v_leak": _encode(p.get("v_leak", 0.0) * ones, f, bits, where),
              "v_threshold": threshold + 1, "v_subtract": threshold,
              "v_reset": _encode(p["v_reset"] * ones, f, bits, where),
              "bias": _encode(p["bias"] * base_gain(pop, dt_s) * ones, f, bits, where),
              "exp_tc": exp_tc,
              "t_refract": chip_math.per_neuron(
                  lambda tau: chip_math.refractory_ticks(dt_s, tau), refrac)}
    record: dict[str, Any] = {"model": pop.model, "reset": pop.reset,
                              "exp_tc_range": [int(exp_tc.min()), int(exp_tc.max())],
                              "refractory_ticks": [int(arrays["t_refract"].min()),
                                                   int(arrays["t_refract"].max())]}
    if rule.tau_syn is not None:
        constants = [chip_math.per_neuron(lambda tau, i=i: chip_math.synapse_constants(
            dt_s, tau)[i], p[key] * ones) for key in rule.tau_syn for i in (0, 1)]
        arrays["syn_decay"] = np.stack(constants[0::2])
        arrays["syn_init"] = np.stack(constants[1::2])
        record["syn_init"] = [float(v) for v in arrays["syn_init"][:, 0] / 2.0 ** spec.decay_bits]
    return {pop_key(pop.name, k): v for k, v in arrays.items()}, record


@dataclass(frozen=True)
class SynapseTable:
    """A projection's synapses on the chip, before the weight words: float magnitudes."""

    post: np.ndarray
    pre: np.ndarray
    magnitude: np.ndarray
    synapse_type: np.ndarray
    delay: np.ndarray  # on-core (residual) delay in ticks, 1..delay_max_on_core_steps
    stage: np.ndarray  # delay-extension stage (0: straight from the source), see delays.py


def _receptor_type(graph: Graph, proj: Projection, weight: np.ndarray) -> int | None:
    """None where the target splits weights by sign; else its receptor's synapse type,
    every weight checked to have that receptor's sign."""
    target = graph.populations[proj.target]
    if RULES[target.model].by_sign:
        return None
    index = target.neuron_model.receptors.index(graph.receptor_of(proj))
    wrong = weight < 0 if index == EXCITATORY else weight > 0
    if wrong.any():
        raise MappingError(f"projection '{proj.name}' -> {proj.target}.{SYNAPSE_TYPES[index]}",
                           f"holds {int(wrong.sum())} weights of the wrong sign; the chip "
                           "stores magnitudes and the receptor gives the sign.",
                           "Send excitatory weights >= 0 and inhibitory weights <= 0.")
    return int(index)


def _types(graph: Graph, proj: Projection, weight: np.ndarray) -> np.ndarray:
    index = _receptor_type(graph, proj, weight)
    if index is None:  # the weights are nonzero: negative ones are inhibitory
        return np.where(weight < 0, INHIBITORY, EXCITATORY).astype(np.int64, copy=False)
    return np.full(weight.shape, index, dtype=np.int64)


def _nonzero_synapses(proj: Projection) -> tuple[np.ndarray, np.ndarray, np.ndarray,
                                                  np.ndarray]:
    """``(post, pre, weight, delay)`` of the nonzero synapses in ``coo`` order; a
    projection's single delay stays a 0-d array. A sparse projection's arrays come straight
    from its CSR (post from ``indptr``), without ``coo``'s copies."""
    if proj.is_sparse:
        csr = proj.weight
        post = np.repeat(np.arange(csr.shape[0], dtype=np.int64), np.diff(csr.indptr))
        pre, weight, delay = csr.indices.astype(np.int64), csr.data, proj.delay_steps
    else:
        post, pre, weight, delay = proj.coo()
    keep = weight != 0
    if not keep.all():
        post, pre, weight = post[keep], pre[keep], weight[keep]
        delay = delay[keep] if delay.ndim else delay
    return post, pre, weight, delay


def synapse_table(graph: Graph, proj: Projection, spec: TargetSpec) -> SynapseTable:
    """Nonzero synapses, signs split into types, gains folded, delays at least the minimum
    and split into delay-extension stages and on-core residuals. A projection's single
    delay gives read-only broadcast ``delay`` and ``stage`` arrays (no memory per synapse);
    a sparse one's synapses come from its CSR in one pass (``kernels.csr_table``)."""
    target = graph.populations[proj.target]
    gains = np.stack([weight_gain(target, graph.dt_s, t) * np.ones(target.size)
                      for t in range(len(SYNAPSE_TYPES))])
    if proj.is_sparse and proj.delay_steps.ndim == 0:
        csr = proj.weight
        index = _receptor_type(graph, proj, csr.data)  # zero weights have either sign
        post, pre, types, magnitude = kernels.csr_table(
            csr.indptr, csr.indices, csr.data, gains, index is None,
            EXCITATORY if index is None else index, EXCITATORY, INHIBITORY)
        delay = proj.delay_steps
    else:
        post, pre, weight, delay = _nonzero_synapses(proj)
        types = _types(graph, proj, weight)
        magnitude = kernels.magnitudes(weight, types, post, gains)
    stage, residual = delays.split(proj.name, np.maximum(np.atleast_1d(delay),
                                                         spec.delay_min_steps), spec)
    if delay.ndim == 0:
        stage, residual = (np.broadcast_to(v[0], post.shape) for v in (stage, residual))
    return SynapseTable(post, pre, magnitude, types, residual, stage)


def ring_shift(worst_sum: float) -> int:
    """sPyNNaker's ring-buffer left shift for a slot that can sum to ``worst_sum``."""
    if worst_sum <= 0:
        return 0
    shift = math.ceil(math.log2(worst_sum))
    if 2.0 ** shift <= worst_sum:
        shift += 1
    return max(shift, 0)


def word_shift(spec: TargetSpec) -> int:
    """The left shift a slot gets beyond ``r`` on its way into s16.15:
    ``fraction_bits + 1 - weight_bits`` (0 for 16-bit words, sPyNNaker's; a target with
    narrower words keeps ``r`` as the slot's range and loses the low bits)."""
    return int(spec.fraction_bits) + 1 - int(spec.weight_bits)


def worst_case_sums(graph: Graph, tables: Mapping[str, SynapseTable]) -> dict[str, np.ndarray]:
    """Per (post population, synapse type): the largest slot sum, every source spiking."""
    sums = {n: np.zeros((len(SYNAPSE_TYPES), p.size)) for n, p in graph.populations.items()}
    for name, table in tables.items():  # np.add.at's sums, same order
        kernels.slot_sums(sums[graph.projections[name].target], table.synapse_type,
                          table.post, table.magnitude)
    return {n: s.max(axis=1, initial=0.0) for n, s in sums.items()}


def observed_sums(graph: Graph, tables: Mapping[str, SynapseTable],
                  spikes: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Per (post population, synapse type): the largest slot sum on sample ``spikes``
    (per source population, (batch, T, size) of a reference run), delays included.
    sPyNNaker sizes shifts from expected input statistics in the same spirit."""
    found = {n: np.zeros(len(SYNAPSE_TYPES)) for n in graph.populations}
    for target, pop in graph.populations.items():
        for kind in range(len(SYNAPSE_TYPES)):
            total: np.ndarray | None = None
            for name, table in tables.items():
                proj = graph.projections[name]
                if proj.target != target:
                    continue
                fired = spikes[proj.source].astype(np.float64)
                batch, steps, n_pre = fired.shape
                for delay in np.unique(table.delay[table.synapse_type == kind]):
                    pick = (table.synapse_type == kind) & (table.delay == delay)
                    matrix = sp.csr_array((table.magnitude[pick], (table.post[pick],
                                                                   table.pre[pick])),
                                          shape=(pop.size, n_pre))
                    arriving = (fired.reshape(-1, n_pre) @ matrix.T).reshape(batch, steps, -1)
                    if total is None:
                        total = np.zeros((batch, steps + int(table.delay.max()) + 1, pop.size))
                    elif total.shape[1] < steps + delay:
                        total = np.pad(total, ((0, 0), (0, steps + delay - total.shape[1]),
                                               (0, 0)))
                    total[:, delay:delay + steps] += arriving
            found[target][kind] = 0.0 if total is None else float(total.max(initial=0.0))
    return found


def shifts(graph: Graph, sums: Mapping[str, np.ndarray], spec: TargetSpec
           ) -> dict[str, list[int]]:
    """One shift per (post population, synapse type), from its largest slot sum."""
    found = {n: [ring_shift(float(value)) for value in sums[n]] for n in graph.populations}
    # a shifted slot (< 2**weight_bits) stays a positive state word
    limit = spec.state_bits - 1 - spec.weight_bits - word_shift(spec)
    for name, values in found.items():
        if max(values) > limit:
            raise MappingError(f"population '{name}'", f"its summed input needs a ring-buffer "
                               f"shift of {max(values)}, above the limit of {limit} "
                               "(state_bits - 2 - fraction_bits).",
                               "Scale the weights down or split the fan-in.")
    return found


def weight_words(table: SynapseTable, shift: list[int], spec: TargetSpec) -> np.ndarray:
    """``rint(|w| * 2**(weight_bits - 1 - r))`` (``2**(15 - r)`` for 16-bit words): the
    unsigned ring-buffer words, at most ``2**weight_bits - 1`` (a larger one, possible only
    with calibrated shifts, saturates: ``weight_record`` counts it)."""
    exponent = spec.fraction_bits - word_shift(spec)
    scale = 2.0 ** (exponent - np.asarray(shift, dtype=np.float64))
    return kernels.words_of(table.magnitude, table.synapse_type, scale,
                            2 ** int(spec.weight_bits) - 1)


def weight_record(table: SynapseTable, words: np.ndarray, shift: list[int],
                  spec: TargetSpec) -> dict[str, Any]:
    """Resolution per type, weights lost to zero or saturated, and the largest error."""
    step = 2.0 ** (np.asarray(shift, dtype=np.float64) + word_shift(spec) - spec.fraction_bits)
    zero, saturated, error = kernels.word_stats(words, table.synapse_type, table.magnitude,
                                                step, 2 ** int(spec.weight_bits) - 1)
    return {"synapses": int(words.size), "lost_to_zero": int(zero),
            "saturated": int(saturated), "max_abs_error": float(error),
            "resolution": {t: float(step[i]) for i, t in enumerate(SYNAPSE_TYPES)}}

"""Graded events on SpiNNaker-style cores: EGRU and the integrator readout in s16.15.

A SpiNNaker multicast packet can carry a 32-bit payload; an ``egru`` event carries its cell
value ``y`` there as an s16.15 word (and a 0/1 spike is the payload 1.0). A core holding
``egru`` or ``integrator`` neurons keeps, per (receptor, neuron) and delay slot, a 32-bit
s16.15 input word instead of sPyNNaker's 16-bit slot; each arriving synapse adds
``(w * y) >> (15 - r)``: ``w`` a signed 16-bit weight word ``rint(weight * 2**(15 - r))``
with one shift ``r >= 0`` per (post population, receptor), the smallest with ``2**r >
max |weight|`` (so every word fits 16 signed bits; ``weight_bits - 1`` replaces 15 on a
target with other words). Delays work as for spikes (``delays.py``).

The gate nonlinearities are a lookup table with linear interpolation, the form an ARM core
without a divider uses (``gate_table_step_bits``, ``gate_table_range`` in the target file):
``T[i] = round(sigmoid(i * 2**-k) * 2**32)`` (u0.32) for ``i = 0 .. range * 2**k``; for
``a = |x|`` (s16.15), ``s = T[i] + ((T[i + 1] - T[i]) * f) >> (15 - k)`` with ``i = a >>
(15 - k)`` and ``f`` the low ``15 - k`` bits (``a`` at or beyond the range takes the last
entry), ``sigmoid(-x) = 1 - sigmoid(x)``, and the result is rounded to s16.15 (``(s + 2**16)
>> 17``). ``tanh(x) = 2 sigmoid(2x) - 1`` from the same table. Measured error (exhaustive over
s16.15 inputs, ``tests/sim/spinnaker/test_spinnaker_egru.py``): at most 1 LSB (2**-15) for
both with k = 6 and range 16.

The EGRU step (integer, ``mul`` the run's rounding of ``(a * b) >> 15``, adds wrap at 32 bits)::

    u = sig(I_update + b_u);  r = sig(I_reset + b_r)
    z = tanh(I_candidate + b_c + mul(r, I_candidate_recurrent + b_cr))
    c = c + mul(u, z - c)                  # u z + (1 - u) c with one product
    e = c > c_threshold;  y = c where e;  c -= c_threshold where e

The integrator: ``v = v + I + bias`` (the gain ``r * dt`` folded into weights and bias).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np

from neurocc.backends.spinnaker import delays
from neurocc.backends.spinnaker.section import pop_key
from neurocc.backends.targets import TargetSpec
from neurocc.compiler.errors import MappingError
from neurocc.compiler.graph import Graph, Population, Projection

GRADED_MODELS = ("egru", "integrator")
EGRU_PARAMS = ("bias_update", "bias_reset", "bias_candidate", "bias_candidate_recurrent",
               "c_threshold")
TABLE_KEY = "gate_table"  # section key of the sigmoid table (u0.32)


def is_graded(pop: Population) -> bool:
    return pop.model in GRADED_MODELS


def gain(pop: Population, dt_s: float) -> float | np.ndarray:
    """What one unit of graph weight (or bias) is in the core's input word."""
    return pop.params["r"] * dt_s if pop.model == "integrator" else 1.0


def _encode(value: np.ndarray, spec: TargetSpec, where: str) -> np.ndarray:
    raw = np.rint(np.asarray(value, dtype=np.float64) * 2.0 ** spec.fraction_bits)
    limit = 2.0 ** (spec.state_bits - 1)
    if raw.size and (raw.min() < -limit or raw.max() >= limit):
        raise MappingError(where, f"a value of {float(np.abs(value).max()):g} does not fit "
                           f"the s16.15 word.", "Rescale the model.")
    return raw.astype(np.int64)


def population_words(pop: Population, dt_s: float, spec: TargetSpec
                     ) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    """s16.15 parameters of an egru or integrator population, and its history record."""
    where = f"population '{pop.name}'"
    if pop.model == "egru":
        arrays = {k: _encode(pop.params[k], spec, where) for k in EGRU_PARAMS}
    else:
        arrays = {"bias": _encode(pop.params["bias"] * gain(pop, dt_s), spec, where)}
    return ({pop_key(pop.name, k): v for k, v in arrays.items()},
            {"model": pop.model, "reset": pop.reset, "payload": "s16.15"})


def check_targets(graph: Graph) -> None:
    """Packets start at spiking cores; graded events only go to cores that take payloads
    (egru, integrator)."""
    for proj in graph.projections.values():
        source, target = graph.populations[proj.source], graph.populations[proj.target]
        if not source.neuron_model.spiking:
            raise MappingError(f"projection '{proj.name}' ({proj.source} -> {proj.target})",
                               f"starts at the non-spiking '{source.model}' population "
                               f"'{proj.source}', which sends no packets.",
                               "End the network at the integrator (its v is the output).")
        if is_graded(source) and not is_graded(target):
            raise MappingError(f"projection '{proj.name}' ({proj.source} -> {proj.target})",
                               f"carries graded events of '{source.model}' into a "
                               f"'{target.model}' core, whose 16-bit ring buffers take no "
                               "payload.", f"End graded events at {list(GRADED_MODELS)}.")


def receptor_shifts(graph: Graph, name: str, weights: Mapping[str, np.ndarray],
                    spec: TargetSpec) -> list[int]:
    """Per receptor of ``name``: the smallest ``r >= 0`` with ``2**r > max |weight|``."""
    pop = graph.populations[name]
    found = []
    for receptor in pop.neuron_model.receptors:
        largest = max((float(np.abs(w).max(initial=0.0)) for p, w in weights.items()
                       if graph.projections[p].target == name
                       and graph.receptor_of(graph.projections[p]) == receptor), default=0.0)
        found.append(max(math.floor(math.log2(largest)) + 1, 0) if largest > 0 else 0)
    limit = spec.weight_bits - 1  # the word keeps at least its integer bits and a sign
    if max(found) > limit:
        raise MappingError(f"population '{name}'", f"needs a weight shift of {max(found)}, "
                           f"above {limit} (weight_bits - 1).", "Scale weights down.")
    return found


def word_fraction_bits(spec: TargetSpec, shift: int) -> int:
    """Fraction bits of a weight word of shift ``r``: ``weight_bits - 1 - r`` (15 - r for
    16-bit words); a product with an s16.15 payload is shifted right by as many."""
    return int(spec.weight_bits) - 1 - shift


def weight_words(proj: Projection, graph: Graph, shift: list[int], spec: TargetSpec
                 ) -> dict[str, np.ndarray]:
    """``post, pre, weight (signed word), type (receptor index), delay, stage`` of the
    nonzero synapses of a projection into a graded core."""
    post, pre, weight, delay = proj.coo()
    target = graph.populations[proj.target]
    receptor = target.neuron_model.receptors.index(graph.receptor_of(proj))
    scaled = weight * np.asarray(gain(target, graph.dt_s) * np.ones(target.size))[post]
    words = np.rint(scaled * 2.0 ** word_fraction_bits(spec, shift[receptor])).astype(np.int64)
    keep = words != 0  # a weight rounded to zero is no synapse (counted in the record)
    stage, residual = delays.split(proj.name, np.maximum(delay[keep], spec.delay_min_steps),
                                   spec)
    return {"post": post[keep], "pre": pre[keep], "weight": words[keep],
            "type": np.full(int(keep.sum()), receptor, dtype=np.int64), "delay": residual,
            "stage": stage}


def gate_table(spec: TargetSpec) -> np.ndarray:
    """The sigmoid table ``T[i] = round(sigmoid(i * 2**-k) * 2**32)`` (u0.32 words)."""
    k, top = int(spec.gate_table_step_bits), int(spec.gate_table_range)
    x = np.arange(top * 2 ** k + 1) / 2.0 ** k
    word = np.rint(2.0 ** spec.state_bits / (1.0 + np.exp(-x))).astype(np.int64)
    return np.minimum(word, 2 ** spec.state_bits - 1)

"""The keys of the ``spinnaker`` artifact section: one owner, so writer and engine agree.

Per non-input population ``P`` (s16.15 words unless noted):
``pop/P/v_leak``, ``pop/P/v_threshold`` (the chip compares V >= it; stored one step above
the graph's threshold, whose neurons fire on v > v_threshold), ``pop/P/v_subtract`` (what a
subtractive reset removes: the graph's threshold), ``pop/P/v_reset``, ``pop/P/bias``,
``pop/P/exp_tc`` (membrane decay, s16.15), ``pop/P/t_refract`` (refractory ticks, an
integer), ``pop/P/syn_decay`` and ``pop/P/syn_init``
(u0.32, shape (types, size); exponential synapses only).
Per projection ``J``: ``proj/J/post``, ``proj/J/pre``, ``proj/J/weight`` (unsigned, the
ring-buffer word), ``proj/J/type`` (0 excitatory, 1 inhibitory), ``proj/J/delay`` (ticks).
Per population ``P`` (input ones too), the mapping: ``map/P/core`` (each neuron's core, an
index into ``layout["cores"]``) and ``map/P/slot`` (its rank on that core; its routing key is
the core's base key plus the slot).
"""

from __future__ import annotations

SECTION = "spinnaker"
INPUT_MODEL = "input"  # the graph's input populations: spike sources, no parameters
SYNAPSE_TYPES = ("excitatory", "inhibitory")
POP_KEYS = ("v_leak", "v_threshold", "v_subtract", "v_reset", "bias", "exp_tc", "t_refract")
PROJ_KEYS = ("post", "pre", "weight", "type", "delay")
MAP_KEYS = ("core", "slot")


def pop_key(population: str, key: str) -> str:
    return f"pop/{population}/{key}"


def proj_key(projection: str, key: str) -> str:
    return f"proj/{projection}/{key}"


def map_key(population: str, key: str) -> str:
    return f"map/{population}/{key}"

"""The engine's sparse synapse blocks: pre-major CSR by hand, ring-buffer saturation at the
chip's 16-bit word, and the refusal of a signed word into a spiking core."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

import neurocc
from neurocc.backends import load_target
from neurocc.backends.artifact import Artifact
from neurocc.compiler.errors import SimulationError
from neurocc.compiler.graph import Graph, Population, Projection
from neurocc.sim.spinnaker.synapses import blocks_of

# pre, post, weight, type, delay, stage of six synapses; pre 2 -> post 1 twice (delay 1)
COO = {"pre": np.array([2, 0, 2, 1, 0, 2]), "post": np.array([1, 3, 1, 0, 2, 0]),
       "weight": np.array([5, 7, 6, 1, 2, 3]), "type": np.zeros(6, dtype=np.int64),
       "delay": np.array([1, 1, 1, 1, 2, 1]), "stage": np.zeros(6, dtype=np.int64)}


def rows(block: object, n_pre: int) -> list[list[tuple[int, int]]]:
    b = block
    return [[(int(b.post[j]), int(b.word[j])) for j in range(b.indptr[i], b.indptr[i + 1])]
            for i in range(n_pre)]


def test_blocks_are_pre_major_per_stage_delay_and_type() -> None:
    spiking = blocks_of(COO, 3, merge=False, where="test")
    assert [(b.stage, b.delay, b.kind) for b in spiking] == [(0, 1, 0), (0, 2, 0)]
    # delay 1: pre 0 -> 3 (7); pre 1 -> 0 (1); pre 2 -> 1 (5), 1 (6), 0 (3) in file order
    assert rows(spiking[0], 3) == [[(3, 7)], [(0, 1)], [(1, 5), (1, 6), (0, 3)]]
    assert rows(spiking[1], 3) == [[(2, 2)], [], []]
    assert spiking[0].count.tolist() == [1, 1, 3] and spiking[1].count.tolist() == [1, 0, 0]
    # graded targets round each (pre, post) product once: the duplicate's words are summed
    graded = blocks_of(COO, 3, merge=True, where="test")
    assert rows(graded[0], 3) == [[(3, 7)], [(0, 1)], [(0, 3), (1, 11)]]
    assert graded[0].count.tolist() == [1, 1, 3]  # synaptic events count both synapses


def if_graph(n_in: int) -> Graph:
    """``n_in`` inputs onto one IF neuron (no leak: V sums its inputs), never firing."""
    pops = {"in": Population("in", "input", (n_in,)),
            "n": Population("n", "if", (1,), {"v_threshold": 1e4}, "to_value")}
    proj = Projection("w", "in", "n", np.ones((1, n_in)), np.asarray(1))
    return Graph(1e-3, pops, {"w": proj}, ("in",), ("n",))


def with_words(art: Artifact, words: list[int]) -> Artifact:
    arrays = {**art.sections["spinnaker"], "proj/w/weight": np.array(words, dtype=np.int64)}
    return dataclasses.replace(art, sections={**art.sections, "spinnaker": arrays})


@pytest.mark.parametrize(("firing", "slot"), [(2, 60_000), (3, 2**16 - 1)])
def test_ring_buffer_slot_saturates_at_the_word_maximum(firing: int, slot: int) -> None:
    """Three words of 30000 onto one neuron: two sum to 60000; three saturate at 65535,
    sPyNNaker's 16-bit ring-buffer word (synapses.h saturates each add)."""
    art = neurocc.compile(if_graph(3), "spinnaker1")
    assert 2 ** int(load_target("spinnaker1").weight_bits) - 1 == 2**16 - 1
    art = with_words(art, [30_000] * 3)
    shift = int(art.layout["populations"]["n"]["shifts"][0])  # word -> s16.15: slot << r
    spikes = np.zeros((1, 3, 3), dtype=np.uint8)
    spikes[0, 0, :firing] = 1
    result = neurocc.simulate(art, spikes, engine="exact", record_states=True)
    # the slot of tick 0's spikes arrives at tick 1 (delay 1); V keeps it (no leak, no bias)
    assert result.states["v/n"][0, :, 0].tolist() == [0, slot << shift, slot << shift]


def test_a_signed_word_into_a_spiking_core_is_refused() -> None:
    art = with_words(neurocc.compile(if_graph(3), "spinnaker1"), [5, -5, 5])
    with pytest.raises(SimulationError, match=r"projection 'w' array 'weight'.*unsigned"):
        neurocc.simulate(art, np.zeros((1, 2, 3), dtype=np.uint8), engine="exact")

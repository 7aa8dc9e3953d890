"""Traffic-aware partitioning and placement with Mt-KaHyPar (a hypergraph partitioner).

SpiNNaker's routers replicate a multicast packet, so a spike of source neuron ``s`` costs one
delivery per *distinct* core that holds a target of ``s``: the multicast traffic is

    T = sum_s rate(s) * |{core(j) : j a target of s}|

which is the connectivity of a hypergraph with one hyperedge per source neuron (its targets as
pins, its rate as weight): the (lambda - 1) objective ``km1`` of hypergraph partitioners
(``shared/reference/spinnaker.md`` §5; T = km1 + the summed hyperedge weights). A core holds
neurons of one population, so T separates over target populations and each population is
partitioned on its own into ``ceil(size / cap)`` blocks of at most ``cap`` neurons (``cap``:
the mapping's per-core budget), with two families of hyperedges:

* incoming: per source neuron, its targets in the population (weight: its rate);
* outgoing, for the populations whose targets are already partitioned (step order, reversed):
  per destination core, the neurons of the population that reach it (weight: the mean rate of
  a full core), so that a core's neurons share destinations and its multicast tree stays small
  (the routers route per core, not per neuron).

Cores are then placed on the chips of a compact rectangle of the mesh by Mt-KaHyPar's mapping
mode: one hyperedge per source core (the core and its destination cores, weight: its rate)
mapped onto the chip grid, which minimises the summed Steiner trees, i.e. the spike-hops of the
multicast trees, with at most ``cores_per_chip`` cores per chip.

Determinism: Mt-KaHyPar's ``DETERMINISTIC`` preset on one thread with a fixed seed; blocks are
renumbered by their smallest member so the result does not depend on block labels.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

SEED = 0  # Mt-KaHyPar's random seed: fixed, so the same input gives the same partition
EPSILON = 0.03  # allowed imbalance; the hard limit is the per-block maximum weight below

_INITIALIZER: Any = None


def _mtk() -> Any:
    """Mt-KaHyPar's initializer, created once per process with one thread."""
    global _INITIALIZER
    import mtkahypar

    if _INITIALIZER is None:
        _INITIALIZER = mtkahypar.initialize(1, False)
    mtkahypar.set_seed(SEED)
    return _INITIALIZER


def _context(mtk: Any) -> Any:
    import mtkahypar

    context = mtk.context_from_preset(mtkahypar.PresetType.DETERMINISTIC)
    context.logging = False
    return context


def canonical(parts: np.ndarray) -> np.ndarray:
    """Blocks renumbered in order of their smallest member (labels carry no meaning)."""
    _, first = np.unique(parts, return_index=True)
    order = np.argsort(first, kind="stable")
    relabel = np.empty(order.size, dtype=np.int64)
    relabel[order] = np.arange(order.size)
    return relabel[np.searchsorted(np.unique(parts), parts)]


def repair(parts: np.ndarray, caps: Sequence[int]) -> np.ndarray:
    """Move members of blocks above their cap to blocks with room (highest ids first).

    Mt-KaHyPar meets the block weights in practice; this guarantees the hard budget."""
    parts = parts.copy()
    counts = np.bincount(parts, minlength=len(caps))
    for block in np.flatnonzero(counts > np.asarray(caps)):
        members = np.flatnonzero(parts == block)
        for member in members[::-1][:counts[block] - caps[block]]:
            room = np.flatnonzero(counts < np.asarray(caps))
            parts[member] = room[0]
            counts[room[0]] += 1
            counts[block] -= 1
    return parts


def split(size: int, cap: int, edges: list[list[int]], weights: list[int]) -> np.ndarray:
    """Per neuron, its block in ``0..ceil(size/cap)-1``: km1-minimal, at most ``cap`` each."""
    blocks = -(-size // cap)
    edges_kept = [(e, w) for e, w in zip(edges, weights, strict=True) if len(e) > 1]
    if blocks == 1:
        return np.zeros(size, dtype=np.int64)
    if not edges_kept:  # nothing to gain: contiguous slices
        return np.arange(size, dtype=np.int64) // cap
    import mtkahypar

    mtk = _mtk()
    context = _context(mtk)
    context.set_partitioning_parameters(blocks, EPSILON, mtkahypar.Objective.KM1)
    context.set_individual_target_block_weights([cap] * blocks)
    pins, hweights = [e for e, _ in edges_kept], [w for _, w in edges_kept]
    graph = mtk.create_hypergraph(context, size, len(pins), pins, [1] * size, hweights)
    parts = np.asarray(graph.partition(context).get_partition(), dtype=np.int64)
    return canonical(repair(parts, [cap] * blocks))


def chip_region(chips: int, chips_x: int, chips_y: int) -> list[tuple[int, int]]:
    """``chips`` chips of a near-square rectangle at the mesh origin, x-major."""
    width = min(chips_x, max(math.ceil(math.sqrt(chips)), -(-chips // chips_y)))
    height = -(-chips // width)
    return [(x, y) for y in range(height) for x in range(width)][:chips]


def place(n_cores: int, edges: list[list[int]], weights: list[int],
          region: list[tuple[int, int]], cores_per_chip: int) -> np.ndarray:
    """Per core, its chip's index in ``region``: summed Steiner trees (hops) minimal."""
    kept = [(e, w) for e, w in zip(edges, weights, strict=True) if len(e) > 1]
    if len(region) == 1:
        return np.zeros(n_cores, dtype=np.int64)
    if not kept:
        return np.arange(n_cores, dtype=np.int64) // cores_per_chip
    mtk = _mtk()
    context = _context(mtk)
    index = {chip: i for i, chip in enumerate(region)}
    links = [(index[c], index[(c[0] + dx, c[1] + dy)]) for c in region
             for dx, dy in ((1, 0), (0, 1)) if (c[0] + dx, c[1] + dy) in index]
    target = mtk.create_target_graph(context, len(region), len(links), links, [1] * len(links))
    context.set_mapping_parameters(len(region), EPSILON)
    context.set_individual_target_block_weights([cores_per_chip] * len(region))
    pins, hweights = [e for e, _ in kept], [w for _, w in kept]
    graph = mtk.create_hypergraph(context, n_cores, len(pins), pins, [1] * n_cores, hweights)
    chips = np.asarray(graph.map_onto_graph(target, context).get_partition(), dtype=np.int64)
    return repair(chips, [cores_per_chip] * len(region))

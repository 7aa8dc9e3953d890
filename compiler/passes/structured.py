"""Structured pruning: remove whole neurons, their rows and their columns.

Removing synapses (``prune.magnitude``) saves synaptic memory; removing
neurons is what frees cores on a many-core chip and rows/columns on a
crossbar. Two passes remove neurons of hidden populations (neither an input
nor an output, whose sizes are the model's interface and stay as they are):

- ``prune.activity``: neurons that are silent (mean spikes per step at most
  ``silent_rate``) or hyperactive (at least ``hyperactive_rate``) in a
  reference run on sample inputs ``data``. A silent neuron sends nothing on
  those inputs, so its removal changes no spike there; a hyperactive neuron
  fires regardless of the input and carries little information.
- ``prune.neurons``: the ``fraction`` of each hidden population with the
  lowest score ``s_i = ||W_out[:, i]||_1 * (mean count_i + 1/T)``, where
  ``W_out`` are the neuron's outgoing weights and, with ``data``, ``count_i``
  its mean spike count per sample (without ``data`` the score is the weight
  norm alone): a neuron that rarely fires or whose spikes weigh little.

With ``recalibrate`` (and ``data``), every spiking population's thresholds are then
re-calibrated so each remaining neuron's spike count on ``data`` returns to what it was
before the removal (``compiler/passes/activity.py``): the layers after a pruned one get back
the drive they lost.

A pruned population becomes flat (shape ``(n_kept,)``) and records the
original indices it kept in ``metadata["kept_neurons"]``; its parameter
arrays, the rows of its incoming and the columns of its outgoing projections
(and per-synapse delays) are cut to match.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import scipy.sparse as sp

from neurocc.compiler.errors import NeuroccError
from neurocc.compiler.graph import Graph, Population, Projection
from neurocc.compiler.passes import register_pass
from neurocc.compiler.passes.activity import (
    agreement,
    check_data,
    match_thresholds,
    spike_counts,
)


def hidden_populations(graph: Graph, text: str, owner: str) -> list[str]:
    """The populations named in ``text`` (default: every hidden spiking one), checked."""
    hidden = [n for n, p in graph.populations.items()
              if n not in graph.inputs and n not in graph.outputs and p.neuron_model.spiking]
    names = [n.strip() for n in text.split(",") if n.strip()] or hidden
    for name in names:
        if name not in hidden:
            why = ("is an input or an output, whose size the model's interface fixes"
                   if name in graph.inputs or name in graph.outputs
                   else "is not a hidden spiking population")
            raise NeuroccError(f"{owner}: option 'populations'", f"'{name}' {why}.",
                               f"Hidden spiking populations: {', '.join(hidden) or 'none'}.")
    return names


def _cut_projection(proj: Projection, rows: np.ndarray | None,
                    cols: np.ndarray | None) -> Projection:
    """``proj`` with only the post ``rows`` and pre ``cols`` kept (None: all)."""
    weight, delays = proj.weight, proj.delay_steps
    if proj.is_sparse:
        csr = sp.csr_array(weight)
        # slice the entry numbers (1..nnz) and take data and delays through them, so
        # weights and per-entry delays stay aligned whatever the slicing does
        index = sp.csr_array((np.arange(1, csr.nnz + 1, dtype=np.float64), csr.indices,
                              csr.indptr), shape=csr.shape)
        if rows is not None:
            index = sp.csr_array(index[rows])
        if cols is not None:
            index = sp.csr_array(index[:, cols])
        index.sort_indices()
        entry = index.data.astype(np.int64) - 1
        weight = sp.csr_array((csr.data[entry], index.indices, index.indptr), shape=index.shape)
        if delays.ndim:
            delays = delays[entry]
    else:
        dense = np.asarray(weight)
        full = delays.ndim > 0
        if rows is not None:
            dense, delays = dense[rows], delays[rows] if full else delays
        if cols is not None:
            dense, delays = dense[:, cols], delays[:, cols] if full else delays
        weight = dense
    return Projection(proj.name, proj.source, proj.target, weight, delays, proj.metadata,
                      proj.receptor)


def remove_neurons(graph: Graph, keep: Mapping[str, np.ndarray]) -> Graph:
    """``graph`` without the neurons where ``keep[name]`` (a bool mask) is False."""
    pops = dict(graph.populations)
    for name, mask in keep.items():
        pop = pops[name]
        if not mask.any():
            raise NeuroccError(f"population '{name}'", "would lose every neuron.",
                               "Prune a smaller share.")
        kept = np.flatnonzero(mask)
        before = pop.metadata.get("kept_neurons")
        original = kept if before is None else np.asarray(before)[kept]
        pops[name] = Population(name, pop.model, (int(kept.size),),
                                {k: v[kept] for k, v in pop.params.items()}, pop.reset,
                                {**pop.metadata, "kept_neurons": [int(i) for i in original],
                                 "shape_before_pruning": list(pop.metadata.get(
                                     "shape_before_pruning", pop.shape))})
    projs = {}
    for name, proj in graph.projections.items():
        rows = np.flatnonzero(keep[proj.target]) if proj.target in keep else None
        cols = np.flatnonzero(keep[proj.source]) if proj.source in keep else None
        projs[name] = proj if rows is None and cols is None else _cut_projection(proj, rows,
                                                                                 cols)
    return graph.replace(populations=pops, projections=projs)


def recalibrated(graph: Graph, result: Graph, keep: Mapping[str, np.ndarray],
                 data: np.ndarray) -> tuple[Graph, dict[str, float]]:
    """``result`` (``graph`` without the neurons ``keep`` drops) with every spiking
    population's thresholds matched to the counts its kept neurons had in ``graph``."""
    before = spike_counts(graph, data)
    wanted = {n: c[:, keep[n]] if n in keep else c for n, c in before.items()}
    names = [n for n in wanted if "v_threshold" in result.populations[n].params]
    found = {"agreement_pruned": agreement(spike_counts(result, data), wanted)}
    result, _ = match_thresholds(result, data, wanted, names)
    found["agreement_recalibrated"] = agreement(spike_counts(result, data), wanted)
    return result, found


def _summary(graph: Graph, result: Graph, names: list[str]) -> dict[str, Any]:
    synapses = [sum(p.synapse_count() for p in g.projections.values()) for g in (graph, result)]
    return {"neurons_before": {n: graph.populations[n].size for n in names},
            "neurons_after": {n: result.populations[n].size for n in names},
            "neurons_removed": sum(graph.populations[n].size - result.populations[n].size
                                   for n in names),
            "synapses_before": synapses[0], "synapses_after": synapses[1]}


@dataclass(frozen=True)
class ActivityOptions:
    """Options of ``prune.activity``."""

    data: np.ndarray | None = field(default=None, metadata={
        "help": "sample input spikes (batch, T, n_in), or an .npz file with an array 'spikes'"})
    silent_rate: float = field(default=0.0, metadata={
        "help": "remove neurons whose mean spikes per step is at most this"})
    hyperactive_rate: float = field(default=1.0, metadata={
        "help": "remove neurons whose mean spikes per step is at least this (1: never)"})
    populations: str = field(default="", metadata={
        "help": "comma-separated hidden populations (default: every hidden spiking one)"})
    recalibrate: bool = field(default=False, metadata={
        "help": "afterwards, match every spiking population's thresholds to its kept neurons' "
                "counts on data"})


@register_pass("prune.activity", ActivityOptions,
               "remove hidden neurons that are silent or hyperactive on sample inputs",
               provides=("pruned",))
def prune_activity(graph: Graph, options: ActivityOptions) -> tuple[Graph, dict[str, Any]]:
    owner = "pass 'prune.activity'"
    names = hidden_populations(graph, options.populations, owner)
    data = check_data(graph, options.data, owner)
    if options.hyperactive_rate <= options.silent_rate:
        raise NeuroccError(f"{owner}: option 'hyperactive_rate'", f"is {options.hyperactive_rate}"
                           f", not above silent_rate {options.silent_rate}.",
                           "Give silent_rate < hyperactive_rate (rates in spikes per step).")
    counts = spike_counts(graph, data)
    rates = {n: counts[n].sum(axis=0) / (data.shape[0] * data.shape[1]) for n in names}
    silent = {n: rates[n] <= options.silent_rate for n in names}
    busy = {n: rates[n] >= options.hyperactive_rate for n in names}
    keep = {n: ~(silent[n] | busy[n]) for n in names}
    result = remove_neurons(graph, keep)
    extra: dict[str, Any] = {}
    if options.recalibrate:
        result, extra = recalibrated(graph, result, keep, data)
    return result, {**_summary(graph, result, names), **extra,
                    "silent": {n: int(silent[n].sum()) for n in names},
                    "hyperactive": {n: int(busy[n].sum()) for n in names}}


@dataclass(frozen=True)
class NeuronOptions:
    """Options of ``prune.neurons``."""

    fraction: float = field(default=0.0, metadata={
        "help": "share of each hidden population's neurons to remove, 0..1 (lowest scores)"})
    data: np.ndarray | None = field(default=None, metadata={
        "help": "sample input spikes to weigh each neuron by its activity (optional)"})
    populations: str = field(default="", metadata={
        "help": "comma-separated hidden populations (default: every hidden spiking one)"})
    recalibrate: bool = field(default=False, metadata={
        "help": "afterwards, match every spiking population's thresholds to its kept neurons' "
                "counts on data (needs data)"})


def neuron_scores(graph: Graph, names: list[str], data: np.ndarray | None) -> dict[str, Any]:
    """``||W_out[:, i]||_1 * (mean count_i + 1/T)`` per neuron (the module docstring)."""
    counts = None if data is None else spike_counts(graph, data)
    scores = {}
    for name in names:
        norm = np.zeros(graph.populations[name].size)
        for proj in graph.outgoing(name):
            _, pre, w, _ = proj.coo()
            norm += np.bincount(pre, weights=np.abs(w), minlength=norm.size)
        if counts is not None and data is not None:
            norm = norm * (counts[name].mean(axis=0) + 1.0 / data.shape[1])
        scores[name] = norm
    return scores


@register_pass("prune.neurons", NeuronOptions,
               "remove the share of hidden neurons with the least outgoing weight (times "
               "activity with data); frees cores", provides=("pruned",))
def prune_neurons(graph: Graph, options: NeuronOptions) -> tuple[Graph, dict[str, Any]]:
    owner = "pass 'prune.neurons'"
    if not 0 <= options.fraction < 1:
        raise NeuroccError(f"{owner}: option 'fraction'", f"is {options.fraction}; expected "
                           "0 <= fraction < 1.", "Give the share of neurons to remove.")
    names = hidden_populations(graph, options.populations, owner)
    if options.recalibrate and options.data is None:
        raise NeuroccError(f"{owner}: option 'recalibrate'", "needs sample inputs in 'data'.",
                           "Give data=FILE.npz, or leave recalibrate out.")
    data = None if options.data is None else check_data(graph, options.data, owner)
    scores = neuron_scores(graph, names, data)
    keep = {}
    for name in names:
        drop = int(np.floor(options.fraction * scores[name].size))
        order = np.argsort(scores[name], kind="stable")  # ties: the lower index goes first
        mask = np.ones(scores[name].size, dtype=bool)
        mask[order[:drop]] = False
        keep[name] = mask
    if options.fraction == 0:
        return graph, _summary(graph, graph, names)
    result = remove_neurons(graph, keep)
    if options.recalibrate and data is not None:
        result, extra = recalibrated(graph, result, keep, data)
        return result, {**_summary(graph, result, names), **extra}
    return result, _summary(graph, result, names)

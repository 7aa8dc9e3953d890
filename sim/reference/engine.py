"""The stepping loop of the float reference engine (semantics: see the package docstring).

Before stepping, every projection is cut into :class:`SynapseGroup`s, one per
distinct delay, so that a step costs one matrix product per group; each group
knows the receptor of its target that it feeds. Each
source population keeps a ring buffer of its last ``max delay + 1`` spike
vectors (:class:`SpikeHistory`). A population with graded events (``egru``)
keeps the values its events carry in that buffer instead of 0/1, so every
projection delivers ``W @ value``; its 0/1 events are still what ``spikes``
records and counts.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
from tqdm import tqdm

from neurocc.backends.artifact import Artifact
from neurocc.compiler.errors import SimulationError
from neurocc.compiler.graph import Graph, Population, Projection
from neurocc.sim.reference.models import (
    MODEL_RULES,
    ModelRule,
    State,
    Synaptic,
    initial_state,
    step_population,
)
from neurocc.sim.result import SimResult

INPUT_MODEL = "input"
SYNAPTIC_TRACE = "I.{receptor}/{population}"  # states key of a recorded synaptic input
SPIKE_HINT = "Binarize first, for example (spikes > 0).astype(np.uint8)."


@dataclass(frozen=True, eq=False)
class SynapseGroup:
    """The synapses of one projection that share one delay."""

    source: str
    receptor: str  # the receptor of the target these synapses feed
    delay_steps: int
    weight: np.ndarray | sp.csr_array  # (target size, source size)
    fanout: np.ndarray  # (source size,): nonzero-weight synapses per source neuron, for synops
    graded: bool = False  # the source sends event values: count the nonzero ones as events


@dataclass(frozen=True, eq=False)
class PopulationPlan:
    """What the loop needs to step one population."""

    population: Population
    rule: ModelRule | None  # None: an input population, copied from the input array
    receptors: tuple[str, ...]  # the model's receptors, each summed even when nothing feeds it
    groups: tuple[SynapseGroup, ...]
    input_columns: slice  # where an input population's neurons sit in the input array
    value_trace: str = ""  # graded events: the states key of the values they carry


# -- synapses -----------------------------------------------------------------------------
def synapse_groups(proj: Projection, receptor: str, graded: bool = False
                   ) -> list[SynapseGroup]:
    """One group per distinct delay; a dense weight with one delay stays one dense matrix."""
    if not proj.is_sparse and proj.delay_steps.ndim == 0:
        weight: np.ndarray = np.asarray(proj.weight)
        fanout = np.count_nonzero(weight, axis=0)
        return [SynapseGroup(proj.source, receptor, int(proj.delay_steps), weight, fanout,
                             graded)]
    post, pre, w, delays = proj.coo()
    keep = w != 0  # zero synapses carry nothing and are not counted as synaptic events
    post, pre, w, delays = post[keep], pre[keep], w[keep], delays[keep]
    return [_sparse_group(proj, receptor, post[delays == d], pre[delays == d], w[delays == d],
                          int(d), graded) for d in np.unique(delays)]


def _sparse_group(proj: Projection, receptor: str, post: np.ndarray, pre: np.ndarray,
                  w: np.ndarray, delay_steps: int, graded: bool) -> SynapseGroup:
    weight = sp.csr_array((w, (post, pre)), shape=proj.shape)
    fanout = np.bincount(pre, minlength=proj.shape[1])
    return SynapseGroup(proj.source, receptor, delay_steps, weight, fanout, graded)


class SpikeHistory:
    """Ring buffers of the spikes each source population emitted in its last steps.

    A buffer holds ``max delay + 1`` slots, so slot ``(t - d) % depth`` is the
    spike vector of step ``t - d``; slots not yet written are zero, which makes
    spikes before step 0 zero. For a graded source a slot holds the values its
    events carried (0 where no event fired).
    """

    def __init__(self, depths: Mapping[str, int], sizes: Mapping[str, int], batch: int) -> None:
        self._rings = {name: np.zeros((depth, batch, sizes[name]))
                       for name, depth in depths.items()}

    def write(self, name: str, t: int, spikes: np.ndarray) -> None:
        ring = self._rings.get(name)
        if ring is not None:
            ring[t % len(ring)] = spikes

    def read(self, name: str, t: int, delay_steps: int) -> np.ndarray:
        ring = self._rings[name]
        return ring[(t - delay_steps) % len(ring)]


def _ring_depths(plans: list[PopulationPlan]) -> dict[str, int]:
    depths: dict[str, int] = {}
    for group in (g for plan in plans for g in plan.groups):
        depths[group.source] = max(depths.get(group.source, 0), group.delay_steps + 1)
    return depths


def synaptic_input(plan: PopulationPlan, t: int, history: SpikeHistory, batch: int
                   ) -> tuple[dict[str, np.ndarray], int]:
    """Per receptor ``sum_groups W @ s_src[t - delay]`` as (batch, size), without bias (the
    model rule adds it last), and the synaptic events. A graded source's ``s`` holds its
    event values; an event counts once whatever its value (a value of exactly 0 delivers
    nothing and is not counted)."""
    synaptic = {receptor: np.zeros((batch, plan.population.size)) for receptor in plan.receptors}
    synops = 0
    for group in plan.groups:
        spikes = history.read(group.source, t, group.delay_steps)
        if spikes.any():  # event-driven: a silent source costs no matrix product
            synaptic[group.receptor] += np.asarray(group.weight @ spikes.T).T
            events = (spikes != 0) if group.graded else spikes
            synops += int(events.sum(axis=0) @ group.fanout)
    return synaptic, synops


# -- inputs -----------------------------------------------------------------------------
def validate_spikes(graph: Graph, spikes: object) -> np.ndarray:
    """The input spikes as uint8 (batch, T, n_in), or a SimulationError saying what to pass."""
    expected = (f"a (batch, T, n_in) array with n_in = {graph.n_inputs}, the summed size of "
                f"the input populations {list(graph.inputs)}")
    try:
        array = np.asarray(spikes)
    except ValueError as exc:  # ragged nested lists
        raise SimulationError("input spikes", f"are not a rectangular array ({exc}); expected "
                              f"{expected}.", "Pad every sample to the same T.") from exc
    if array.dtype.kind not in "biuf":
        raise SimulationError("input spikes", f"have dtype {array.dtype}; expected {expected} "
                              "of 0/1 integers or booleans.", SPIKE_HINT)
    if array.ndim != 3 or array.shape[2] != graph.n_inputs:
        raise SimulationError("input spikes", f"have shape {array.shape}; expected {expected}.",
                              "For one sample add a batch axis with spikes[None]; order the "
                              "axes (batch, time, neuron).")
    return _binary(array)


def _binary(array: np.ndarray) -> np.ndarray:
    bad = array[~np.isin(array, (0, 1))]
    if bad.size:
        raise SimulationError("input spikes", f"hold the value {bad.flat[0]!r} ({bad.size} "
                              "entries are neither 0 nor 1); expected only 0 and 1.", SPIKE_HINT)
    return array.astype(np.uint8)


def _input_columns(graph: Graph) -> dict[str, slice]:
    sizes = [graph.populations[name].size for name in graph.inputs]
    starts = np.concatenate([[0], np.cumsum(sizes)]).tolist()
    return {name: slice(starts[i], starts[i + 1]) for i, name in enumerate(graph.inputs)}


# -- planning ---------------------------------------------------------------------------
def _rule(pop: Population) -> ModelRule | None:
    if pop.model == INPUT_MODEL:
        return None
    if pop.model not in MODEL_RULES:
        raise SimulationError(f"population '{pop.name}'", f"has neuron model '{pop.model}', "
                              "which the reference engine cannot update.",
                              f"It updates {sorted(MODEL_RULES)}; add a rule to "
                              "sim/reference/models.py.")
    return MODEL_RULES[pop.model]


def _check_source(graph: Graph, proj: Projection) -> None:
    source = graph.populations[proj.source]
    if not source.neuron_model.spiking:
        raise SimulationError(f"projection '{proj.name}' ({proj.source} -> {proj.target})",
                              f"starts at the non-spiking population '{proj.source}' "
                              f"(model '{source.model}'), which emits no spikes to deliver.",
                              "Make the source a spiking model, or end the network there.")


def plan_graph(graph: Graph) -> list[PopulationPlan]:
    """One plan per population, in ``graph.step_order()``."""
    for proj in graph.projections.values():
        _check_source(graph, proj)
    columns = _input_columns(graph)
    return [_plan(graph, graph.populations[name], columns.get(name, slice(0, 0)))
            for name in graph.step_order()]


def _plan(graph: Graph, pop: Population, input_columns: slice) -> PopulationPlan:
    groups = tuple(g for proj in graph.incoming(pop.name)
                   for g in synapse_groups(proj, graph.receptor_of(proj), _graded(graph, proj)))
    value = pop.neuron_model.event_value
    return PopulationPlan(pop, _rule(pop), pop.neuron_model.receptors, groups, input_columns,
                          f"{value}/{pop.name}" if value else "")


def _graded(graph: Graph, proj: Projection) -> bool:
    return bool(graph.populations[proj.source].neuron_model.event_value)


# -- recording --------------------------------------------------------------------------
def synaptic_trace(receptor: str, population: str) -> str:
    """The ``states`` key of the synaptic input a run records with ``record_synaptic``."""
    return SYNAPTIC_TRACE.format(receptor=receptor, population=population)


def _recorded_states(plan: PopulationPlan, record_states: bool) -> tuple[str, ...]:
    """State traces to keep: all when asked, and always ``v`` of non-spiking models."""
    if plan.rule is None:
        return ()
    names = plan.population.neuron_model.state or (("v",) if plan.rule.fire is None else ())
    return names if (record_states or plan.rule.fire is None) else ()


def _trace_keys(plan: PopulationPlan, record_states: bool, record_synaptic: bool) -> list[str]:
    name = plan.population.name
    synaptic = plan.receptors if record_synaptic and plan.rule is not None else ()
    values = [plan.value_trace] if plan.value_trace else []  # always: a graded output
    return ([f"{var}/{name}" for var in _recorded_states(plan, record_states)] + values
            + [synaptic_trace(receptor, name) for receptor in synaptic])


def _allocate(plans: list[PopulationPlan], record_states: bool, record_synaptic: bool,
              batch: int, n_steps: int) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    spikes = {p.population.name: np.zeros((batch, n_steps, p.population.size), np.uint8)
              for p in plans if p.population.neuron_model.spiking}
    states = {key: np.zeros((batch, n_steps, p.population.size))
              for p in plans for key in _trace_keys(p, record_states, record_synaptic)}
    return spikes, states


def _record(run: _Run, plan: PopulationPlan, t: int, spiked: np.ndarray | None,
            sent: np.ndarray | None) -> None:
    name = plan.population.name
    if spiked is not None:
        run.spikes[name][:, t] = spiked
    if plan.value_trace:
        run.traces[plan.value_trace][:, t] = sent
    for var, value in run.states[name].items():
        trace = run.traces.get(f"{var}/{name}")
        if trace is not None:
            trace[:, t] = value


# -- stepping ---------------------------------------------------------------------------
@dataclass(eq=False)
class _Run:
    """The mutable part of one run: neuron states, spike history, recordings, event count."""

    inputs: np.ndarray  # uint8 (batch, T, n_in)
    dt_s: float
    states: dict[str, State]
    history: SpikeHistory
    spikes: dict[str, np.ndarray]
    traces: dict[str, np.ndarray]
    synops: int = 0


def _start(graph: Graph, plans: list[PopulationPlan], inputs: np.ndarray,
           record_states: bool, record_synaptic: bool) -> _Run:
    batch, n_steps, _ = inputs.shape
    sizes = {name: pop.size for name, pop in graph.populations.items()}
    states = {p.population.name: initial_state(p.population.neuron_model.state, batch,
                                               p.population.size, p.rule) for p in plans}
    spikes, traces = _allocate(plans, record_states, record_synaptic, batch, n_steps)
    history = SpikeHistory(_ring_depths(plans), sizes, batch)
    return _Run(inputs, graph.dt_s, states, history, spikes, traces)


def _update(run: _Run, plan: PopulationPlan, t: int
            ) -> tuple[np.ndarray | None, np.ndarray | None]:
    """One population's new state (stored in ``run``), its spikes (None if non-spiking) and
    what its projections deliver (the spikes, or the values of graded events)."""
    pop = plan.population
    if plan.rule is None:
        spikes = run.inputs[:, t, plan.input_columns]
        return spikes, spikes
    synaptic, synops = synaptic_input(plan, t, run.history, run.inputs.shape[0])
    run.synops += synops
    _record_synaptic(run, pop.name, t, synaptic)
    run.states[pop.name], spiked, sent = step_population(
        plan.rule, pop.reset, run.states[pop.name], pop.params, synaptic, run.dt_s)
    return spiked, sent


def _record_synaptic(run: _Run, name: str, t: int, synaptic: Synaptic) -> None:
    for receptor, value in synaptic.items():
        trace = run.traces.get(synaptic_trace(receptor, name))
        if trace is not None:
            trace[:, t] = value


def _advance(run: _Run, plan: PopulationPlan, t: int) -> None:
    spiked, sent = _update(run, plan, t)
    if sent is not None:
        run.history.write(plan.population.name, t, sent)
    _record(run, plan, t, spiked, sent)


def _counters(plans: list[PopulationPlan], run: _Run) -> dict[str, float]:
    batch, n_steps, _ = run.inputs.shape
    neurons = [p.population for p in plans if p.rule is not None]
    emitted = sum(int(run.spikes[pop.name].sum(dtype=np.int64)) for pop in neurons
                  if pop.name in run.spikes)
    return {"synops": run.synops, "spikes": emitted,
            "input_spikes": int(run.inputs.sum(dtype=np.int64)),
            "neuron_updates": sum(pop.size for pop in neurons) * n_steps * batch,
            "steps": n_steps * batch}


def run_graph(graph: Graph, spikes: np.ndarray, *, record_states: bool = False,
              record_synaptic: bool = False, progress: bool = False) -> SimResult:
    """Run ``graph`` in float64 on a batch of input spikes ``(batch, T, n_in)``.

    Returns every spiking population's spikes, the traces of non-spiking
    populations (all state traces with ``record_states``; the synaptic input
    per receptor, ``I.<receptor>/<name>``, with ``record_synaptic``) and the
    counters ``synops``, ``spikes`` and ``neuron_updates``.
    """
    inputs = validate_spikes(graph, spikes)
    plans = plan_graph(graph)
    run = _start(graph, plans, inputs, record_states, record_synaptic)
    steps = range(inputs.shape[1])
    for t in tqdm(steps, desc="reference sim", unit="step", disable=not progress):
        for plan in plans:
            _advance(run, plan, t)
    return SimResult(run.spikes, graph.outputs, run.traces, _counters(plans, run),
                     latency_steps=0)


def run_artifact(artifact: Artifact, spikes: np.ndarray, *, record_states: bool = False,
                 progress: bool = False) -> SimResult:
    """The reference family's exact engine: its artifact holds the float graph itself."""
    return run_graph(artifact.graph, spikes, record_states=record_states, progress=progress)

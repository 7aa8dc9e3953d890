"""The stepping loop of the exact Loihi engine (semantics: the package docstring).

Schedule. Populations are grouped into strongly connected components of the
projection graph and run component by component in topological order, over
chunks of time steps. A projection that leaves a component is applied to a
whole chunk of its source's spikes at once (one large exact product); a
projection inside a component (recurrence) is applied step by step. Both add
their int32 contributions into the target's input window at ``t + 1 + delay``.
Since every projection delivers one step late, nothing within a step depends
on another population's same-step output, so this order reproduces Lava's
step-synchronous run exactly.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Protocol

import networkx as nx
import numpy as np
from tqdm import tqdm

from neurocc.backends.artifact import Artifact
from neurocc.backends.loihi.section import LifSpec, NetworkSpec, ProjectionSpec
from neurocc.sim.inputs import check_spikes as check_input
from neurocc.sim.loihi import fixed_point as fx
from neurocc.sim.loihi import kernels
from neurocc.sim.loihi.devices import on_device, torch_device
from neurocc.sim.loihi.network import read_network
from neurocc.sim.loihi.synapses import compile_projection
from neurocc.sim.result import SimResult

# Input windows hold batch x chunk x neurons int32: this many elements (64 MiB) at most
CHUNK_ELEMENTS = 1 << 24
COUNTER_NAMES = ("synops", "neuron_updates", "neuron_updates_active", "spikes", "input_spikes",
                 "spike_messages", "hops_eastwest", "hops_northsouth", "steps")


class _Projection(Protocol):
    """What the schedule needs of a projection: a CPU one or one on a PyTorch device."""

    @property
    def spec(self) -> ProjectionSpec: ...

    @property
    def synapses_per_pre(self) -> np.ndarray: ...

    def deliver(self, events: np.ndarray, t0: int, steps: int, window: np.ndarray,
                offset: int) -> None: ...


@dataclass(frozen=True, eq=False)
class _Component:
    """Populations updated together, with the projections into and within them."""

    members: tuple[str, ...]
    external: tuple[_Projection, ...]
    internal: tuple[_Projection, ...]


class _Lif:
    """Run-time state of one LIF population (int32 u, v) and its input window."""

    def __init__(self, spec: LifSpec, arith: fx.Arithmetic, batch: int, window_steps: int
                 ) -> None:
        # every number of the step, computed once: the loop only reads attributes
        self.arith = arith
        self.u_keep = arith.decay_unity - (spec.du + arith.du_offset)
        self.v_keep = arith.decay_unity - (spec.dv + arith.dv_offset)
        self.vth_scaled = spec.vth << arith.vth_shift_bits
        self.bias = fx.effective_bias(spec.bias_mant, spec.bias_exp)
        self.u = np.zeros((batch, spec.size), dtype=np.int32)
        self.v = np.zeros((batch, spec.size), dtype=np.int32)
        self.window = np.zeros((batch, window_steps, spec.size), dtype=np.int32)
        self.active_updates = 0
        # the kernel's numbers, in the order kernels.lif_steps reads them
        self.params = tuple(int(x) for x in (
            self.u_keep, self.v_keep, self.vth_scaled, arith.decay_shift_bits,
            arith.decay_round, arith.act_shift_bits, arith.u_max, arith.u_wrap, arith.v_min,
            arith.v_max))
        self.no_trace = np.zeros((batch, 0, 0), dtype=np.int32)

    def steps(self, index: int, spikes: np.ndarray, t0: int, n: int,
              u_trace: np.ndarray | None, v_trace: np.ndarray | None) -> None:
        """``n`` updates with the inputs from window ``index`` on, in one compiled call
        (``kernels.lif_steps``, equal to ``fixed_point.lif_step`` per step): spikes into
        ``spikes[:, t0:t0 + n]`` ((batch, T, size) uint8), u and v after each step into the
        traces given ((batch, T, size) int32)."""
        self.active_updates += kernels.lif_steps(
            self.u, self.v, self.window, index, self.params, self.bias, spikes, t0, n,
            self.no_trace if u_trace is None else u_trace,
            self.no_trace if v_trace is None else v_trace, u_trace is not None,
            v_trace is not None)

    def advance(self, steps: int) -> None:
        """Slide the window by ``steps``: pending input beyond the chunk moves to the front."""
        tail = self.window[:, steps:].copy()
        self.window[:] = 0
        self.window[:, : tail.shape[1]] = tail


def _components(net: NetworkSpec, compiled: Mapping[str, _Projection]) -> list[_Component]:
    graph = nx.DiGraph()
    graph.add_nodes_from(net.lifs)
    graph.add_edges_from((p.source, p.target) for p in net.projections.values()
                         if p.source in net.lifs)
    condensed = nx.condensation(graph)
    order = {name: i for i, name in enumerate(net.lifs)}
    components = []
    for node in nx.lexicographical_topological_sort(
            condensed, key=lambda n: min(order[m] for m in condensed.nodes[n]["members"])):
        members = tuple(sorted(condensed.nodes[node]["members"], key=order.__getitem__))
        inside = [c for c in compiled.values() if c.spec.target in members]
        components.append(_Component(
            members, tuple(c for c in inside if c.spec.source not in members),
            tuple(c for c in inside if c.spec.source in members)))
    return components


def _split_inputs(net: NetworkSpec, x: np.ndarray) -> dict[str, np.ndarray]:
    bounds = np.cumsum([0] + [net.populations[n].size for n in net.inputs])
    # C-ordered copies: the kernels read whole rows of them
    return {name: np.ascontiguousarray(x[:, :, bounds[i]:bounds[i + 1]])
            for i, name in enumerate(net.inputs)}


def _counters(net: NetworkSpec, spikes: dict[str, np.ndarray],
              compiled: Mapping[str, _Projection], lifs: dict[str, _Lif],
              batch: int, steps: int) -> dict[str, int]:
    per_neuron = {name: s.sum(axis=(0, 1), dtype=np.int64) for name, s in spikes.items()}
    pops = net.populations.values()
    active = sum(lif.active_updates for lif in lifs.values())
    total_updates = batch * steps * sum(spec.size for spec in net.lifs.values())
    return {
        "synops": int(sum(per_neuron[c.spec.source] @ c.synapses_per_pre
                          for c in compiled.values())),
        "neuron_updates": total_updates,
        "neuron_updates_active": active,
        "spikes": int(sum(per_neuron[p.name].sum() for p in pops if not p.is_input)),
        "input_spikes": int(sum(per_neuron[p.name].sum() for p in pops if p.is_input)),
        "spike_messages": int(sum(per_neuron[p.name] @ p.msg_per_spike for p in pops)),
        "hops_eastwest": int(sum(per_neuron[p.name] @ p.hops_ew_per_spike for p in pops)),
        "hops_northsouth": int(sum(per_neuron[p.name] @ p.hops_ns_per_spike for p in pops)),
        "steps": batch * steps,
    }


def _chunk_steps(net: NetworkSpec, batch: int, steps: int) -> int:
    widest = max((spec.size for spec in net.lifs.values()), default=1)
    return max(1, min(steps, CHUNK_ELEMENTS // (batch * widest)))


def run_artifact(artifact: Artifact, spikes: np.ndarray, *, record_states: bool = False,
                 progress: bool = False, device: str = "cpu") -> SimResult:
    """Run ``artifact`` bit-exactly as Lava's fixed_pt models on ``spikes`` (batch, T, n_in).

    Returns spikes of every population (uint8, (batch, T, size), on Lava's
    timeline), ``u/P`` and ``v/P`` (int64) when ``record_states``, and the
    event counters of docs/loihi-artifact.md. ``device`` (``devices.DEVICES``): where the
    synaptic products run; the results are the same on every device.
    """
    net = read_network(artifact)
    arith = fx.arithmetic_of(net.target)
    x = check_input(spikes, net.n_inputs)
    batch, steps, _ = x.shape
    where = torch_device(device)  # before the weights: a missing device fails fast
    compiled = on_device({name: compile_projection(spec, arith)
                          for name, spec in net.projections.items()}, where)
    chunk = _chunk_steps(net, batch, steps)
    lifs = {name: _Lif(spec, arith, batch, chunk + _max_delay_into(net, name) + 1)
            for name, spec in net.lifs.items()}
    out = {name: np.zeros((batch, steps, spec.size), dtype=np.uint8)
           for name, spec in net.lifs.items()}
    out.update(_split_inputs(net, x))
    silent = tuple(n for n in net.lifs if not artifact.graph.populations[n].neuron_model.spiking)
    states = _state_records(net, batch, steps, record_states, silent)
    components = _components(net, compiled)
    # a tqdm bar fixes the multiprocessing start method (it creates a lock): only on request
    bar = tqdm(total=steps, unit="step", desc="loihi") if progress else None
    for t0 in range(0, steps, chunk):
        t1 = min(steps, t0 + chunk)
        for component in components:
            _run_component(component, lifs, out, states, t0, t1)
        for lif in lifs.values():
            lif.advance(t1 - t0)
        if bar is not None:
            bar.update(t1 - t0)
    if bar is not None:
        bar.close()
    ordered = {name: out[name] for name in net.populations}
    return SimResult(ordered, net.outputs,
                     {key: value.astype(np.int64) for key, value in states.items()},
                     _counters(net, ordered, compiled, lifs, batch, steps), net.latency_steps,
                     value_outputs=silent)


def _max_delay_into(net: NetworkSpec, name: str) -> int:
    return max((p.max_delay for p in net.projections.values() if p.target == name), default=0)


def _state_records(net: NetworkSpec, batch: int, steps: int, record_states: bool,
                   silent: tuple[str, ...]) -> dict[str, np.ndarray]:
    """u and v of every LIF when asked; always v of the non-spiking populations (their output,
    as in the reference engine: integer v, ``pop/P/v_scale`` in the artifact converts it)."""
    wanted = [(var, name) for name in net.lifs for var in ("u", "v")
              if record_states or (var == "v" and name in silent)]
    return {f"{var}/{name}": np.zeros((batch, steps, net.lifs[name].size), dtype=np.int32)
            for var, name in wanted}


def _run_component(component: _Component, lifs: dict[str, _Lif], out: dict[str, np.ndarray],
                   states: dict[str, np.ndarray], t0: int, t1: int) -> None:
    """Steps t0..t1 of one component: the external input of the whole chunk first; then,
    without recurrence, each member's steps in one kernel call, else step by step."""
    for proj in component.external:
        proj.deliver(out[proj.spec.source], t0, t1 - t0, lifs[proj.spec.target].window, 0)
    if not component.internal:
        for name in component.members:
            _update(lifs[name], name, out, states, t0, t1)
        return
    for t in range(t0, t1):
        for name in component.members:
            _update(lifs[name], name, out, states, t, t + 1, t0)
        for proj in component.internal:
            proj.deliver(out[proj.spec.source], t, 1, lifs[proj.spec.target].window, t - t0)


def _update(lif: _Lif, name: str, out: dict[str, np.ndarray], states: dict[str, np.ndarray],
            t0: int, t1: int, chunk_start: int | None = None) -> None:
    """Steps t0..t1 of population ``name``, its window read from ``t0 - chunk_start``."""
    first = t0 - (t0 if chunk_start is None else chunk_start)
    lif.steps(first, out[name], t0, t1 - t0, states.get(f"u/{name}"), states.get(f"v/{name}"))

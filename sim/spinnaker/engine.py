"""The SpiNNaker tick, population by population (see the package docstring for the order)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from tqdm import tqdm

from neurocc.backends import target_of
from neurocc.backends.artifact import Artifact
from neurocc.backends.spinnaker.section import (
    POP_KEYS,
    SECTION,
    SYNAPSE_TYPES,
    map_key,
    pop_key,
    proj_key,
)
from neurocc.backends.targets import TargetSpec
from neurocc.sim.reference.engine import validate_spikes
from neurocc.sim.result import SimResult

N_TYPES = len(SYNAPSE_TYPES)


@dataclass(frozen=True)
class Arithmetic:
    """The word formats and rounding of one run, read from the artifact's target."""

    fraction_bits: int
    decay_bits: int
    state_bits: int
    slot_max: int
    nearest: bool

    @classmethod
    def of(cls, spec: TargetSpec, rounding: str) -> Arithmetic:
        return cls(int(spec.fraction_bits), int(spec.decay_bits), int(spec.state_bits),
                   2 ** int(spec.weight_bits) - 1, rounding == "nearest")

    def wrap(self, x: np.ndarray) -> np.ndarray:
        """Two's-complement wrap-around of a state_bits word (accum adds do not saturate)."""
        half = 1 << (self.state_bits - 1)
        return ((x + half) & ((half << 1) - 1)) - half

    def multiply(self, a: np.ndarray, b: np.ndarray, bits: int) -> np.ndarray:
        """``a * b >> bits``: floor (arithmetic shift) or round to nearest."""
        product = a * b
        if self.nearest:
            product = product + (1 << (bits - 1))
        return product >> bits


@dataclass
class Neurons:
    """One population's parameters and state: V, synaptic currents, ring buffers."""

    name: str
    params: Mapping[str, np.ndarray]
    shifts: np.ndarray  # (types,)
    leaky: bool
    exp_synapse: bool
    reset: str
    v: np.ndarray  # (batch, size)
    current: np.ndarray  # (batch, types, size)
    ring: np.ndarray  # (slots, batch, types, size)


@dataclass(frozen=True)
class Delivery:
    """One projection's words per (delay, type) as dense (pre, post) matrices."""

    source: str
    target: str
    blocks: dict[tuple[int, int], np.ndarray]
    fan_out: np.ndarray  # nonzero synapses per presynaptic neuron


@dataclass
class Run:
    """Everything one run reads and writes."""

    math: Arithmetic
    neurons: dict[str, Neurons]
    deliveries: list[Delivery]
    spikes: dict[str, np.ndarray]
    states: dict[str, np.ndarray]
    counters: dict[str, int] = field(default_factory=dict)


def _slots(deliveries: list[Delivery], name: str) -> int:
    """Ring-buffer slots: a power of two above the longest delay into ``name``."""
    delays = [d for dl in deliveries if dl.target == name for d, _ in dl.blocks]
    return 1 << int(max(delays, default=1)).bit_length()


def _delivery(artifact: Artifact, name: str, arrays: Mapping[str, np.ndarray]) -> Delivery:
    entry = artifact.layout["projections"][name]
    sizes = artifact.layout["populations"]
    n_pre, n_post = sizes[entry["source"]]["size"], sizes[entry["target"]]["size"]
    post, pre, weight, kind, delay = (arrays[proj_key(name, k)] for k in
                                      ("post", "pre", "weight", "type", "delay"))
    blocks = {}
    for d, k in sorted({(int(a), int(b)) for a, b in zip(delay, kind, strict=True)}):
        block = np.zeros((n_pre, n_post))
        pick = (delay == d) & (kind == k)
        np.add.at(block, (pre[pick], post[pick]), weight[pick])
        blocks[(d, k)] = block
    return Delivery(entry["source"], entry["target"], blocks,
                    np.bincount(pre, minlength=n_pre).astype(np.float64))


def _neurons(name: str, entry: Mapping[str, Any], arrays: Mapping[str, np.ndarray],
             batch: int, slots: int) -> Neurons:
    keys = [*POP_KEYS, "syn_decay", "syn_init"] if entry["synapse"] == "exp" else POP_KEYS
    params = {k: arrays[pop_key(name, k)] for k in keys}
    size = entry["size"]
    return Neurons(name, params, np.asarray(entry["shifts"], dtype=np.int64), entry["leaky"],
                   entry["synapse"] == "exp", entry["reset"],
                   np.zeros((batch, size), dtype=np.int64),
                   np.zeros((batch, N_TYPES, size), dtype=np.int64),
                   np.zeros((slots, batch, N_TYPES, size), dtype=np.int64))


def _transfer(run: Run, n: Neurons, t: int) -> np.ndarray:
    """Step 1: this tick's slot, shifted into s16.15; returns the input of a delta synapse."""
    slot = n.ring[t % n.ring.shape[0]]
    arrived = slot << n.shifts[None, :, None]
    slot[...] = 0
    if not n.exp_synapse:
        return arrived
    n.current = run.math.wrap(n.current + run.math.multiply(
        arrived, n.params["syn_init"][None], run.math.decay_bits))
    return n.current


def _membrane(run: Run, n: Neurons, synaptic: np.ndarray) -> None:
    """Step 2: the closed-form LIF update (or IF's plain sum) with the chip's rounding."""
    m = run.math
    drive = m.wrap(synaptic[:, 0] - synaptic[:, 1] + n.params["bias"][None])
    if not n.leaky:
        n.v = m.wrap(n.v + drive)
        return
    alpha = m.wrap(drive + n.params["v_leak"][None])
    n.v = m.wrap(alpha - m.multiply(n.params["exp_tc"][None], m.wrap(alpha - n.v),
                                    m.fraction_bits))


def _fire(n: Neurons) -> np.ndarray:
    """Step 3: threshold (V >= V_thresh, raw bits) and reset."""
    spiked = n.v >= n.params["v_threshold"][None]
    if n.reset == "to_value":
        n.v = np.where(spiked, n.params["v_reset"][None], n.v)
    elif n.reset == "subtract":
        n.v = n.v - spiked * n.params["v_subtract"][None]
    return spiked


def _tick(run: Run, n: Neurons, t: int) -> None:
    _membrane(run, n, _transfer(run, n, t))
    spiked = _fire(n)
    if n.exp_synapse:  # step 4: the decay comes after the neuron update
        n.current = run.math.multiply(n.current, n.params["syn_decay"][None],
                                      run.math.decay_bits)
    run.spikes[n.name][:, t] = spiked
    if f"v/{n.name}" in run.states:
        run.states[f"v/{n.name}"][:, t] = n.v


def _deliver(run: Run, t: int) -> None:
    """Every spike of tick t adds its words to slot t + delay, saturating."""
    for dl in run.deliveries:
        fired = run.spikes[dl.source][:, t].astype(np.float64)
        if not fired.any():
            continue
        run.counters["synops"] += int((fired @ dl.fan_out).sum())
        ring = run.neurons[dl.target].ring
        for (delay, kind), block in dl.blocks.items():
            slot = ring[(t + delay) % ring.shape[0]]
            slot[:, kind] = np.minimum(slot[:, kind] + (fired @ block).astype(np.int64),
                                       run.math.slot_max)


def _packets(run: Run, t: int, senders: Mapping[str, tuple[np.ndarray, np.ndarray]]) -> None:
    """One multicast packet per spike of a neuron with targets (routers replicate it), and
    the links of its core's multicast tree as hops."""
    for name, (mask, links) in senders.items():
        fired = run.spikes[name][:, t]
        run.counters["packets"] += int(fired[:, mask].sum())
        run.counters["packet_hops"] += int((fired.astype(np.int64) @ links).sum())


def _start(artifact: Artifact, spikes: np.ndarray, record_states: bool) -> Run:
    arrays = artifact.sections[SECTION]
    options = artifact.layout.get("options", {})
    deliveries = [_delivery(artifact, n, arrays) for n in artifact.layout["projections"]]
    batch, steps, _ = spikes.shape
    neurons = {name: _neurons(name, entry, arrays, batch, _slots(deliveries, name))
               for name, entry in artifact.layout["populations"].items() if not entry["input"]}
    all_spikes = {name: np.zeros((batch, steps, entry["size"]), dtype=np.uint8)
                  for name, entry in artifact.layout["populations"].items()}
    states = {f"v/{n}": np.zeros((batch, steps, nn.v.shape[1]), dtype=np.int64)
              for n, nn in neurons.items()} if record_states else {}
    math = Arithmetic.of(target_of(artifact), options.get("rounding", "floor"))
    return Run(math, neurons, deliveries, all_spikes, states,
               {"synops": 0, "packets": 0, "packet_hops": 0})


def _fill_inputs(run: Run, artifact: Artifact, spikes: np.ndarray) -> None:
    start = 0
    for name in artifact.graph.inputs:
        size = artifact.layout["populations"][name]["size"]
        run.spikes[name][...] = spikes[:, :, start:start + size]
        start += size


def _senders(run: Run, artifact: Artifact) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Per source population: which neurons send packets, and the tree links of each one's
    core (``layout["routing"]["tree_links"]`` through ``map/P/core``)."""
    fan: dict[str, np.ndarray] = {}
    for dl in run.deliveries:
        fan[dl.source] = fan.get(dl.source, 0) + dl.fan_out
    links = np.asarray(artifact.layout["routing"]["tree_links"], dtype=np.int64)
    arrays = artifact.sections[SECTION]
    return {name: (value > 0, np.where(value > 0, links[arrays[map_key(name, "core")]], 0))
            for name, value in fan.items()}


def _counters(run: Run, artifact: Artifact, spikes: np.ndarray) -> dict[str, int]:
    batch, steps, _ = spikes.shape
    neurons = sum(n.v.shape[1] for n in run.neurons.values())
    return {**run.counters, "spikes": sum(int(run.spikes[n].sum()) for n in run.neurons),
            "input_spikes": int(spikes.sum()), "neuron_updates": neurons * batch * steps,
            "steps": batch * steps}


def run_artifact(artifact: Artifact, spikes: np.ndarray, *, record_states: bool = False,
                 progress: bool = False) -> SimResult:
    """Run a SpiNNaker-family artifact on input spikes (batch, T, n_in), bit-exactly."""
    spikes = validate_spikes(artifact.graph, spikes)
    run = _start(artifact, spikes, record_states)
    _fill_inputs(run, artifact, spikes)
    senders = _senders(run, artifact)
    for t in tqdm(range(spikes.shape[1]), desc="spinnaker sim", unit="step",
                  disable=not progress):
        for n in run.neurons.values():
            _tick(run, n, t)
        _deliver(run, t)
        _packets(run, t, senders)
    return SimResult(run.spikes, tuple(artifact.graph.outputs), run.states,
                     _counters(run, artifact, spikes), int(artifact.layout["latency_steps"]))

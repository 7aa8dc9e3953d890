"""The SpiNNaker tick, population by population (see the package docstring for the order)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from tqdm import tqdm

from neurocc.backends import target_of
from neurocc.backends.artifact import Artifact
from neurocc.backends.spinnaker.delays import stage_masks
from neurocc.backends.spinnaker.graded import GRADED_MODELS as GRADED
from neurocc.backends.spinnaker.graded import TABLE_KEY
from neurocc.backends.spinnaker.quantize import word_shift
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
from neurocc.sim.spinnaker.graded import (
    Gates,
    GradedNeurons,
    deliver,
    tick_egru,
    tick_integrator,
)

N_TYPES = len(SYNAPSE_TYPES)
RANDOM_BITS = 32  # round.h draws one 32-bit word per rounded product


@dataclass
class Arithmetic:
    """The word formats and rounding of one run, read from the artifact's target.

    ``floor`` is the ARM ``smull`` then shift; ``nearest`` adds half an LSB first;
    ``stochastic`` is spinn_common's ``round.h``: with ``d`` the dropped low bits of a product
    shifted by ``n`` and ``p`` the top ``n`` bits of a fresh 32-bit random word, the result is
    rounded up when ``p < d`` (so with probability ``d / 2**n``). The chip draws from
    ``sark_rand``; here the words come from numpy's PCG64 seeded with ``rounding_seed``, so a
    run is reproducible for a seed (not the chip's own random sequence).
    """

    fraction_bits: int
    decay_bits: int
    state_bits: int
    slot_max: int
    rounding: str
    word_shift: int  # fraction_bits + 1 - weight_bits: 0 for sPyNNaker's 16-bit words
    rng: np.random.Generator | None = None

    @classmethod
    def of(cls, spec: TargetSpec, rounding: str, seed: int = 0) -> Arithmetic:
        rng = np.random.Generator(np.random.PCG64(seed)) if rounding == "stochastic" else None
        return cls(int(spec.fraction_bits), int(spec.decay_bits), int(spec.state_bits),
                   2 ** int(spec.weight_bits) - 1, rounding, word_shift(spec), rng)

    def wrap(self, x: np.ndarray) -> np.ndarray:
        """Two's-complement wrap-around of a state_bits word (accum adds do not saturate)."""
        half = 1 << (self.state_bits - 1)
        return ((x + half) & ((half << 1) - 1)) - half

    def multiply(self, a: np.ndarray, b: np.ndarray, bits: int) -> np.ndarray:
        """``a * b >> bits`` rounded by the run's mode (floor: arithmetic shift)."""
        product = a * b
        if self.rounding == "nearest":
            return (product + (1 << (bits - 1))) >> bits
        if self.rng is not None:
            dropped = product & ((1 << bits) - 1)
            draw = self.rng.integers(0, 1 << RANDOM_BITS, size=np.shape(product),
                                     dtype=np.int64) >> (RANDOM_BITS - bits)
            return (product >> bits) + (draw < dropped)
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
    start_tick: int  # the first tick the core updates (its latency offset)
    v: np.ndarray  # (batch, size)
    refract: np.ndarray  # (batch, size): ticks left frozen after a spike
    current: np.ndarray  # (batch, types, size)
    ring: np.ndarray  # (slots, batch, types, size)


@dataclass(frozen=True)
class Delivery:
    """One projection's words per (stage, on-core delay, type) as dense (pre, post) matrices."""

    source: str
    target: str
    blocks: dict[tuple[int, int, int], np.ndarray]
    fan_out: np.ndarray  # nonzero synapses per presynaptic neuron
    counts: dict[tuple[int, int, int], np.ndarray]  # per block: its synapses per pre neuron
    resent: dict[int, np.ndarray]  # stage -> source neurons the delay extension re-sends


@dataclass
class Run:
    """Everything one run reads and writes."""

    math: Arithmetic
    neurons: dict[str, Neurons]
    deliveries: list[Delivery]
    spikes: dict[str, np.ndarray]
    states: dict[str, np.ndarray]
    stage_steps: int  # D: the ticks of one delay-extension stage
    steps: int  # ticks in the run
    graded: dict[str, GradedNeurons] = field(default_factory=dict)
    gates: Gates | None = None
    values: dict[str, np.ndarray] = field(default_factory=dict)  # egru payloads (batch, T, n)
    counters: dict[str, int] = field(default_factory=dict)


def _slots(deliveries: list[Delivery], name: str) -> int:
    """Ring-buffer slots: a power of two above the longest on-core delay into ``name``."""
    delays = [d for dl in deliveries if dl.target == name for _, d, _ in dl.blocks]
    return 1 << int(max(delays, default=1)).bit_length()


def _delivery(artifact: Artifact, name: str, arrays: Mapping[str, np.ndarray]) -> Delivery:
    entry = artifact.layout["projections"][name]
    sizes = artifact.layout["populations"]
    n_pre, n_post = sizes[entry["source"]]["size"], sizes[entry["target"]]["size"]
    post, pre, weight, kind, delay, stage = (arrays[proj_key(name, k)] for k in
                                             ("post", "pre", "weight", "type", "delay",
                                              "stage"))
    blocks, counts = {}, {}
    for s, d, k in sorted({(int(a), int(b), int(c)) for a, b, c in zip(stage, delay, kind,
                                                                        strict=True)}):
        block = np.zeros((n_pre, n_post))
        pick = (stage == s) & (delay == d) & (kind == k)
        np.add.at(block, (pre[pick], post[pick]), weight[pick])
        blocks[(s, d, k)] = block
        counts[(s, d, k)] = np.bincount(pre[pick], minlength=n_pre).astype(np.float64)
    return Delivery(entry["source"], entry["target"], blocks,
                    np.bincount(pre, minlength=n_pre).astype(np.float64), counts,
                    stage_masks(n_pre, pre, stage))


def _neurons(name: str, entry: Mapping[str, Any], arrays: Mapping[str, np.ndarray],
             batch: int, slots: int) -> Neurons:
    keys = [*POP_KEYS, "syn_decay", "syn_init"] if entry["synapse"] == "exp" else POP_KEYS
    params = {k: arrays[pop_key(name, k)] for k in keys}
    size = entry["size"]
    return Neurons(name, params, np.asarray(entry["shifts"], dtype=np.int64), entry["leaky"],
                   entry["synapse"] == "exp", entry["reset"], int(entry.get("start_tick", 0)),
                   np.zeros((batch, size), dtype=np.int64),
                   np.zeros((batch, size), dtype=np.int64),
                   np.zeros((batch, N_TYPES, size), dtype=np.int64),
                   np.zeros((slots, batch, N_TYPES, size), dtype=np.int64))


def _transfer(run: Run, n: Neurons, t: int) -> np.ndarray:
    """Step 1: this tick's slot, shifted into s16.15; returns the input of a delta synapse."""
    slot = n.ring[t % n.ring.shape[0]]
    arrived = slot << (n.shifts[None, :, None] + run.math.word_shift)
    slot[...] = 0
    if not n.exp_synapse:
        return arrived
    n.current = run.math.wrap(n.current + run.math.multiply(
        arrived, n.params["syn_init"][None], run.math.decay_bits))
    return n.current


def _membrane(run: Run, n: Neurons, synaptic: np.ndarray) -> None:
    """Step 2: the closed-form LIF update (or IF's plain sum) with the chip's rounding; a
    refractory neuron keeps its V and counts its timer down instead."""
    m = run.math
    drive = m.wrap(synaptic[:, 0] - synaptic[:, 1] + n.params["bias"][None])
    if not n.leaky:
        v = m.wrap(n.v + drive)
    else:
        alpha = m.wrap(drive + n.params["v_leak"][None])
        v = m.wrap(alpha - m.multiply(n.params["exp_tc"][None], m.wrap(alpha - n.v),
                                      m.fraction_bits))
    frozen = n.refract > 0
    n.v = np.where(frozen, n.v, v)
    n.refract = n.refract - frozen


def _fire(n: Neurons) -> np.ndarray:
    """Step 3: threshold (V >= V_thresh, raw bits), reset, and the refractory timer."""
    spiked = n.v >= n.params["v_threshold"][None]
    if n.reset == "to_value":
        n.v = np.where(spiked, n.params["v_reset"][None], n.v)
    elif n.reset == "subtract":
        n.v = n.v - spiked * n.params["v_subtract"][None]
    n.refract = np.where(spiked, n.params["t_refract"][None], n.refract)
    return spiked


def _tick(run: Run, n: Neurons, t: int) -> None:
    if t < n.start_tick:  # not started: the slot is consumed, nothing integrates or fires
        n.ring[t % n.ring.shape[0]] = 0
        return
    _membrane(run, n, _transfer(run, n, t))
    spiked = _fire(n)
    if n.exp_synapse:  # step 4: the decay comes after the neuron update
        n.current = run.math.multiply(n.current, n.params["syn_decay"][None],
                                      run.math.decay_bits)
    run.spikes[n.name][:, t] = spiked
    if f"v/{n.name}" in run.states:
        run.states[f"v/{n.name}"][:, t] = n.v


def _deliver(run: Run, t: int) -> None:
    """Every spike of tick t adds its words to slot t + delay, saturating; a synapse of
    delay-extension stage s takes the spikes of tick t - s * D, which the extension re-sends
    now."""
    for dl in run.deliveries:
        graded = run.graded.get(dl.target)
        ring = graded.ring if graded is not None else run.neurons[dl.target].ring
        for (stage, delay, kind), block in dl.blocks.items():
            sent = t - stage * run.stage_steps
            if sent < 0:
                continue
            fired = (run.spikes[dl.source][:, sent] != 0).astype(np.float64)
            if t + delay < run.steps:  # synaptic events delivered within the run
                run.counters["synops"] += int((fired @ dl.counts[(stage, delay, kind)]).sum())
            if graded is not None:
                deliver(run.math, ring, graded.shifts, _payload(run, dl.source, sent),
                        t + delay, kind, block)
                continue
            if not fired.any():
                continue
            slot = ring[(t + delay) % ring.shape[0]]
            slot[:, kind] = np.minimum(slot[:, kind] + (fired @ block).astype(np.int64),
                                       run.math.slot_max)


def _payload(run: Run, source: str, t: int) -> np.ndarray:
    """What the packets of ``source`` at tick ``t`` carry: an egru's s16.15 values, or 1.0
    (``2**fraction_bits``) per 0/1 spike."""
    if source in run.values:
        return run.values[source][:, t]
    return run.spikes[source][:, t].astype(np.int64) << run.math.fraction_bits


def _packets(run: Run, t: int, senders: Mapping[str, np.ndarray]) -> int:
    """One multicast packet per spike of a neuron with targets (routers replicate it), and
    one per re-sent spike of a delay-extension stage."""
    sent = sum(int(run.spikes[name][:, t][:, mask].sum()) for name, mask in senders.items())
    resent: dict[tuple[str, int], np.ndarray] = {}
    for dl in run.deliveries:
        for stage, mask in dl.resent.items():
            key = (dl.source, stage)
            resent[key] = resent[key] | mask if key in resent else mask
    for (source, stage), mask in resent.items():
        tick = t - stage * run.stage_steps
        if tick >= 0:
            sent += int(run.spikes[source][:, tick][:, mask].sum())
    return sent


def _hops(run: Run, t: int, links: Mapping[str, np.ndarray]) -> int:
    """Per spike of a sender, the links of its core's multicast tree (``packet_hops``)."""
    return sum(int((run.spikes[name][:, t].astype(np.int64) @ per).sum())
               for name, per in links.items())


def _start(artifact: Artifact, spikes: np.ndarray, record_states: bool) -> Run:
    arrays = artifact.sections[SECTION]
    options = artifact.layout.get("options", {})
    deliveries = [_delivery(artifact, n, arrays) for n in artifact.layout["projections"]]
    batch, steps, _ = spikes.shape
    populations = artifact.layout["populations"]
    neurons = {name: _neurons(name, entry, arrays, batch, _slots(deliveries, name))
               for name, entry in populations.items()
               if not entry["input"] and entry.get("kind", "lif") == "lif"}
    spec = target_of(artifact)
    graded = {name: _graded(name, entry, arrays, batch, _slots(deliveries, name),
                            int(spec.weight_bits))
              for name, entry in populations.items() if entry.get("kind", "lif") in GRADED}
    all_spikes = {name: np.zeros((batch, steps, entry["size"]), dtype=np.uint8)
                  for name, entry in populations.items() if entry.get("kind") != "integrator"}
    states = {f"v/{n}": np.zeros((batch, steps, nn.v.shape[1]), dtype=np.int64)
              for n, nn in neurons.items()} if record_states else {}
    for name, g in graded.items():  # an egru's values and an integrator's v are its output
        trace = "y" if g.kind == "egru" else "v"
        states[f"{trace}/{name}"] = np.zeros((batch, steps, g.state.shape[1]), dtype=np.int64)
        if record_states and g.kind == "egru":
            states[f"c/{name}"] = np.zeros_like(states[f"{trace}/{name}"])
    math = Arithmetic.of(spec, options.get("rounding", "floor"),
                         int(options.get("rounding_seed", 0)))
    gates = (Gates(arrays[TABLE_KEY], int(spec.gate_table_step_bits), int(spec.fraction_bits),
                   int(spec.state_bits)) if TABLE_KEY in arrays else None)
    values = {name: states[f"y/{name}"] for name, g in graded.items() if g.kind == "egru"}
    return Run(math, neurons, deliveries, all_spikes, states,
               int(artifact.layout["delay_stage_steps"]), steps, graded, gates, values,
               {"synops": 0, "packets": 0, "payload_packets": 0, "packet_hops": 0})


def _graded(name: str, entry: Mapping[str, Any], arrays: Mapping[str, np.ndarray],
            batch: int, slots: int, word_bits: int) -> GradedNeurons:
    prefix = pop_key(name, "")
    params = {k[len(prefix):]: v for k, v in arrays.items() if k.startswith(prefix)}
    shifts = word_bits - 1 - np.asarray(entry["shifts"], dtype=np.int64)
    size = entry["size"]
    return GradedNeurons(name, entry["kind"], params, shifts, int(entry.get("start_tick", 0)),
                         np.zeros((batch, size), dtype=np.int64),
                         np.zeros((slots, batch, shifts.size, size), dtype=np.int64))


def _tick_graded(run: Run, n: GradedNeurons, t: int) -> None:
    """Take this tick's input words, zero the slot, step the egru or integrator."""
    slot = n.ring[t % n.ring.shape[0]]
    words = slot.copy()
    slot[...] = 0
    if t < n.start_tick:  # not started: nothing integrates or fires
        return
    if n.kind == "integrator":
        tick_integrator(run.math, n, words)
        run.states[f"v/{n.name}"][:, t] = n.state
        return
    assert run.gates is not None  # compile stores the table with every egru population
    fired, y = tick_egru(run.math, run.gates, n, words)
    run.spikes[n.name][:, t] = fired
    run.values[n.name][:, t] = y
    if f"c/{n.name}" in run.states:
        run.states[f"c/{n.name}"][:, t] = n.state


def _fill_inputs(run: Run, artifact: Artifact, spikes: np.ndarray) -> None:
    start = 0
    for name in artifact.graph.inputs:
        size = artifact.layout["populations"][name]["size"]
        run.spikes[name][...] = spikes[:, :, start:start + size]
        start += size


def _senders(run: Run) -> dict[str, np.ndarray]:
    fan: dict[str, np.ndarray] = {}
    for dl in run.deliveries:
        fan[dl.source] = fan.get(dl.source, 0) + dl.fan_out
    return {name: value > 0 for name, value in fan.items()}


def _tree_links(artifact: Artifact, senders: Mapping[str, np.ndarray]
                ) -> dict[str, np.ndarray]:
    """Per sender population, each sending neuron's core's tree links
    (``layout["routing"]["tree_links"]`` through ``map/P/core``), 0 for the others."""
    links = np.asarray(artifact.layout["routing"]["tree_links"], dtype=np.int64)
    arrays = artifact.sections[SECTION]
    return {name: np.where(mask, links[arrays[map_key(name, "core")]], 0)
            for name, mask in senders.items()}


def _counters(run: Run, artifact: Artifact, spikes: np.ndarray) -> dict[str, int]:
    batch, steps, _ = spikes.shape
    neurons = (sum(n.v.shape[1] for n in run.neurons.values())
               + sum(n.state.shape[1] for n in run.graded.values()))
    spiking = [*run.neurons, *(n for n, g in run.graded.items() if g.kind == "egru")]
    return {**run.counters, "spikes": sum(int(run.spikes[n].sum()) for n in spiking),
            "input_spikes": int(spikes.sum()), "neuron_updates": neurons * batch * steps,
            "steps": batch * steps}


def run_artifact(artifact: Artifact, spikes: np.ndarray, *, record_states: bool = False,
                 progress: bool = False) -> SimResult:
    """Run a SpiNNaker-family artifact on input spikes (batch, T, n_in), bit-exactly."""
    spikes = validate_spikes(artifact.graph, spikes)
    run = _start(artifact, spikes, record_states)
    _fill_inputs(run, artifact, spikes)
    senders = _senders(run)
    links = _tree_links(artifact, senders)
    for t in tqdm(range(spikes.shape[1]), desc="spinnaker sim", unit="step",
                  disable=not progress):
        for n in run.neurons.values():
            _tick(run, n, t)
        for g in run.graded.values():
            _tick_graded(run, g, t)
        _deliver(run, t)
        run.counters["packets"] += _packets(run, t, senders)
        run.counters["payload_packets"] += _packets(run, t, {
            k: v for k, v in senders.items() if k in run.values})
        run.counters["packet_hops"] += _hops(run, t, links)
    return SimResult(run.spikes, tuple(artifact.graph.outputs), run.states,
                     _counters(run, artifact, spikes), int(artifact.layout["latency_steps"]))

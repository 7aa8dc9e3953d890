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
from neurocc.sim.spinnaker.lif import NO_RESET, RESETS, lif_tick
from neurocc.sim.spinnaker.synapses import (
    ROUNDING_MODES,
    Block,
    blocks_of,
    deliver_spikes,
    no_draws,
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

    @property
    def mode(self) -> int:
        """The rounding mode as the compiled kernels take it."""
        return ROUNDING_MODES.get(self.rounding, ROUNDING_MODES["floor"])

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
            return (product >> bits) + (self.draws(np.shape(product), bits) < dropped)
        return product >> bits

    def draws(self, shape: tuple[int, ...], bits: int) -> np.ndarray:
        """The next random words of the stochastic mode, shifted to their top ``bits``."""
        assert self.rng is not None
        return self.rng.integers(0, 1 << RANDOM_BITS, size=shape,
                                 dtype=np.int64) >> (RANDOM_BITS - bits)


@dataclass
class Neurons:
    """One population's parameters and state: V, synaptic currents, ring buffers."""

    name: str
    params: np.ndarray  # (len(POP_KEYS), size), rows in POP_KEYS order
    synapse: np.ndarray  # (2, types, size): syn_init, syn_decay (exponential synapses)
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
    """One projection's synapses as pre-major blocks, one per (stage, on-core delay, type)."""

    source: str
    target: str
    blocks: list[Block]
    fan_out: np.ndarray  # nonzero synapses per presynaptic neuron
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
    delays = [b.delay for dl in deliveries if dl.target == name for b in dl.blocks]
    return 1 << int(max(delays, default=1)).bit_length()


def _delivery(artifact: Artifact, name: str, arrays: Mapping[str, np.ndarray]) -> Delivery:
    entry = artifact.layout["projections"][name]
    sizes = artifact.layout["populations"]
    n_pre = sizes[entry["source"]]["size"]
    coo = {k: arrays[proj_key(name, k)] for k in ("post", "pre", "weight", "type", "delay",
                                                  "stage")}
    graded = sizes[entry["target"]].get("kind", "lif") in GRADED
    blocks = blocks_of(coo, n_pre, merge=graded, where=f"projection '{name}'")
    pre = coo["pre"]
    return Delivery(entry["source"], entry["target"], blocks,
                    np.bincount(pre, minlength=n_pre), stage_masks(n_pre, pre, coo["stage"]))


def _neurons(name: str, entry: Mapping[str, Any], arrays: Mapping[str, np.ndarray],
             batch: int, slots: int, slot_max: int) -> Neurons:
    size = entry["size"]
    params = np.stack([np.asarray(arrays[pop_key(name, k)], dtype=np.int64) for k in POP_KEYS])
    exp_synapse = entry["synapse"] == "exp"
    synapse = (np.stack([np.asarray(arrays[pop_key(name, k)], dtype=np.int64)
                         for k in ("syn_init", "syn_decay")]) if exp_synapse
               else np.zeros((2, N_TYPES, size), dtype=np.int64))
    return Neurons(name, params, synapse, np.asarray(entry["shifts"], dtype=np.int64),
                   entry["leaky"], exp_synapse, entry["reset"], int(entry.get("start_tick", 0)),
                   np.zeros((batch, size), dtype=np.int64),
                   np.zeros((batch, size), dtype=np.int64),
                   np.zeros((batch, N_TYPES, size), dtype=np.int64),
                   np.zeros((slots, batch, N_TYPES, size), dtype=_word_type(slot_max)))


def _word_type(slot_max: int) -> type[np.signedinteger[Any]]:
    """The narrowest of int32 / int64 that holds a ring-buffer slot (at most ``slot_max``):
    half the memory traffic of the delivery's random adds."""
    return np.int32 if slot_max <= np.iinfo(np.int32).max else np.int64


def _tick(run: Run, n: Neurons, t: int) -> None:
    """Steps 1-4 of one population (``lif.lif_tick``); a core before its start tick only
    consumes its slot."""
    slot = n.ring[t % n.ring.shape[0]]
    if t < n.start_tick:  # not started: the slot is consumed, nothing integrates or fires
        slot[...] = 0
        return
    m = run.math
    draws_in = draws_decay = no_draws(n.current.ndim)
    draws_tc = no_draws(n.v.ndim)
    if m.rng is not None:  # the products' order: transfer, membrane, decay
        if n.exp_synapse:
            draws_in = m.draws(n.current.shape, m.decay_bits)
        if n.leaky:
            draws_tc = m.draws(n.v.shape, m.fraction_bits)
        if n.exp_synapse:
            draws_decay = m.draws(n.current.shape, m.decay_bits)
    lif_tick(n.v, n.refract, n.current, slot, n.shifts + m.word_shift, n.params, n.synapse,
             n.leaky, n.exp_synapse, RESETS.get(n.reset, NO_RESET), m.mode, m.fraction_bits,
             m.decay_bits, m.state_bits, draws_in, draws_tc, draws_decay,
             run.spikes[n.name][:, t])
    if f"v/{n.name}" in run.states:
        run.states[f"v/{n.name}"][:, t] = n.v


def _deliver(run: Run, t: int) -> None:
    """Every spike of tick t adds its synapses' words to slot t + delay, saturating; a
    synapse of delay-extension stage s takes the spikes of tick t - s * D, which the
    extension re-sends now. Only the synapses of neurons that fired are touched."""
    fired: dict[tuple[str, int], tuple[np.ndarray, ...]] = {}
    for dl in run.deliveries:
        graded = run.graded.get(dl.target)
        ring = graded.ring if graded is not None else run.neurons[dl.target].ring
        for block in dl.blocks:
            sent = t - block.stage * run.stage_steps
            if sent < 0:
                continue
            if (dl.source, sent) not in fired:
                fired[(dl.source, sent)] = np.nonzero(run.spikes[dl.source][:, sent])
            batch, pre = fired[(dl.source, sent)]
            if not pre.size:  # no spike, no payload: nothing to deliver or count
                continue
            within = t + block.delay < run.steps  # synaptic events delivered within the run
            if graded is not None:
                run.counters["synops"] += int(block.count[pre].sum()) if within else 0
                deliver(run.math, ring, graded.shifts, _payload(run, dl.source, sent),
                        t + block.delay, block)
                continue
            run.counters["synops"] += deliver_spikes(
                batch, pre, block.indptr, block.post, block.word, block.count,
                ring[(t + block.delay) % ring.shape[0]], block.kind, run.math.slot_max, within)


def _payload(run: Run, source: str, t: int) -> np.ndarray:
    """What the packets of ``source`` at tick ``t`` carry: an egru's s16.15 values, or 1.0
    (``2**fraction_bits``) per 0/1 spike."""
    if source in run.values:
        return run.values[source][:, t]
    return run.spikes[source][:, t].astype(np.int64) << run.math.fraction_bits


def _spike_counts(run: Run, name: str, ticks: int) -> np.ndarray:
    """Per neuron of ``name``: its spikes over the batch in ticks ``0 .. ticks - 1``."""
    return np.add.reduce(run.spikes[name][:, :max(ticks, 0)], axis=(0, 1), dtype=np.int64)


def _packets(run: Run, senders: Mapping[str, np.ndarray]) -> int:
    """Over the run: one multicast packet per spike of a neuron with targets (routers
    replicate it), and one per re-sent spike of a delay-extension stage (a spike of tick
    ``t`` is re-sent at stage ``s`` when ``t + s * D`` is within the run). As the per-tick
    count always did, the re-sent packets of every source are counted, whatever
    ``senders`` holds."""
    sent = sum(int(_spike_counts(run, name, run.steps)[mask].sum())
               for name, mask in senders.items())
    resent: dict[tuple[str, int], np.ndarray] = {}
    for dl in run.deliveries:
        for stage, mask in dl.resent.items():
            key = (dl.source, stage)
            resent[key] = resent[key] | mask if key in resent else mask
    for (source, stage), mask in resent.items():
        sent += int(_spike_counts(run, source, run.steps - stage * run.stage_steps)[mask].sum())
    return sent


def _hops(run: Run, links: Mapping[str, np.ndarray]) -> int:
    """Per spike of a sender, the links of its core's multicast tree (``packet_hops``)."""
    return sum(int(_spike_counts(run, name, run.steps) @ per) for name, per in links.items())


def _start(artifact: Artifact, spikes: np.ndarray, record_states: bool) -> Run:
    arrays = artifact.sections[SECTION]
    options = artifact.layout.get("options", {})
    deliveries = [_delivery(artifact, n, arrays) for n in artifact.layout["projections"]]
    batch, steps, _ = spikes.shape
    populations = artifact.layout["populations"]
    spec = target_of(artifact)
    math = Arithmetic.of(spec, options.get("rounding", "floor"),
                         int(options.get("rounding_seed", 0)))
    neurons = {name: _neurons(name, entry, arrays, batch, _slots(deliveries, name),
                              math.slot_max)
               for name, entry in populations.items()
               if not entry["input"] and entry.get("kind", "lif") == "lif"}
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


def _steps(run: Run, progress: bool) -> None:
    """The ticks: every population's update, then the deliveries of this tick's spikes."""
    for t in tqdm(range(run.steps), desc="spinnaker sim", unit="step", disable=not progress):
        for n in run.neurons.values():
            _tick(run, n, t)
        for g in run.graded.values():
            _tick_graded(run, g, t)
        _deliver(run, t)


def run_artifact(artifact: Artifact, spikes: np.ndarray, *, record_states: bool = False,
                 progress: bool = False) -> SimResult:
    """Run a SpiNNaker-family artifact on input spikes (batch, T, n_in), bit-exactly."""
    spikes = validate_spikes(artifact.graph, spikes)
    run = _start(artifact, spikes, record_states)
    _fill_inputs(run, artifact, spikes)
    _steps(run, progress)
    senders = _senders(run)
    run.counters["packets"] = _packets(run, senders)
    run.counters["payload_packets"] = _packets(run, {k: v for k, v in senders.items()
                                                     if k in run.values})
    run.counters["packet_hops"] = _hops(run, _tree_links(artifact, senders))
    return SimResult(run.spikes, tuple(artifact.graph.outputs), run.states,
                     _counters(run, artifact, spikes), int(artifact.layout["latency_steps"]))

"""The stepping loop of the analog crossbar engine (semantics: see the package docstring)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from tqdm import tqdm

from neurocc.backends import target_of
from neurocc.backends.artifact import Artifact
from neurocc.backends.crossbar.options import CrossbarEngineOptions
from neurocc.backends.crossbar.section import INPUT_MODEL, SECTION, tile_key
from neurocc.compiler.errors import SimulationError
from neurocc.compiler.graph import Graph
from neurocc.sim.crossbar.arrays import Periphery, Programmed, program_tile, read_tile
from neurocc.sim.crossbar.devices import Device
from neurocc.sim.reference.engine import SpikeHistory, validate_spikes
from neurocc.sim.reference.models import MODEL_RULES, initial_state, step_population
from neurocc.sim.result import SimResult

COUNTER_NAMES = ("array_reads", "tiles_skipped", "conversions", "adc_clips", "dac_drives",
                 "cell_reads", "synops")


@dataclass
class Run:
    """Everything one run reads and writes."""

    graph: Graph
    device: Device
    periphery: Periphery
    options: CrossbarEngineOptions
    tiles: dict[str, list[Programmed]]  # by target population
    history: SpikeHistory
    states: dict[str, dict[str, np.ndarray]]
    spikes: dict[str, np.ndarray]
    traces: dict[str, np.ndarray]
    counters: dict[str, int] = field(default_factory=lambda: dict.fromkeys(COUNTER_NAMES, 0))


def program(artifact: Artifact, options: CrossbarEngineOptions, progress: bool = False
            ) -> tuple[dict[str, list[Programmed]], Device, Periphery]:
    """Every array programmed once from the artifact's digits and the device seed."""
    spec = target_of(artifact)
    device, periphery = Device.of(spec), Periphery.of(spec)
    tiles: dict[str, list[Programmed]] = {}
    arrays = artifact.sections[SECTION]
    entries = artifact.layout["tiles"]
    for index, entry in enumerate(tqdm(entries, desc="crossbar programming", unit="array",
                                       disable=not progress)):
        tile = program_tile(index, entry, arrays[tile_key(index)], spec, device, periphery,
                            options)
        tiles.setdefault(entry["target"], []).append(tile)
    return tiles, device, periphery


def _read(run: Run, tile: Programmed, t: int, batch: int, out: dict[str, np.ndarray]) -> None:
    """One array read for every sample with an active input row; the others are skipped."""
    entry = tile.entry
    lo, hi = entry["rows"]
    x = run.history.read(entry["source"], t, int(entry["delay_steps"]))[:, lo:hi]
    active = np.flatnonzero(x.any(axis=1))
    run.counters["tiles_skipped"] += batch - active.size
    if active.size == 0:
        return
    xa = x[active]
    slices, _, outs = tile.shape
    nonzero = int(np.count_nonzero(xa))
    c = run.counters
    c["array_reads"] += active.size
    c["dac_drives"] += nonzero
    c["conversions"] += active.size * slices * outs
    c["cell_reads"] += nonzero * 2 * slices * outs
    c["synops"] += int(np.count_nonzero(xa, axis=0) @ tile.fanout)
    t_s = run.options.t_start_s + t * run.graph.dt_s
    y, clipped = read_tile(tile, xa, run.device, run.periphery, run.options, t_s)
    c["adc_clips"] += clipped
    col_lo, col_hi = entry["cols"]
    out[entry["receptor"]][active, col_lo:col_hi] += y


def _step(run: Run, name: str, t: int, inputs: np.ndarray, columns: Mapping[str, slice]
          ) -> None:
    pop = run.graph.populations[name]
    batch = inputs.shape[0]
    if pop.model == INPUT_MODEL:
        spikes = inputs[:, t, columns[name]]
        run.history.write(name, t, spikes)
        run.spikes[name][:, t] = spikes
        return
    rule = MODEL_RULES[pop.model]
    synaptic = {r: np.zeros((batch, pop.size)) for r in pop.neuron_model.receptors}
    for tile in run.tiles.get(name, []):
        _read(run, tile, t, batch, synaptic)
    run.states[name], spiked, sent = step_population(rule, pop.reset, run.states[name],
                                                     pop.params, synaptic, run.graph.dt_s)
    if spiked is not None and sent is not None:
        run.spikes[name][:, t] = spiked
        run.history.write(name, t, sent)
    for var, value in run.states[name].items():
        trace = run.traces.get(f"{var}/{name}")
        if trace is not None:
            trace[:, t] = value


def _input_columns(graph: Graph) -> dict[str, slice]:
    starts = np.cumsum([0] + [graph.populations[n].size for n in graph.inputs]).tolist()
    return {n: slice(starts[i], starts[i + 1]) for i, n in enumerate(graph.inputs)}


def _start(artifact: Artifact, inputs: np.ndarray, options: CrossbarEngineOptions,
           record_states: bool, progress: bool) -> Run:
    graph = artifact.graph
    batch, steps, _ = inputs.shape
    tiles, device, periphery = program(artifact, options, progress)
    depths: dict[str, int] = {}
    for tile in (t for group in tiles.values() for t in group):
        src = tile.entry["source"]
        depths[src] = max(depths.get(src, 1), int(tile.entry["delay_steps"]) + 1)
    history = SpikeHistory(depths, {n: p.size for n, p in graph.populations.items()}, batch)
    states = {n: initial_state(p.neuron_model.state, batch, p.size)
              for n, p in graph.populations.items() if p.model != INPUT_MODEL}
    spikes = {n: np.zeros((batch, steps, p.size), np.uint8)
              for n, p in graph.populations.items() if p.neuron_model.spiking}
    traces = {f"{var}/{n}": np.zeros((batch, steps, p.size))
              for n, p in graph.populations.items() if n in states
              for var in _recorded(p.neuron_model, record_states)}
    return Run(graph, device, periphery, options, tiles, history, states, spikes, traces)


def _recorded(model: Any, record_states: bool) -> tuple[str, ...]:
    """All state traces when asked; always those of a non-spiking model (its output), as the
    reference engine records them (a stateless ``output`` model reports ``v = I``)."""
    names = tuple(model.state) or (("v",) if not model.spiking else ())
    return names if record_states or not model.spiking else ()


def _check(options: CrossbarEngineOptions) -> None:
    if options.seed < 0:
        raise SimulationError("engine option seed", f"is {options.seed}; expected an integer "
                              ">= 0.", "Give a non-negative device seed.")
    if options.t_start_s < 0:
        raise SimulationError("engine option t_start_s", f"is {options.t_start_s}; expected "
                              ">= 0 (seconds after programming).",
                              "Give the time since programming, 0 or more.")


def run_artifact(artifact: Artifact, spikes: np.ndarray, *, record_states: bool = False,
                 progress: bool = False, **options: Any) -> SimResult:
    """Run a crossbar artifact on input spikes (batch, T, n_in) with the analog arrays.

    ``options`` are the fields of :class:`CrossbarEngineOptions` (seed, time, switches).
    """
    chosen = CrossbarEngineOptions(**options)
    _check(chosen)
    graph = artifact.graph
    inputs = validate_spikes(graph, spikes)
    run = _start(artifact, inputs, chosen, record_states, progress)
    columns = _input_columns(graph)
    order = graph.step_order()
    for t in tqdm(range(inputs.shape[1]), desc="crossbar sim", unit="step",
                  disable=not progress):
        for name in order:
            _step(run, name, t, inputs, columns)
    batch, steps, _ = inputs.shape
    neurons = sum(p.size for n, p in graph.populations.items() if p.model != INPUT_MODEL)
    counters = {**run.counters,
                "spikes": sum(int(run.spikes[n].sum(dtype=np.int64)) for n in run.spikes
                              if n not in graph.inputs),
                "input_spikes": int(inputs.sum(dtype=np.int64)),
                "neuron_updates": neurons * batch * steps, "steps": batch * steps}
    return SimResult(run.spikes, graph.outputs, run.traces, counters, 0)

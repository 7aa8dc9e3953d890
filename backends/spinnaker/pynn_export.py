"""The compiled SpiNNaker artifact as a standalone PyNN script (``neurocc export pynn``).

The script describes what the artifact holds, dequantized, in PyNN's standard cell types,
so that sPyNNaker (``--simulator spiNNaker``) maps the same network the exact engine runs,
and PyNN's Brian2 backend (``--simulator brian2``) runs it here.

Units: one graph unit of voltage is 1 mV and of current 1 nA. The artifact's neurons have
``R = 1`` (the gains are folded into weights and bias, ``docs/spinnaker.md``), so
``cm = tau_m`` (nF = ms / MOhm). Per population, from the ``spinnaker`` section's words:

- ``v_rest = v_leak``, ``v_thresh`` = the stored threshold (one LSB above the graph's, so
  ``V >= v_thresh`` on the chip is ``v > threshold``), ``v_reset``, ``i_offset = bias``,
  all ``word / 2**fraction_bits``; ``tau_m = -dt / ln(exp_tc / 2**fraction_bits)``;
  ``tau_refrac = 0`` (the artifact has no refractory period); ``v`` starts at 0.
- exponential synapses (``lif_cur_exp``, ``cubalif``): ``IF_curr_exp`` with
  ``tau_syn_E/I = -dt / ln(syn_decay / 2**decay_bits)``; delta synapses (``lif``):
  ``IF_curr_delta``.

Per projection and synapse type, one PyNN ``Projection`` (``receptor_type`` excitatory or
inhibitory) from a ``FromListConnector``: weight ``word * 2**(shift - fraction_bits)``,
negative on the inhibitory receptor (PyNN's sign convention for current synapses), delay
``ticks * dt`` (at least one tick: the artifact already holds ``delay_min_steps``).

Refused (:class:`~neurocc.compiler.errors.MappingError` naming the population): subtractive
reset (PyNN's standard cells and sPyNNaker's LIF reset to ``v_reset``) and the leak-free
``if`` model (sPyNNaker's LIF integrates in closed form; with ``exp_TC = 1`` no input would
reach the membrane, and PyNN has no leak-free standard cell).

The functions named ``pynn_*`` depend only on numpy and PyNN and are copied verbatim into the
script (as the Lava export does); the sPyNNaker mapping driver (``spynnaker_driver.py``) calls
them from the written script, so both build the same network.
Brian2 schedules a synapse after the state update and before the reset of its step; the chip
delivers a spike of tick ``t`` with delay ``d`` before the update of tick ``t + d``.
``pynn_brian2_chip_order`` moves Brian2's synaptic pathways to the start of the step and
shortens their delays by one tick, so Brian2 runs in the chip's order and on its timeline
(a delta weight then meets one extra decay before it counts, so it is divided by
``exp(-dt/tau_m)`` and multiplied by ``1 - exp(-dt/tau_m)``, the chip's share of a current
held over one tick). The integration itself stays Brian2's: exact for the membrane, with an
exponential synaptic current that decays within the tick where the chip holds it constant.
"""

from __future__ import annotations

import inspect
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from neurocc.backends import target_of
from neurocc.backends.artifact import Artifact
from neurocc.backends.exported_script import params_path, write_script
from neurocc.backends.spinnaker.section import SECTION, SYNAPSE_TYPES, pop_key, proj_key
from neurocc.compiler.errors import MappingError, SimulationError

SIMULATORS = ("brian2", "spiNNaker")
LIF_KIND = "lif"  # layout "kind" of the populations on sPyNNaker's LIF (others are graded)
MS_PER_S = 1e3  # PyNN's times are in ms
PYNN_VERSION = "0.13.0"


def _refuse(name: str, entry: dict[str, Any]) -> None:
    """Refuse a population PyNN's standard cells (and sPyNNaker's LIF) cannot express."""
    if entry.get("kind", LIF_KIND) != LIF_KIND:
        raise MappingError(f"population '{name}'", f"has the graded model '{entry['model']}' "
                           "(events carrying values); PyNN's standard cells and sPyNNaker's "
                           "LIF send plain spikes.",
                           "Run this artifact with the exact engine (`neurocc simulate DIR "
                           "--engine exact`), or export a network of spiking models.")
    if entry["reset"] == "subtract":
        raise MappingError(f"population '{name}'", "resets by subtracting the threshold; "
                           "PyNN's standard cells (IF_curr_exp, IF_curr_delta) and sPyNNaker's "
                           "LIF reset V to v_reset.",
                           "Export a model trained with reset to a value, or run this artifact "
                           "with the exact engine (`neurocc simulate DIR --engine exact`), "
                           "which implements the subtractive reset.")
    if not entry["leaky"]:
        raise MappingError(f"population '{name}'", f"has the leak-free model "
                           f"'{entry['model']}'; sPyNNaker's LIF integrates in closed form "
                           "(exp_TC = 1 would let no input in) and PyNN has no leak-free "
                           "standard cell.",
                           "Export an 'lif', 'cubalif' or 'lif_cur_exp' model, or run this "
                           "artifact with the exact engine (`neurocc simulate DIR --engine "
                           "exact`).")


def _population_entry(name: str, entry: dict[str, Any], arrays: Mapping[str, np.ndarray],
                      dt_ms: float, fraction_bits: int, decay_bits: int
                      ) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """One non-input population: its PyNN cell type and per-neuron parameter arrays."""
    _refuse(name, entry)
    scale = 2.0 ** -fraction_bits
    exp_tc = arrays[pop_key(name, "exp_tc")] * scale
    if (exp_tc <= 0).any() or (exp_tc >= 1).any():
        raise MappingError(f"population '{name}' word 'exp_tc'", "is outside (0, 1); no "
                           "membrane time constant gives it.",
                           "Compile again from a model with 0 < tau_mem.")
    tau_m = -dt_ms / np.log(exp_tc)
    refract_key = pop_key(name, "t_refract")
    ticks = arrays[refract_key] if refract_key in arrays else np.zeros(tau_m.shape)
    params = {"tau_m": tau_m, "cm": tau_m, "tau_refrac": ticks * dt_ms,
              "v_rest": arrays[pop_key(name, "v_leak")] * scale,
              "v_thresh": arrays[pop_key(name, "v_threshold")] * scale,
              "v_reset": arrays[pop_key(name, "v_reset")] * scale,
              "i_offset": arrays[pop_key(name, "bias")] * scale}
    cell = "IF_curr_delta"
    if entry["synapse"] == "exp":
        cell = "IF_curr_exp"
        tau_syn = -dt_ms / np.log(arrays[pop_key(name, "syn_decay")] * 2.0 ** -decay_bits)
        params.update(tau_syn_E=tau_syn[0], tau_syn_I=tau_syn[1])
    keys = {p: pop_key(name, f"pynn/{p}") for p in params}
    described = {"name": name, "size": entry["size"], "input": False, "cell": cell,
                 "params": keys}
    return described, {keys[p]: np.asarray(v, dtype=np.float64) for p, v in params.items()}


def _projection_entries(name: str, entry: dict[str, Any], shifts: list[int],
                        arrays: Mapping[str, np.ndarray], fraction_bits: int, stage_steps: int
                        ) -> tuple[list[dict[str, Any]], dict[str, np.ndarray]]:
    """One PyNN projection per synapse type the artifact's projection uses.

    A synapse behind delay-extension stages gets its whole delay, ``delay + stage x
    stage_steps``: sPyNNaker builds its own extensions from the delay.
    """
    kind = arrays[proj_key(name, "type")]
    words = arrays[proj_key(name, "weight")].astype(np.float64)
    delay = arrays[proj_key(name, "delay")].astype(np.int64)
    if proj_key(name, "stage") in arrays:
        delay = delay + arrays[proj_key(name, "stage")].astype(np.int64) * stage_steps
    described, out = [], {}
    for index, receptor in enumerate(SYNAPSE_TYPES):
        pick = kind == index
        if not pick.any():
            continue
        sign = 1.0 if index == 0 else -1.0
        keys = {k: proj_key(name, f"pynn/{receptor}/{k}")
                for k in ("pre", "post", "weight", "delay")}
        out[keys["pre"]] = arrays[proj_key(name, "pre")][pick].astype(np.int64)
        out[keys["post"]] = arrays[proj_key(name, "post")][pick].astype(np.int64)
        out[keys["weight"]] = sign * words[pick] * 2.0 ** (shifts[index] - fraction_bits)
        out[keys["delay"]] = delay[pick]
        described.append({"name": f"{name}.{receptor}", "source": entry["source"],
                          "target": entry["target"], "receptor": receptor, **keys})
    return described, out


def pynn_description(artifact: Artifact) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """The plain description (JSON-able) and float arrays the ``pynn_*`` functions take.

    Raises :class:`MappingError` for a population PyNN cannot express (see the module doc).
    """
    if artifact.family != "spinnaker":
        raise SimulationError(f"artifact '{artifact.target}'", f"is of family "
                              f"'{artifact.family}'; the PyNN export reads the SpiNNaker "
                              "family's words.", "Compile for spinnaker1 or spinnaker2.")
    spec = target_of(artifact)
    arrays = artifact.sections[SECTION]
    layout = artifact.layout
    dt_ms = artifact.graph.dt_s * MS_PER_S
    populations, out = [], {}
    for name, entry in layout["populations"].items():
        if entry["input"]:
            populations.append({"name": name, "size": entry["size"], "input": True})
            continue
        described, params = _population_entry(name, entry, arrays, dt_ms,
                                              spec.fraction_bits, spec.decay_bits)
        populations.append(described)
        out.update(params)
    projections: list[dict[str, Any]] = []
    for name, entry in layout["projections"].items():
        shifts = layout["populations"][entry["target"]]["shifts"]
        split, proj_arrays = _projection_entries(name, entry, shifts, arrays, spec.fraction_bits,
                                                 int(layout.get("delay_stage_steps", 0)))
        projections.extend(split)
        out.update(proj_arrays)
    desc = {"dt_ms": dt_ms, "target": artifact.target, "populations": populations,
            "projections": projections, "inputs": list(artifact.graph.inputs),
            "outputs": list(artifact.graph.outputs),
            "latency_steps": int(layout["latency_steps"])}
    return desc, out


# ---------------------------------------------------------------------------------------------
# Self-contained part (numpy + PyNN only): copied into the exported script.
# ---------------------------------------------------------------------------------------------
def pynn_simulator(name):
    """Import the PyNN backend ``name`` (brian2 or spiNNaker) and return the module."""
    import importlib

    if name == "brian2":
        import brian2

        # numpy code generation: no C++ compile on the first run (slower per step, which a
        # network of this size does not notice)
        brian2.prefs.codegen.target = "numpy"
        brian2.prefs.logging.std_redirection = False
    return importlib.import_module(f"pyNN.{name}")


def pynn_build(sim, simulator, desc, arrays, sample):
    """Populations and projections of ``desc``, the spike sources holding ``sample``
    (T, n_in); returns (sources, neurons), keyed by population name."""
    dt = desc["dt_ms"]
    sim.setup(timestep=dt, min_delay=dt)
    if simulator == "brian2":
        import brian2

        # pyNN.brian2 makes spike sources on Brian2's default clock (0.1 ms): use the tick
        brian2.defaultclock.dt = dt * brian2.ms
    sources, neurons = {}, {}
    for pop in desc["populations"]:
        if pop["input"]:
            times = pynn_spike_times(sim, desc, sample, pop["name"])
            sources[pop["name"]] = sim.Population(
                pop["size"], sim.SpikeSourceArray(spike_times=times), label=pop["name"])
            continue
        params = {key: arrays[ref] for key, ref in pop["params"].items()}
        if simulator == "brian2":
            # the chip freezes a neuron for T_refract ticks after the tick of its spike;
            # Brian2 counts the spike's own step, so it gets one step more
            params["tau_refrac"] = np.where(params["tau_refrac"] > 0,
                                            params["tau_refrac"] + dt, 0.0)
        cell = getattr(sim, pop["cell"])(**params)
        neurons[pop["name"]] = sim.Population(pop["size"], cell, label=pop["name"])
        neurons[pop["name"]].initialize(v=0.0)
        neurons[pop["name"]].record("spikes")
    cells = {p["name"]: p for p in desc["populations"]}
    for proj in desc["projections"]:
        weight = arrays[proj["weight"]]
        if simulator == "brian2" and cells[proj["target"]]["cell"] == "IF_curr_delta":
            # a voltage step that meets one decay before it counts, to the chip's share
            decay = np.exp(-dt / arrays[cells[proj["target"]]["params"]["tau_m"]])
            weight = weight * ((1.0 - decay) / decay)[arrays[proj["post"]]]
        rows = np.column_stack([arrays[proj["pre"]], arrays[proj["post"]], weight,
                                arrays[proj["delay"]] * dt])
        source = sources[proj["source"]] if proj["source"] in sources else neurons[proj["source"]]
        sim.Projection(source, neurons[proj["target"]],
                       sim.FromListConnector(rows.tolist(), column_names=["weight", "delay"]),
                       sim.StaticSynapse(), receptor_type=proj["receptor"],
                       label=proj["name"])
    if simulator == "brian2":
        pynn_brian2_chip_order(sim, dt)
    return sources, neurons


def pynn_brian2_chip_order(sim, dt):
    """Brian2 in the chip's tick order: synapses first, delays one tick shorter.

    Brian2 runs a step as update, threshold, synapses, reset; the chip as ring-buffer
    input, update, threshold, reset, with the spike of tick t arriving at tick t + delay.
    A pathway at the start of the step with delay d - 1 delivers the spike of step t before
    the update of step t + d, as the chip does, and never between a spike and its reset.

    Brian2 recomputes ``not_refractory`` only in the state update, and drops a synaptic write
    to ``v`` while it is False; the chip takes the input of the first tick it updates a
    neuron in again (``refract_timer`` is 0 then). So ``not_refractory`` is recomputed at the
    start of each step, before the synapses, with the state update's own rule.
    """
    import brian2

    for obj in list(sim.simulator.state.network.objects):
        if isinstance(obj, brian2.Synapses):
            obj.pre.when = "start"
            obj.pre.delay = np.asarray(obj.pre.delay[:] / brian2.ms) * brian2.ms - dt * brian2.ms
        elif isinstance(obj, brian2.NeuronGroup) and "not_refractory" in obj.variables:
            steps = round(float(obj._refractory / brian2.ms) / dt)
            obj.run_regularly(f"not_refractory = timestep(t - lastspike, dt) >= {steps}",
                              when="start", order=-1)


def pynn_spike_times(sim, desc, sample, name):
    """The ``spike_times`` of input population ``name`` for ``sample`` (T, n_in), in ms.

    sPyNNaker takes plain lists (it compares each item with a time; a silent population
    gets one empty list, as its density check fails on a list of empty ones); other
    backends take one PyNN Sequence per neuron.
    """
    from pyNN.parameters import Sequence

    sizes = {p["name"]: p["size"] for p in desc["populations"]}
    start = sum(sizes[n] for n in desc["inputs"][:desc["inputs"].index(name)])
    columns = sample[:, start:start + sizes[name]]
    times = [(np.nonzero(columns[:, i])[0] * desc["dt_ms"]).tolist()
             for i in range(sizes[name])]
    if sim.__name__ != "pyNN.spiNNaker":
        return [Sequence(t) for t in times]
    return times if columns.any() else []


def pynn_run(sim, desc, neurons, steps):
    """Run ``steps`` ticks from t = 0; returns {population: uint8 (steps, size)}."""
    dt = desc["dt_ms"]
    sim.run(steps * dt)
    recorded = {}
    for name, pop in neurons.items():
        trains = pop.get_data("spikes", clear=True).segments[-1].spiketrains
        out = np.zeros((steps, pop.size), dtype=np.uint8)
        for index, train in enumerate(trains):
            ticks = np.rint(np.asarray(train.magnitude) / dt).astype(int)
            out[ticks[ticks < steps], index] = 1
        recorded[name] = out
    return recorded


def pynn_simulate(simulator, desc, arrays, spikes):
    """Run every sample of ``spikes`` (batch, T, n_in); returns {population: (batch, T, size)}.

    Brian2 builds the network once and, between samples, resets it (``sim.reset()``: t = 0,
    v = 0) and sets the new spike times. sPyNNaker 1!7.4.1 stores spike times set after a
    source is created in a form its own mapping then cannot index, so it builds the network
    again for each sample (``sim.end()``, ``sim.setup()``).
    """
    sim = pynn_simulator(simulator)
    rebuild = simulator == "spiNNaker"
    per_pop: dict = {p["name"]: [] for p in desc["populations"]}
    sources: dict = {}
    neurons: dict = {}
    for index, sample in enumerate(spikes.astype(np.uint8)):
        if index == 0 or rebuild:
            if index:
                sim.end()
            sources, neurons = pynn_build(sim, simulator, desc, arrays, sample)
        else:
            sim.reset()
            for name in desc["inputs"]:
                sources[name].set(spike_times=pynn_spike_times(sim, desc, sample, name))
        for name, value in pynn_run(sim, desc, neurons, sample.shape[0]).items():
            per_pop[name].append(value)
        start = 0
        for name in desc["inputs"]:
            size = sources[name].size
            per_pop[name].append(sample[:, start:start + size])
            start += size
    sim.end()
    return {name: np.stack(values).astype(np.uint8) for name, values in per_pop.items()}


# ---------------------------------------------------------------------------------------------
# neurocc side
# ---------------------------------------------------------------------------------------------
_SCRIPT_HEAD = '''#!/usr/bin/env python
"""{title}

Written by neurocc from the artifact of target '{target}': the compiled SpiNNaker network,
dequantized, in PyNN's standard cells. Needs numpy and PyNN ({pynn}) with a backend:
Brian2 (pyNN.brian2) or sPyNNaker (pyNN.spiNNaker). The populations, parameters and
synapses are in {params} beside this file.

    python {script} --input IN.npz -o OUT.npz [--simulator brian2|spiNNaker]

IN.npz: ``spikes`` uint8 (batch, T, n_in), the input populations {inputs} concatenated.
OUT.npz: ``spikes`` (batch, T, n_out) of the output populations {outputs} concatenated,
and ``spikes/<population>`` for every population, on the chip's timeline (the exact
engine's: {latency} ticks behind the float reference at the outputs). Each sample runs from
t = 0 with v = 0: Brian2 resets the network between samples, sPyNNaker builds it again.
"""
'''

_SCRIPT_MAIN = '''

def main():
    parser = argparse.ArgumentParser(description="Run the exported network under PyNN.")
    parser.add_argument("--input", required=True, help="npz with spikes (batch, T, n_in)")
    parser.add_argument("-o", "--output", required=True, help="npz to write")
    parser.add_argument("--simulator", choices={simulators}, default="brian2",
                        help="the PyNN backend (default brian2)")
    args = parser.parse_args()
    desc, arrays = script_load_params(pathlib.Path(__file__).with_name("{params}"))
    spikes = script_read_input(args.input, desc)
    per_pop = pynn_simulate(args.simulator, desc, arrays, spikes)
    result = {{f"spikes/{{name}}": value for name, value in per_pop.items()}}
    result["spikes"] = np.concatenate([result[f"spikes/{{n}}"] for n in desc["outputs"]], axis=2)
    np.savez(args.output, **result)
    print(f"wrote {{args.output}}")


if __name__ == "__main__":
    main()
'''

SELF_CONTAINED = (pynn_simulator, pynn_build, pynn_brian2_chip_order, pynn_spike_times,
                  pynn_run, pynn_simulate)


def write_pynn_script(artifact: Artifact, out_path: str | Path) -> Path:
    """Write a standalone PyNN script ``out_path`` and ``<stem>_params.npz`` beside it.

    The parameters file holds the description as JSON under ``description`` and the float
    arrays (parameters per neuron, synapse lists per projection and receptor).
    """
    script = Path(out_path)
    params = params_path(script)
    desc, arrays = pynn_description(artifact)
    head = _SCRIPT_HEAD.format(title=f"PyNN network: {script.stem}", target=artifact.target,
                               pynn=PYNN_VERSION, params=params.name, script=script.name,
                               inputs=desc["inputs"], outputs=desc["outputs"],
                               latency=desc["latency_steps"])
    body = "\n\n".join(inspect.getsource(f) for f in SELF_CONTAINED)
    main = _SCRIPT_MAIN.format(params=params.name, simulators=list(SIMULATORS))
    return write_script(script, head, body, main, desc, arrays)

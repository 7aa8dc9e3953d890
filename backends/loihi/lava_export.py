"""The artifact as a network of Lava's stock processes, run or written as a script.

Only stock processes and models are used (``RingBuffer`` sources, ``LIF``,
``Dense``/``DelayDense``/``Sparse``/``DelaySparse``; ``io.sink.RingBuffer`` and ``Monitor`` to
record), run with ``Loihi2SimCfg(select_tag='fixed_pt')``, so the result is
Lava's own answer for the artifact: the ground truth the exact engine
(``neurocc.sim.loihi``) is checked against.

Stock Lava's arithmetic is fixed in its code (12-bit decays, 24-bit u and v,
``vth << 6``, ...), while the exact engine follows the artifact's target. So
before anything runs or is written, :func:`check_lava_target` compares the
target with :data:`LAVA_VALUES` (Lava's numbers, each with the file and
attribute it comes from) and refuses a target Lava does not implement. Numbers
Lava takes as parameters follow the target within Lava's bounds: a projection's
``num_weight_bits`` (``weight_bits`` at most 8), ``weight_exp``, ``bias_exp``.

The functions named ``lava_*`` below depend only on numpy and Lava and take a
plain description (JSON-able dict) plus the artifact's integer arrays: they
are copied verbatim into the standalone script that :func:`write_lava_script`
writes, so the script and :func:`run_lava` run the same code.
"""

from __future__ import annotations

import inspect
import multiprocessing
import operator
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from neurocc.backends.artifact import Artifact
from neurocc.backends.exported_script import params_path, write_script
from neurocc.backends.loihi.section import (
    NetworkSpec,
    ProjectionSpec,
    delay_key,
    pop_key,
    weight_arrays,
)
from neurocc.backends.loihi.spec import LoihiSpec, dotted
from neurocc.compiler.errors import TargetError, VerificationError
from neurocc.sim.inputs import check_spikes as check_input
from neurocc.sim.loihi.network import read_network
from neurocc.sim.result import SimResult

LAVA_START_METHOD = "fork"  # lava/magma/runtime/message_infrastructure/multiprocessing.py


@dataclass(frozen=True)
class LavaValue:
    """A number stock Lava fixes: the target key, Lava's value, how the target's must relate
    (``equal``, or ``at most`` for a parameter Lava bounds) and where Lava fixes it."""

    key: str
    value: int
    relation: str
    source: str


EQUAL, AT_MOST = "equal", "at most"
RELATIONS: dict[str, Callable[[int, int], bool]] = {EQUAL: operator.eq, AT_MOST: operator.le}
_LIF = "lava/proc/lif/models.py AbstractPyLifModelFixed"
# lava-nc 0.10.0; tests/sim/loihi/test_loihi_target_edits.py reads each value back from Lava
LAVA_VALUES = (
    LavaValue("decay_shift_bits", 12, EQUAL, f"{_LIF}.decay_shift"),
    LavaValue("du_offset", 1, EQUAL, f"{_LIF}.ds_offset"),
    LavaValue("dv_offset", 0, EQUAL, f"{_LIF}.dm_offset"),
    LavaValue("u_bits", 24, EQUAL, f"{_LIF}.uv_bitwidth"),
    LavaValue("v_bits", 24, EQUAL, f"{_LIF}.uv_bitwidth"),
    LavaValue("vth_shift_bits", 6, EQUAL, f"{_LIF}.vth_shift"),
    LavaValue("act_shift_bits", 6, EQUAL, f"{_LIF}.act_shift"),
    LavaValue("du_bits", 12, AT_MOST, f"{_LIF}.du (LavaPyType precision=12)"),
    LavaValue("dv_bits", 12, AT_MOST, f"{_LIF}.dv (LavaPyType precision=12)"),
    LavaValue("vth_bits", 17, AT_MOST,
              "lava/proc/lif/models.py PyLifModelBitAcc.vth (LavaPyType precision=17)"),
    LavaValue("bias_mant_bits", 13, AT_MOST, f"{_LIF}.bias_mant (LavaPyType precision=13)"),
    LavaValue("bias_exp_max", 7, AT_MOST, f"{_LIF}.bias_exp (LavaPyType precision=3)"),
    LavaValue("weight_clip_bits", 8, EQUAL,
              "lava/proc/dense/models.py AbstractPyDenseModelBitAcc.run_spk (and the "
              "Sparse, DelayDense and DelaySparse models): clip_weights(..., num_bits=8), then "
              "truncate_weights(max_num_weight_bits=8)"),
    LavaValue("weight_bits", 8, AT_MOST,
              "lava/utils/weightutils.py truncate_weights(max_num_weight_bits=8): the largest "
              "num_weight_bits a Dense/Sparse takes"),
    LavaValue("delay_bits", 6, AT_MOST,
              "lava/proc/dense/models.py PyDelayDenseModelBitAcc.delays (LavaPyType precision=6; "
              "the same in lava/proc/sparse/models.py PyDelaySparseModelBitAcc)"),
    LavaValue("delay_max_steps", 63, AT_MOST,
              "lava/proc/dense/models.py PyDelayDenseModelBitAcc.run_spk: delays above 63 raise "
              "(and in PyDelaySparseModelBitAcc.run_spk)"),
)


def check_lava_target(spec: LoihiSpec) -> None:
    """Refuse a target whose arithmetic stock Lava does not implement (:data:`LAVA_VALUES`)."""
    for fact in LAVA_VALUES:
        value = getattr(spec, fact.key)
        if not RELATIONS[fact.relation](value, fact.value):
            bound = "" if fact.relation == EQUAL else "at most "
            raise TargetError(
                f"target '{spec.name}' key '{dotted(fact.key)}'",
                f"is {value}; stock Lava (lava-nc 0.10.0) implements {bound}{fact.value} "
                f"({fact.source}), so a Lava run or export would not compute what the target "
                "describes.",
                "Run the artifact with the exact engine, which follows the target (`neurocc "
                "simulate DIR --engine exact`), or restore the value in the target file and "
                "compile again.")


def checked_network(artifact: Artifact) -> NetworkSpec:
    """The artifact's checked network, refused unless stock Lava implements its target."""
    net = read_network(artifact)
    check_lava_target(net.target)
    return net


@dataclass(frozen=True, eq=False)
class LavaNetwork:
    """Stock Lava processes of an artifact, connected, keyed by population/projection name."""

    sources: Mapping[str, Any]
    lifs: Mapping[str, Any]
    projections: Mapping[str, Any]


# ---------------------------------------------------------------------------------------------
# Self-contained part (numpy + lava only): copied into the exported script.
# ---------------------------------------------------------------------------------------------
def lava_processes(desc, arrays, spikes_2d):
    """Stock Lava processes for ``desc``: (sources, lifs, projections), connected.

    ``spikes_2d`` is (n_in, T): the input populations' rows, concatenated in
    ``desc["inputs"]`` order. An input without outgoing projections gets no
    process (nothing would run it).
    """
    import scipy.sparse as sp
    from lava.proc.dense.process import DelayDense, Dense
    from lava.proc.io.source import RingBuffer
    from lava.proc.lif.process import LIF
    from lava.proc.sparse.process import DelaySparse, Sparse

    sizes = {p["name"]: p["size"] for p in desc["populations"]}
    sources, lifs, projections = {}, {}, {}
    start = 0
    used = {proj["source"] for proj in desc["projections"]}
    for name in desc["inputs"]:
        rows = spikes_2d[start:start + sizes[name]].astype(np.int32)
        start += sizes[name]
        if name in used:
            sources[name] = RingBuffer(data=rows)
    for pop in desc["populations"]:
        if not pop["input"]:
            name = pop["name"]
            lifs[name] = LIF(shape=(pop["size"],), du=pop["du"], dv=pop["dv"], vth=pop["vth"],
                             bias_mant=arrays[pop["bias_mant"]],
                             bias_exp=arrays[pop["bias_exp"]], name=name)
    for proj in desc["projections"]:
        weight = [arrays[key] for key in proj["weight"]]  # dense: one array; CSR: three
        options = {"weight_exp": proj["weight_exp"], "num_weight_bits": proj["num_weight_bits"],
                   "name": proj["name"]}
        if proj["process"] == "Sparse":
            weights = sp.csr_matrix(tuple(weight), shape=tuple(proj["shape"]))
            process = Sparse(weights=weights, **options)
        elif proj["process"] == "DelaySparse":
            # delays: a CSR in the weights' sparsity (one delay for all is broadcast to it)
            data, indices, indptr = weight
            delay = np.broadcast_to(arrays[proj["delay"]], data.shape).astype(int)
            weights = sp.csr_matrix((data, indices, indptr), shape=tuple(proj["shape"]))
            delays = sp.csr_matrix((delay, indices, indptr), shape=tuple(proj["shape"]))
            process = DelaySparse(weights=weights, delays=delays, **options)
        elif proj["process"] == "DelayDense":
            delay = arrays[proj["delay"]]
            delays = int(delay) if delay.ndim == 0 else delay.astype(int)
            process = DelayDense(weights=weight[0], delays=delays, **options)
        else:
            process = Dense(weights=weight[0], **options)
        projections[proj["name"]] = process
        origin = sources[proj["source"]] if proj["source"] in sources else lifs[proj["source"]]
        origin.s_out.connect(process.s_in)
        process.a_out.connect(lifs[proj["target"]].a_in)
    return sources, lifs, projections


def lava_components(desc):
    """Groups of LIF populations that projections connect (Lava runs one group per call)."""
    parent = {p["name"]: p["name"] for p in desc["populations"]}

    def root(name):
        while parent[name] != name:
            name = parent[name]
        return name

    for proj in desc["projections"]:
        parent[root(proj["source"])] = root(proj["target"])
    groups: dict = {}
    for pop in desc["populations"]:
        if not pop["input"]:
            groups.setdefault(root(pop["name"]), []).append(pop["name"])
    return list(groups.values())


def lava_run(desc, arrays, spikes_2d, record_states=False):
    """Run the network on ``spikes_2d`` (n_in, T) with Lava's fixed_pt models.

    Returns ``spikes`` {LIF: uint8 (T, size)} and ``states`` {"u/P", "v/P":
    int64 (T, size)} (empty unless ``record_states``).
    """
    import warnings

    import scipy.sparse as sp
    from lava.magma.core.run_conditions import RunSteps
    from lava.magma.core.run_configs import Loihi2SimCfg
    from lava.proc.io.sink import RingBuffer as Sink
    from lava.proc.monitor.process import Monitor

    steps = spikes_2d.shape[1]
    _, lifs, _ = lava_processes(desc, arrays, spikes_2d)
    sinks, monitors = {}, {}
    for name, lif in lifs.items():
        sinks[name] = Sink(shape=lif.s_out.shape, buffer=steps)
        lif.s_out.connect(sinks[name].a_in)
        if record_states:
            for var in ("u", "v"):  # a Monitor holds one probe
                monitors[(var, name)] = Monitor()
                monitors[(var, name)].probe(getattr(lif, var), steps)
    spikes, states = {}, {}
    for group in lava_components(desc):
        runner = lifs[group[0]]
        with warnings.catch_warnings():  # the forked process models inherit the filter
            # DelaySparse zeroes entries of a CSR copy while splitting its weights by delay
            warnings.filterwarnings("ignore", category=sp.SparseEfficiencyWarning)
            runner.run(condition=RunSteps(num_steps=steps),
                       run_cfg=Loihi2SimCfg(select_tag="fixed_pt"))
        try:
            for name in group:
                spikes[name] = sinks[name].data.get().T.astype(np.uint8)
                for var in ("u", "v") if record_states else ():
                    data = monitors[(var, name)].get_data()[name][var]
                    states[f"{var}/{name}"] = np.asarray(data).astype(np.int64)
        finally:
            runner.stop()
    return spikes, states


# ---------------------------------------------------------------------------------------------
# neurocc side
# ---------------------------------------------------------------------------------------------
def _projection_entry(proj: ProjectionSpec) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    weights = weight_arrays(proj)
    delay = delay_key(proj)
    entry = {"name": proj.name, "process": proj.process, "source": proj.source,
             "target": proj.target, "shape": list(proj.shape), "weight_exp": proj.weight_exp,
             "num_weight_bits": proj.num_weight_bits, "weight": list(weights),
             "delay": delay}
    return entry, {**weights, delay: proj.delay}


def lava_description(net: NetworkSpec) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """The plain description and arrays the ``lava_*`` functions take, from checked specs.

    Arrays keep their artifact keys (``section.py`` names them); the
    description names the key of each array it refers to.
    """
    populations, arrays = [], {}
    for name, pop in net.populations.items():
        entry: dict[str, Any] = {"name": name, "size": pop.size, "input": pop.is_input}
        if not pop.is_input:
            lif = net.lifs[name]
            entry.update(du=lif.du, dv=lif.dv, vth=lif.vth)
            for field in ("bias_mant", "bias_exp"):
                entry[field] = pop_key(name, field)
                arrays[entry[field]] = getattr(lif, field)
        populations.append(entry)
    projections = []
    for proj in net.projections.values():
        entry, proj_arrays = _projection_entry(proj)
        projections.append(entry)
        arrays.update(proj_arrays)
    desc = {"populations": populations, "projections": projections,
            "inputs": list(net.inputs), "outputs": list(net.outputs)}
    return desc, arrays


def _require_lava() -> None:
    """Import Lava, or raise a VerificationError saying why it cannot be used.

    Lava calls ``multiprocessing.set_start_method('fork')`` on import, which
    raises once anything (a tqdm progress bar creates a multiprocessing lock)
    has fixed the start method. When it is already 'fork', the call changes
    nothing, so it is made with ``force=True`` for the duration of the import.
    """
    current = multiprocessing.get_start_method(allow_none=True)
    if current not in (None, LAVA_START_METHOD):
        raise VerificationError("lava", f"needs the '{LAVA_START_METHOD}' multiprocessing start "
                                f"method; this process uses '{current}'.",
                                "Run the Lava comparison in a fresh process.")
    original = multiprocessing.set_start_method

    def set_start_method(method: str | None, force: bool = False) -> None:
        original(method, force=force or current == method)

    multiprocessing.set_start_method = set_start_method
    try:
        import lava.proc.lif.process  # noqa: F401
    except ImportError as exc:
        raise VerificationError("lava", f"cannot be imported ({exc}).",
                                "Install lava-nc 0.10.0 (`make setup` does).") from exc
    finally:
        multiprocessing.set_start_method = original


def build_lava_network(artifact: Artifact, spikes_2d: np.ndarray) -> LavaNetwork:
    """The artifact as connected stock Lava processes fed with ``spikes_2d`` (n_in, T)."""
    net = checked_network(artifact)
    _require_lava()
    array = np.asarray(spikes_2d)
    check_input(array.T[None], net.n_inputs)
    desc, arrays = lava_description(net)
    sources, lifs, projections = lava_processes(desc, arrays, array)
    return LavaNetwork(sources, lifs, projections)


def run_lava(artifact: Artifact, spikes: np.ndarray, record_states: bool = False) -> SimResult:
    """Run ``artifact`` in Lava (fixed_pt) on each sample of ``spikes`` (batch, T, n_in).

    The result has the layout of ``neurocc.sim.loihi.run_artifact`` (spikes of
    every population, ``u/P``, ``v/P`` int64 with ``record_states``) and no
    counters.
    """
    net = checked_network(artifact)
    _require_lava()
    x = check_input(spikes, net.n_inputs)
    desc, arrays = lava_description(net)
    samples = []
    for sample in x:
        try:
            samples.append(lava_run(desc, arrays, sample.T, record_states))
        except Exception as exc:  # Lava raises plain exceptions from its runtime
            raise VerificationError("lava run", f"failed: {type(exc).__name__}: {exc}",
                                    "Check the Lava installation (`make setup`).") from exc
    spikes_out = {}
    inputs = np.split(x, np.cumsum([net.populations[n].size for n in net.inputs])[:-1], axis=2)
    for name in net.populations:
        if name in net.inputs:
            spikes_out[name] = inputs[net.inputs.index(name)]
        else:
            spikes_out[name] = np.stack([s[0][name] for s in samples])
    states = {key: np.stack([s[1][key] for s in samples]) for key in samples[0][1]}
    return SimResult(spikes_out, net.outputs, states, {}, net.latency_steps)


_SCRIPT_HEAD = '''#!/usr/bin/env python
"""{title}

Written by neurocc from the artifact of target '{target}'. Needs only numpy and
lava-nc (0.10.0); the parameters are in {params} beside this file.

    python {script} --input IN.npz -o OUT.npz

IN.npz: ``spikes`` uint8 (batch, T, n_in), the input populations {inputs}
concatenated. OUT.npz: ``spikes`` (batch, T, n_out) of the output populations
{outputs} concatenated, and ``spikes/<population>`` for every population,
on Lava's timeline.
"""
'''

_SCRIPT_MAIN = '''

def main():
    parser = argparse.ArgumentParser(description="Run the exported network in Lava (fixed_pt).")
    parser.add_argument("--input", required=True, help="npz with spikes (batch, T, n_in)")
    parser.add_argument("-o", "--output", required=True, help="npz to write")
    args = parser.parse_args()
    desc, arrays = script_load_params(pathlib.Path(__file__).with_name("{params}"))
    spikes = script_read_input(args.input, desc)
    sizes = {{p["name"]: p["size"] for p in desc["populations"]}}
    per_pop = {{name: [] for name in sizes}}
    for sample in spikes.astype(np.uint8):
        recorded, _ = lava_run(desc, arrays, sample.T)
        start = 0
        for name in desc["inputs"]:
            per_pop[name].append(sample[:, start:start + sizes[name]])
            start += sizes[name]
        for name, value in recorded.items():
            per_pop[name].append(value)
    result = {{f"spikes/{{name}}": np.stack(v).astype(np.uint8) for name, v in per_pop.items()}}
    result["spikes"] = np.concatenate([result[f"spikes/{{n}}"] for n in desc["outputs"]], axis=2)
    np.savez(args.output, **result)
    print(f"wrote {{args.output}}")


if __name__ == "__main__":
    main()
'''


def write_lava_script(artifact: Artifact, out_path: str | Path) -> Path:
    """Write a standalone Lava script ``out_path`` and its parameters beside it.

    The parameters go to ``<stem>_params.npz`` (the description as JSON under
    ``description``, the integer arrays under their artifact keys).
    """
    net = checked_network(artifact)
    script = Path(out_path)
    params = params_path(script)
    desc, arrays = lava_description(net)
    head = _SCRIPT_HEAD.format(title=f"Lava network: {script.stem}", target=artifact.target,
                               params=params.name, script=script.name,
                               inputs=list(net.inputs), outputs=list(net.outputs))
    body = "\n\n".join(inspect.getsource(f) for f in (lava_processes, lava_components, lava_run))
    main = _SCRIPT_MAIN.format(params=params.name)
    return write_script(script, head, body, main, desc, arrays)

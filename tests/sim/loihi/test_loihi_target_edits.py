"""An edited target file changes compile, the exact engine and the Lava export together.

Edits of a copy of loihi2.yaml: ``weight_bits`` 8 -> 5 (compile emits 5-bit
weights, the engine and Lava agree bit for bit: Lava takes num_weight_bits as
a parameter) and ``u_bits``/``v_bits`` 24 -> 20 (compile sizes its scales for
20 bits, the engine wraps u and saturates v there, and the Lava export and
verifier refuse: stock Lava's LIF is 24-bit). An artifact whose stored target
was tampered with is refused on load. Lava's own numbers are read back from
Lava against ``lava_export.LAVA_VALUES``.
"""

from __future__ import annotations

import dataclasses
import inspect
import json
import re
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import random_artifacts as ra
import yaml
from lava_helpers import LAVA_WARNINGS, assert_identical, require_lava

from neurocc.backends import compile_graph
from neurocc.backends.artifact import Artifact, read_artifact, write_artifact
from neurocc.backends.loihi import lava_export, verify
from neurocc.backends.loihi.section import (
    DENSE,
    LifSpec,
    NetworkSpec,
    PopulationSpec,
    ProjectionSpec,
    proj_key,
)
from neurocc.backends.loihi.spec import SECTION_OF, TARGETS_DIR
from neurocc.compiler.errors import SimulationError, TargetError
from neurocc.compiler.graph import Graph, Population, Projection
from neurocc.sim.loihi import fixed_point as fx
from neurocc.sim.loihi import read_network, run_artifact

N_IN, N_HIDDEN, N_OUT, STEPS = 48, 24, 8, 60


def edited_file(tmp_path: Path, **values: Any) -> Path:
    """A copy of loihi2.yaml with ``values`` set, as a user would edit it."""
    data = yaml.safe_load((TARGETS_DIR / "loihi2.yaml").read_text())
    data["name"] = "my-loihi2"
    for key, value in values.items():
        data[SECTION_OF[key]][key]["value"] = value
    path = tmp_path / "my-loihi2.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


def network(seed: int = 0) -> Graph:
    """Input -> LIF -> LIF, excitatory-leaning weights: the input can drive u high."""
    rng = np.random.default_rng(seed)
    lif = {"tau_s": 20e-3, "v_threshold": 1.0}
    pops = {"in": Population("in", "input", (N_IN,)),
            "h": Population("h", "lif", (N_HIDDEN,), lif, "to_value"),
            "out": Population("out", "lif", (N_OUT,), lif, "to_value")}
    projs = {"a": Projection("a", "in", "h", rng.normal(0.3, 0.2, (N_HIDDEN, N_IN))),
             "b": Projection("b", "h", "out", rng.normal(0.4, 0.3, (N_OUT, N_HIDDEN)))}
    return Graph(1e-3, pops, projs, ("in",), ("out",))


def spikes(seed: int = 1, batch: int = 1) -> np.ndarray:
    return ra.random_spikes(np.random.default_rng(seed), batch, STEPS, N_IN, 0.2)


def worst_case_u(artifact: Artifact, population: str) -> int:
    """The largest |u| any input can give a du = 4095 LIF: every source of one sign spiking."""
    net = read_network(artifact)
    arith = fx.arithmetic_of(net.target)
    total_pos = total_neg = 0
    for proj in net.projections.values():
        if proj.target != population:
            continue
        w = fx.effective_weights(proj.weight, proj.weight.size, proj.num_weight_bits,
                                 arith).astype(np.int64)
        total_pos = total_pos + fx.apply_weight_exp(np.maximum(w, 0).sum(axis=1), proj.weight_exp)
        total_neg = total_neg + fx.apply_weight_exp(np.maximum(-w, 0).sum(axis=1),
                                                    proj.weight_exp)
    worst = np.maximum(total_pos, total_neg) << arith.act_shift_bits
    return int(worst.max())


# -- weight_bits 8 -> 5: compile, engine and Lava follow ------------------------------------
def test_five_weight_bits_reach_the_artifact(tmp_path: Path) -> None:
    artifact = compile_graph(network(), edited_file(tmp_path, weight_bits=5))
    arrays = artifact.sections["loihi"]
    arith = fx.arithmetic_of(read_network(artifact).target)
    assert arith.weight_bits == 5
    for name in artifact.layout["projections"]:
        assert int(arrays[proj_key(name, "num_weight_bits")]) == 5
        weight = arrays[proj_key(name, "weight")]
        # Lava stores exactly what was emitted: the mantissas lie on the 5-bit grid
        np.testing.assert_array_equal(fx.effective_weights(weight, weight.size, 5, arith), weight)
        assert len(np.unique(weight)) <= 2 ** 5
    assert run_artifact(artifact, spikes()).counters["spikes"] > 0


@LAVA_WARNINGS
@pytest.mark.lava
def test_five_weight_bits_engine_equals_lava(tmp_path: Path) -> None:
    require_lava()
    artifact = compile_graph(network(), edited_file(tmp_path, weight_bits=5))
    x = spikes(batch=2)
    engine = run_artifact(artifact, x, record_states=True)
    assert_identical(engine, lava_export.run_lava(artifact, x, record_states=True))
    assert engine.spikes["out"].any()
    assert verify.verify_against_lava(artifact, x[:1]).identical


# -- u_bits, v_bits 24 -> 20: compile sizes for it, the engine wraps there, Lava refuses ----
def test_compile_sizes_scales_for_a_20_bit_u(tmp_path: Path) -> None:
    wide = compile_graph(network(), "loihi2")
    narrow = compile_graph(network(), edited_file(tmp_path, u_bits=20, v_bits=20))
    for population in ("h", "out"):
        # no input can wrap u: the worst case stays within the target's u range
        assert worst_case_u(narrow, population) <= 1 << 19
    assert worst_case_u(wide, population="h") > 1 << 19  # so the 20-bit compile had to differ
    assert run_artifact(narrow, spikes()).counters["spikes"] > 0


def one_neuron(target) -> Artifact:
    """in (1) -> h (1): weight 150 << 6, u decays fully (du 4095), v not at all (dv 0), a
    threshold v never reaches; the input spikes every step."""
    one = np.ones(1, np.int64)
    pops = {n: PopulationSpec(n, 1, n == "in", 0 * one, one, 0 * one, 0 * one)
            for n in ("in", "h")}
    lif = LifSpec("h", 1, 4095, 0, (1 << 17) - 1, 0 * one, 0 * one, np.ones(1))
    proj = ProjectionSpec("p0", DENSE, "in", "h", np.array([[150]]), 6, 8, np.array(0))
    net = NetworkSpec(pops, {"h": lif}, {"p0": proj}, ("in",), ("h",), 1, target)
    graph = Graph(1e-3, {"in": Population("in", "input", (1,)),
                         "h": Population("h", "lif", (1,), {"tau_s": 0.02, "v_threshold": 1.0},
                                         "to_value")},
                  {"p0": Projection("p0", "in", "h", np.array([[150.0]]), np.array(1))},
                  ("in",), ("h",))
    return ra.artifact_of(net, graph)


def test_engine_wraps_u_and_saturates_v_at_the_edited_width() -> None:
    """By hand: a_in = 150 << 6 = 9600 enters u as 9600 << 6 = 614400 from step 1 on."""
    x = np.ones((1, 4, 1), dtype=np.uint8)
    narrow = run_artifact(one_neuron(ra.edited_target(u_bits=20, v_bits=20)), x,
                          record_states=True)
    wrapped = 614400 - (1 << 20)  # above 2**19: u loses 2**20 once
    np.testing.assert_array_equal(narrow.states["u/h"][0, :, 0], [0, wrapped, wrapped, wrapped])
    v_min = -(1 << 19) + 1  # v saturates at -(2**19 - 1)
    np.testing.assert_array_equal(narrow.states["v/h"][0, :, 0], [0, wrapped, v_min, v_min])
    lava = run_artifact(one_neuron(ra.edited_target()), x, record_states=True)  # 24 bits
    np.testing.assert_array_equal(lava.states["u/h"][0, :, 0], [0, 614400, 614400, 614400])
    np.testing.assert_array_equal(lava.states["v/h"][0, :, 0], [0, 614400, 1228800, 1843200])


def test_lava_export_and_verify_refuse_a_20_bit_u(tmp_path: Path) -> None:
    artifact = compile_graph(network(), edited_file(tmp_path, u_bits=20))
    message = r"key 'neuron\.u_bits'.*is 20; stock Lava.*implements 24.*uv_bitwidth.*exact engine"
    with pytest.raises(TargetError, match=message):
        lava_export.write_lava_script(artifact, tmp_path / "net.py")
    with pytest.raises(TargetError, match=message):
        verify.verify_against_lava(artifact, spikes())
    with pytest.raises(TargetError, match=message):
        lava_export.run_lava(artifact, spikes())
    assert not (tmp_path / "net.py").exists()
    assert run_artifact(artifact, spikes()).counters["steps"] == STEPS  # the engine runs it


@pytest.mark.parametrize("key, value, lava", [
    ("v_bits", 20, "24"), ("decay_shift_bits", 13, "12"), ("dv_offset", 1, "0"),
    ("act_shift_bits", 5, "6"), ("vth_bits", 18, "at most 17"),
    ("weight_clip_bits", 9, "8"), ("delay_max_steps", 100, "at most 63")])
def test_every_fixed_lava_number_is_checked(key: str, value: int, lava: str) -> None:
    target = ra.edited_target(bias_exp_min=-7, weight_exp_max=20, **{key: value})
    artifact = ra.build_artifact(ra.feed_forward(), 0, target)
    with pytest.raises(TargetError, match=rf"'{SECTION_OF[key]}\.{key}'.*is {value}; "
                                          rf"stock Lava .* implements {lava} "):
        lava_export.build_lava_network(artifact, np.zeros((12, 3), dtype=np.uint8))


def test_parameters_lava_takes_follow_the_target() -> None:
    """weight_bits up to 8, and the exponent ranges, are parameters of Lava's processes."""
    target = ra.edited_target(weight_bits=5, bias_exp_min=-7, weight_exp_min=-20,
                              weight_exp_max=20)
    lava_export.check_lava_target(target)  # no error


# -- a tampered stored target is refused on load ---------------------------------------------
def test_tampered_target_on_disk_is_refused(tmp_path: Path) -> None:
    directory = write_artifact(compile_graph(network(), "loihi2"), tmp_path / "art")
    manifest = json.loads((directory / "manifest.json").read_text())
    manifest["layout"]["target"]["neuron"]["u_bits"]["value"] = 1
    (directory / "manifest.json").write_text(json.dumps(manifest))
    loaded = read_artifact(directory)
    with pytest.raises(SimulationError, match=r"stored target.*'neuron\.u_bits'.*>= 2, got 1.*"
                                              r"compile the model again"):
        run_artifact(loaded, spikes())


def with_target(artifact: Artifact, change) -> Artifact:
    target = json.loads(json.dumps(artifact.layout["target"]))
    change(target)
    return dataclasses.replace(artifact, layout={**artifact.layout, "target": target})


@pytest.mark.parametrize("change, message", [
    (lambda t: t["synapse"]["weight_bits"].update(value=4),
     r"num_weight_bits.*holds 8, outside \[1, 4\].*synapse\.weight_bits"),
    (lambda t: t["neuron"]["du_bits"].update(value=10),
     r"pop/h/du.*outside \[0, 1023\].*neuron\.du_bits"),
    (lambda t: t["neuron"]["bias_exp_max"].update(value=-1),
     r"'bias_exp_max'.*expected a value >= bias_exp_min"),
    (lambda t: t["neuron"]["u_bits"].update(value="twenty"), r"'neuron\.u_bits'.*integer"),
    (lambda t: t["neuron"].pop("dv_offset"), r"'neuron\.dv_offset'.*missing"),
    (lambda t: t.update(family="spinnaker"), r"'family'.*expected 'loihi'"),
    (lambda t: t.clear(), r"stored target.*expected a string header key"),
])
def test_tampered_target_in_memory_is_refused(change, message) -> None:
    artifact = compile_graph(network(), "loihi2")
    with pytest.raises(SimulationError, match=message):
        run_artifact(with_target(artifact, change), spikes())


# -- Lava's numbers, read back from Lava ------------------------------------------------------
def lava_numbers() -> dict[str, int]:
    """Each number of ``LAVA_VALUES`` as Lava 0.10.0 itself holds it."""
    from lava.proc.dense import models as dense
    from lava.proc.lif.models import PyLifModelBitAcc
    from lava.proc.sparse import models as sparse
    from lava.utils.weightutils import truncate_weights

    model = PyLifModelBitAcc({})
    clips = {int(n) for module in (dense, sparse) for n in
             re.findall(r"clip_weights\(self\.weights, sign_mode, num_bits=(\d+)\)",
                        inspect.getsource(module))}
    max_bits = inspect.signature(truncate_weights).parameters["max_num_weight_bits"].default
    (delay_max,) = re.findall(r"np\.max\(self\.delays\) > (\d+)", inspect.getsource(dense))
    # DelaySparse holds the same delay range as DelayDense
    assert re.findall(r"np\.max\(self\.delays\) > (\d+)", inspect.getsource(sparse)) == [delay_max]
    assert (sparse.PyDelaySparseModelBitAcc.delays.precision
            == dense.PyDelayDenseModelBitAcc.delays.precision)
    assert len(clips) == 1 and clips == {max_bits}
    return {"decay_shift_bits": model.decay_shift, "du_offset": model.ds_offset,
            "dv_offset": model.dm_offset, "u_bits": model.uv_bitwidth,
            "v_bits": model.uv_bitwidth, "vth_shift_bits": model.vth_shift,
            "act_shift_bits": model.act_shift, "du_bits": PyLifModelBitAcc.du.precision,
            "dv_bits": PyLifModelBitAcc.dv.precision, "vth_bits": PyLifModelBitAcc.vth.precision,
            "bias_mant_bits": PyLifModelBitAcc.bias_mant.precision,
            "bias_exp_max": (1 << PyLifModelBitAcc.bias_exp.precision) - 1,
            "weight_clip_bits": clips.pop(), "weight_bits": max_bits,
            "delay_bits": dense.PyDelayDenseModelBitAcc.delays.precision,
            "delay_max_steps": int(delay_max)}


@LAVA_WARNINGS
@pytest.mark.lava
def test_lava_table_holds_lavas_own_numbers() -> None:
    require_lava()
    table = {fact.key: fact.value for fact in lava_export.LAVA_VALUES}
    assert table == lava_numbers()
    for name in ("loihi1", "loihi2"):  # the packaged targets are what stock Lava runs
        lava_export.check_lava_target(ra.edited_target(name))

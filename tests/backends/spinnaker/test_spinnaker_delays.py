"""Delays: on-core ring-buffer slots, delay-extension stages, and the limits' errors; the
engine delivers every delay exactly (against the float reference, delays up to 6 x the
on-core range)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import yaml

import neurocc
from neurocc.backends import load_target, resolve_target
from neurocc.backends.spinnaker.delays import split
from neurocc.compiler.errors import MappingError
from neurocc.compiler.graph import Graph, Population, Projection

SPEC = load_target("spinnaker1")  # 32 ticks on-core, 8 slots


def core_copy(folder: Path, **core: int) -> Path:
    info = resolve_target("spinnaker1")
    assert info.path is not None
    data = yaml.safe_load(info.path.read_text())
    data["name"] = "delay_copy"
    for key, value in core.items():
        data["core"][key]["value"] = value
    path = folder / "delay_copy.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


@pytest.mark.parametrize(("delay", "stage", "residual"),
                         [(1, 0, 1), (32, 0, 32), (33, 1, 1), (64, 1, 32), (65, 2, 1),
                          (256, 7, 32)])
def test_split_into_stages_and_residuals(delay: int, stage: int, residual: int) -> None:
    found = split("p", np.array([delay]), SPEC)
    assert (int(found[0][0]), int(found[1][0])) == (stage, residual)


def delay_graph(seed: int, max_delay: int) -> Graph:
    """IF neurons (the chip's update is the reference's) with delays 1..max_delay."""
    rng = np.random.default_rng(seed)
    n_in, n_out = 12, 6
    pops = {"in": Population("in", "input", (n_in,)),
            "out": Population("out", "if", (n_out,), {"v_threshold": 1e3, "r": 50.0},
                              "subtract")}
    weight = rng.normal(0.0, 1.0, (n_out, n_in))
    delay = rng.integers(1, max_delay + 1, (n_out, n_in))
    delay[0, :4] = [1, 32, 33, max_delay]  # the edges of the stages are always there
    return Graph(1e-3, pops, {"w": Projection("w", "in", "out", weight, delay)}, ("in",),
                 ("out",))


def test_engine_delivers_every_delay_exactly() -> None:
    """Delays up to 192 ticks (6 x the on-core 32): each input spike is delivered alone, so
    the chip's V, step by step, is the reference's sum of the same weight words."""
    graph = delay_graph(0, 192)
    artifact = neurocc.compile(graph, "spinnaker1")
    steps = 230
    spikes = np.zeros((2, steps, 12), dtype=np.uint8)
    spikes[0, 0] = 1  # every synapse fires once: its word lands exactly at its delay
    spikes[1, ::17] = (np.random.default_rng(1).random((len(range(0, steps, 17)), 12))
                       < 0.5)
    exact = neurocc.simulate(artifact, spikes, engine="exact", record_states=True)
    arrays = artifact.sections["spinnaker"]
    post, pre, word, stage, delay = (arrays[f"proj/w/{k}"] for k in
                                     ("post", "pre", "weight", "stage", "delay"))
    kind = arrays["proj/w/type"]
    shifts = artifact.layout["populations"]["out"]["shifts"]
    total = stage * 32 + delay
    # by hand: V[t] = sum over synapses fired at t0 with t0 + total <= t of +-word << shift
    signed = np.where(kind == 0, 1, -1) * (word << np.array(shifts)[kind])
    for b in range(2):
        v = np.zeros((steps, 6), dtype=np.int64)
        for t0 in np.flatnonzero(spikes[b].any(axis=1)):
            for i in range(post.size):
                if spikes[b, t0, pre[i]] and t0 + total[i] < steps:
                    v[t0 + total[i]:, post[i]] += signed[i]
        assert np.array_equal(exact.states["v/out"][b], v)
    ref = neurocc.simulate(artifact, spikes, engine="reference", record_states=True)
    resolution = max(artifact.graph.history[-3].details["projections"]["w"]
                     ["resolution"].values())
    bound = 12 * resolution / 2 * np.arange(1, steps + 1)[:, None]
    assert np.all(np.abs(exact.states["v/out"][0] / 2 ** 15 - ref.states["v/out"][0]) <= bound)
    # synaptic events count at delivery, within the run, as the reference counts them
    assert exact.counters["synops"] == ref.counters["synops"]


def test_delay_extension_re_sends_packets_once_per_stage() -> None:
    # one input neuron, targets at delays 10 (stage 0), 40 (stage 1) and 100 (stage 3)
    pops = {"in": Population("in", "input", (1,)),
            "out": Population("out", "if", (3,), {"v_threshold": 1e3}, "subtract")}
    proj = Projection("w", "in", "out", np.ones((3, 1)), np.array([[10], [40], [100]]))
    artifact = neurocc.compile(Graph(1e-3, pops, {"w": proj}, ("in",), ("out",)), "spinnaker1")
    spikes = np.zeros((1, 120, 1), dtype=np.uint8)
    spikes[0, 0] = 1
    result = neurocc.simulate(artifact, spikes, engine="exact")
    assert result.counters["packets"] == 3  # the spike, and the extension's stages 1 and 3
    assert result.counters["synops"] == 3


def test_larger_on_core_range_shrinks_the_slices_instead(tmp_path: Path) -> None:
    # 64 ticks on-core: 6 delay bits + 1 type bit leave 7 of 14 bits, 128 neurons per core
    target = core_copy(tmp_path, delay_max_on_core_steps=64)
    pops = {"in": Population("in", "input", (4,)),
            "out": Population("out", "lif", (300,), {"tau_s": 0.02, "v_threshold": 1.0},
                              "to_value")}
    proj = Projection("w", "in", "out", np.full((300, 4), 0.5), np.asarray(64))
    artifact = neurocc.compile(Graph(1e-3, pops, {"w": proj}, ("in",), ("out",)), target,
                               mapping="sequential")
    sizes = [c["neurons"] for c in artifact.layout["cores"] if c["population"] == "out"]
    assert sizes == [128, 128, 44]
    assert not any(c["population"].endswith(".delay") for c in artifact.layout["cores"])


def test_on_core_range_beyond_the_ring_buffer_names_the_limit(tmp_path: Path) -> None:
    target = core_copy(tmp_path, delay_max_on_core_steps=2 ** 14)
    pops = {"in": Population("in", "input", (4,)),
            "out": Population("out", "if", (3,), {"v_threshold": 1.0}, "to_value")}
    proj = Projection("w", "in", "out", np.ones((3, 4)), np.asarray(2 ** 14))
    with pytest.raises(MappingError, match="ring_buffer_bits = 14"):
        neurocc.compile(Graph(1e-3, pops, {"w": proj}, ("in",), ("out",)), target)


def test_on_core_range_below_the_minimum_delay_is_refused(tmp_path: Path) -> None:
    from neurocc.compiler.errors import TargetError
    with pytest.raises(TargetError, match="delay_max_on_core_steps"):
        load_target(core_copy(tmp_path, delay_min_steps=2, delay_max_on_core_steps=1))


def test_calibrated_scaling_sees_whole_delays_through_the_stages() -> None:
    # delays 40 and 72: stages 1 and 2 with the same on-core residual 8; one input spike
    # reaches the neuron at ticks 40 and 72, never together, so the observed slot sum is one
    # weight (1.5: shift 1), not two (3.0: shift 2)
    pops = {"in": Population("in", "input", (2,)),
            "out": Population("out", "if", (1,), {"v_threshold": 1e3}, "subtract")}
    proj = Projection("w", "in", "out", np.full((1, 2), 1.5e3), np.array([[40, 72]]))
    graph = Graph(1e-3, pops, {"w": proj}, ("in",), ("out",))
    spikes = np.zeros((1, 80, 2), dtype=np.uint8)
    spikes[0, 0, :] = 1
    artifact = neurocc.compile(graph, "spinnaker1", weight_scaling="calibrated",
                               calibration_spikes=spikes)
    assert set(artifact.sections["spinnaker"]["proj/w/delay"].tolist()) == {8}
    assert artifact.graph.history[-3].details["shifts"]["out"][0] == 1

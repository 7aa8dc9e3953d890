"""Mapping: every core within every limit, every neuron placed once; clear does-not-fit errors."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
import scipy.sparse as sp
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from neurocc.backends.loihi.mapping import (
    LIMITS,
    Synapses,
    core_position,
    latency_offsets,
    lava_delays,
    map_network,
)
from neurocc.backends.loihi.spec import TARGETS_DIR, LoihiSpec, spec_from_mapping
from neurocc.compiler.errors import MappingError
from neurocc.compiler.graph import Graph, Population, Projection


def small_spec(**values: int) -> LoihiSpec:
    data: dict[str, Any] = yaml.safe_load((TARGETS_DIR / "loihi1.yaml").read_text())
    for section in data.values():
        if isinstance(section, dict):
            for key, entry in section.items():
                if key in values:
                    entry["value"] = values[key]
    return spec_from_mapping(data, "small.yaml")


@st.composite
def networks(draw: st.DrawFn) -> tuple[dict[str, int], list[Synapses], LoihiSpec]:
    n_pops = draw(st.integers(1, 4))
    sizes = {f"p{i}": draw(st.integers(1, 30)) for i in range(n_pops)}
    names = list(sizes)
    synapses = []
    for k in range(draw(st.integers(0, 5))):
        src, dst = draw(st.sampled_from(names)), draw(st.sampled_from(names))
        seed = draw(st.integers(0, 2**16))
        density = draw(st.floats(0.05, 1.0))
        mask = sp.random(sizes[dst], sizes[src], density=density, format="csr",
                         random_state=seed, data_rvs=np.ones) != 0
        synapses.append(Synapses(f"j{k}", src, dst, sp.csr_array(mask),
                                 draw(st.integers(1, 14))))
    tiles_x, tiles_y, per_tile = (draw(st.integers(1, 4)) for _ in range(3))
    spec = small_spec(neurons_per_core=draw(st.integers(1, 16)),
                      synapses_per_core=draw(st.integers(30, 400)),
                      synaptic_memory_per_core_bits=draw(st.integers(420, 4000)),
                      fan_in_axons_per_core=draw(st.integers(30, 120)),
                      fan_out_axons_per_core=draw(st.integers(30, 200)),
                      tiles_x=tiles_x, tiles_y=tiles_y, cores_per_tile=per_tile,
                      cores_per_chip=tiles_x * tiles_y * per_tile, chips=draw(st.integers(1, 8)))
    return sizes, synapses, spec


def independent_usage(sizes: dict[str, int], synapses: list[Synapses],
                      core_of: dict[str, np.ndarray], core: int) -> dict[str, int]:
    """Recount one core's usage from the definitions, without the mapper's code."""
    usage = dict.fromkeys(LIMITS, 0)
    sources: set[tuple[str, int]] = set()
    for name in sizes:
        usage["neurons_per_core"] += int((core_of[name] == core).sum())
    for syn in synapses:
        post, pre = syn.mask.nonzero()
        here = core_of[syn.target][post] == core
        usage["synapses_per_core"] += int(here.sum())
        usage["synaptic_memory_per_core_bits"] += int(here.sum()) * syn.bits_per_synapse
        sources |= {(syn.source, int(p)) for p in pre[here]}
    usage["fan_in_axons_per_core"] = len(sources)
    routes: set[tuple[str, int, int]] = set()
    for syn in synapses:
        post, pre = syn.mask.nonzero()
        for i, j in zip(post, pre, strict=True):
            if core_of[syn.source][j] == core:
                routes.add((syn.source, int(j), int(core_of[syn.target][i])))
    usage["fan_out_axons_per_core"] = len(routes)
    return usage


@settings(max_examples=60, deadline=None)
@given(networks())
def test_every_core_respects_every_limit(case: tuple[dict[str, int], list[Synapses],
                                                   LoihiSpec]) -> None:
    sizes, synapses, spec = case
    try:
        placement = map_network(sizes, synapses, spec)
    except MappingError as exc:
        assert "limit" in str(exc)
        return
    for name, size in sizes.items():  # every neuron placed exactly once, on one core
        assert placement.core_of[name].shape == (size,)
    assert len(placement.cores) <= spec.cores_available
    for core in placement.cores:
        assert {core.population} == {n for n in sizes if core.id in placement.core_of[n]}
        usage = independent_usage(sizes, synapses, dict(placement.core_of), core.id)
        assert usage == core.usage()
        for limit in LIMITS:
            assert usage[limit] <= getattr(spec, limit)
        assert (core.chip, core.x, core.y) == core_position(core.id, spec)
    assert sum(c.neurons for c in placement.cores) == sum(sizes.values())


def test_messages_and_hops_per_spike_by_hand() -> None:
    # 2 cores per tile, tiles 2 x 2: core 0,1 -> tile (0,0); 2,3 -> (1,0); 4,5 -> (0,1)
    spec = small_spec(neurons_per_core=2, cores_per_tile=2, tiles_x=2, tiles_y=2,
                      cores_per_chip=8)
    sizes = {"a": 2, "b": 10}
    full = sp.csr_array(np.ones((10, 2), dtype=bool))
    placement = map_network(sizes, [Synapses("j", "a", "b", full, 8)], spec)
    assert placement.core_of["b"].tolist() == [1, 1, 2, 2, 3, 3, 4, 4, 5, 5]
    # a on core 0 (tile 0,0) reaches cores 1..5: tiles (0,0) (1,0) (1,0) (0,1) (0,1)
    assert placement.msg_per_spike["a"].tolist() == [5, 5]
    assert placement.hops_ew_per_spike["a"].tolist() == [2, 2]
    assert placement.hops_ns_per_spike["a"].tolist() == [2, 2]


def test_too_many_neurons_names_the_limit_and_value() -> None:
    spec = small_spec(neurons_per_core=4, chips=1)  # 128 cores x 4 neurons
    with pytest.raises(MappingError, match=r"needs 130 cores, above the limit of 128.*'big'"):
        map_network({"big": 4 * 130}, [], spec)


def test_fan_in_of_one_neuron_above_the_limit() -> None:
    spec = small_spec(fan_in_axons_per_core=100)
    mask = sp.csr_array(np.ones((1, 150), dtype=bool))
    with pytest.raises(MappingError, match=r"population 'post'.*fan_in_axons_per_core = 150.*"
                       r"limit of 100.*[Pp]rune"):
        map_network({"pre": 150, "post": 1}, [Synapses("j", "pre", "post", mask, 8)], spec)


def chain(delays: list[int], feedback: int | None = None) -> Graph:
    names = ["in"] + [f"p{i}" for i in range(len(delays))]
    pops = {"in": Population("in", "input", (1,))}
    pops |= {n: Population(n, "lif", (1,), {"tau_s": 1e-2, "v_threshold": 1.0}, "to_value")
             for n in names[1:]}
    projs = {f"j{i}": Projection(f"j{i}", names[i], names[i + 1], np.ones((1, 1)),
                                 np.array(d)) for i, d in enumerate(delays)}
    if feedback is not None:
        projs["back"] = Projection("back", names[-1], names[1], np.ones((1, 1)),
                                   np.array(feedback))
    return Graph(1e-3, pops, projs, ("in",), (names[-1],))


def test_latency_offsets_and_lava_delays() -> None:
    spec = small_spec()
    graph = chain([0, 0, 3])  # in -> p0 -> p1 -(3)-> p2
    offsets, record = latency_offsets(graph)
    assert offsets == {"in": 0, "p0": 1, "p1": 2, "p2": 0} and record["exact"]
    delays, errors = lava_delays(graph, offsets, spec)
    assert [int(delays[f"j{i}"]) for i in range(3)] == [0, 0, 0] and errors == {}
    # a loop p0 -> p1 -(1)-> p0 has two projections but one step of delay: infeasible
    loop = chain([0, 0], feedback=1)
    offsets, record = latency_offsets(loop)
    assert not record["exact"] and offsets == {"in": 0, "p0": 1, "p1": 2}
    delays, errors = lava_delays(loop, offsets, spec)
    assert int(delays["back"]) == 0 and errors == {"back": 1}  # wanted 1 + 1 - 2 - 1 = -1


def test_delay_above_the_target_range() -> None:
    graph = chain([0, 70])  # L(p0) = 1, L(p1) = 0: Lava delay 70 + 0 - 1 - 1 = 68
    offsets, _ = latency_offsets(graph)
    with pytest.raises(MappingError, match=r"projection 'j1'.*68 steps.*delay_max_steps of 62"):
        lava_delays(graph, offsets, small_spec())


def test_explicit_zeros_are_not_synapses() -> None:
    # mantissas as the mask: a stored 0 (a weight rounded to zero) takes no synapse, no axon
    spec = small_spec(neurons_per_core=4)
    data = np.array([[3, 0, 0, 0], [0, 0, 0, 0], [0, 0, 5, 0]])
    with_zeros = sp.csr_array((np.array([3, 0, 0, 5]), np.array([0, 1, 3, 2]),
                               np.array([0, 3, 3, 4])), shape=(3, 4))
    assert with_zeros.nnz == 4 and (with_zeros.toarray() == data).all()
    placement = map_network({"a": 4, "b": 3}, [Synapses("j", "a", "b", with_zeros, 8)], spec)
    core = placement.cores[-1]  # b's three neurons on one core
    assert (core.neurons, core.synapses, core.fan_in_axons) == (3, 2, 2)
    assert placement.msg_per_spike["a"].tolist() == [1, 0, 1, 0]

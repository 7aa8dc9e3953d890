"""SpiNNaker mapping: traffic-aware partition/placement against the sequential baseline."""

from __future__ import annotations

import hashlib
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from test_spinnaker_routing import target_copy, three_pops  # same folder (pytest's sys.path)

import neurocc
from neurocc.backends import load_target
from neurocc.backends.artifact import write_artifact
from neurocc.compiler.errors import MappingError
from neurocc.compiler.graph import Graph, Population, Projection

LIF = {"tau_s": 0.02, "v_threshold": 1.0}


def interleaved(n: int = 1024, classes: int = 4) -> Graph:
    """in(n) -> out(n): source i reaches every out neuron j with j = i (mod classes).

    Best partition by hand: one class per core (n / classes = 256 neurons), so each source
    reaches exactly 1 core (traffic n); contiguous slices hold every class, so each source
    reaches all n / 256 cores (traffic n * n / 256)."""
    idx = np.arange(n)
    weight = np.where(idx[:, None] % classes == idx[None, :] % classes, 0.01, 0.0)
    pops = {"in": Population("in", "input", (n,)),
            "out": Population("out", "lif", (n,), LIF, "to_value")}
    return Graph(1e-3, pops, {"w": Projection("w", "in", "out", weight, np.asarray(1))},
                 ("in",), ("out",))


def synfire(groups: int = 6, size: int = 128) -> Graph:
    """One population of ``groups`` groups, group g -> g + 1 all to all, groups interleaved
    in the index (neuron i is in group i mod groups). Best partition by hand (256 per core):
    two whole groups per core, so a neuron reaches 1 core: traffic (groups - 1) * size."""
    n = groups * size
    group = np.arange(n) % groups
    weight = np.where(group[:, None] == group[None, :] + 1, 0.05, 0.0)  # (post, pre)
    pops = {"in": Population("in", "input", (size,)),
            "chain": Population("chain", "lif", (n,), LIF, "to_value")}
    kick = np.where(group[:, None] == 0, 2.0, 0.0) * np.ones((1, size))
    projs = {"kick": Projection("kick", "in", "chain", kick, np.asarray(1)),
             "next": Projection("next", "chain", "chain", weight, np.asarray(1))}
    return Graph(1e-3, pops, projs, ("in",), ("chain",))


def random_recurrent(seed: int, n_in: int = 40, n: int = 300, density: float = 0.05,
                     max_delay: int = 3) -> Graph:
    rng = np.random.default_rng(seed)
    w_in = rng.random((n, n_in)) * (rng.random((n, n_in)) < 0.2) * 0.8
    w_rec = (rng.random((n, n)) - 0.3) * (rng.random((n, n)) < density)
    delay = rng.integers(1, max_delay + 1, size=(n, n))
    pops = {"in": Population("in", "input", (n_in,)),
            "rec": Population("rec", "lif", (n,), LIF, "to_value")}
    projs = {"in_rec": Projection("in_rec", "in", "rec", w_in, np.asarray(1)),
             "rec_rec": Projection("rec_rec", "rec", "rec", w_rec, delay)}
    return Graph(1e-3, pops, projs, ("in",), ("rec",))


def record(artifact: neurocc.backends.artifact.Artifact, name: str) -> dict:
    return next(r.details for r in artifact.graph.history if r.name == name)


@pytest.mark.parametrize(("graph", "best", "baseline"), [
    (interleaved(), 1024, 4096),
    # chain: 5 links of 128 neurons; kick: 128 inputs into group 0. Slices of 256 hold
    # every group, so each source reaches 3 cores there, and 1 when groups share cores.
    (synfire(), 5 * 128 + 128, (5 * 128 + 128) * 3),
])
def test_traffic_reaches_the_hand_computed_optimum(graph: Graph, best: int,
                                                   baseline: int) -> None:
    traffic = record(neurocc.compile(graph, "spinnaker1", mapping="traffic"), "spinnaker.map")
    sequential = record(neurocc.compile(graph, "spinnaker1", mapping="sequential"),
                        "spinnaker.map")
    assert sequential["multicast_traffic"] == baseline
    assert traffic["multicast_traffic"] == best
    assert traffic["cores"] == sequential["cores"]  # same number of cores, better filled


def test_auto_partitions_by_traffic_only_up_to_the_synapse_limit() -> None:
    graph = interleaved()
    synapses = sum(int(np.count_nonzero(p.weight)) for p in graph.projections.values())
    small = record(neurocc.compile(graph, "spinnaker1", traffic_max_synapses=synapses),
                   "spinnaker.map")
    large = record(neurocc.compile(graph, "spinnaker1", traffic_max_synapses=synapses - 1),
                   "spinnaker.map")
    assert (small["mapping"], small["synapses"]) == ("traffic", synapses)
    assert small["multicast_traffic"] == 1024  # the hand-computed optimum above
    assert (large["mapping"], large["multicast_traffic"]) == ("sequential", 4096)


def test_interleaved_classes_share_a_core() -> None:
    artifact = neurocc.compile(interleaved(), "spinnaker1", mapping="traffic")
    core = artifact.sections["spinnaker"]["map/out/core"]
    for c in np.unique(core):
        assert np.unique(np.flatnonzero(core == c) % 4).size == 1


def _check_placement(artifact: neurocc.backends.artifact.Artifact, caps: dict[str, int]
                     ) -> None:
    layout, arrays = artifact.layout, artifact.sections["spinnaker"]
    cores = layout["cores"]
    target = layout["target"]
    chips_x, chips_y = target["mesh"]["chips_x"]["value"], target["mesh"]["chips_y"]["value"]
    per_chip = target["mesh"]["cores_per_chip"]["value"]
    for name, entry in layout["populations"].items():
        core, slot = arrays[f"map/{name}/core"], arrays[f"map/{name}/slot"]
        assert core.size == slot.size == entry["size"]
        assert set(np.unique(core).tolist()) == set(entry["cores"])
        for c in entry["cores"]:
            held = np.sort(slot[core == c])
            assert cores[c]["population"] == name
            assert cores[c]["neurons"] == held.size <= caps[name]
            assert np.array_equal(held, np.arange(held.size))  # slots 0..n-1, each once
    places = [(c["x"], c["y"], c["local"]) for c in cores]
    assert len(set(places)) == len(places)
    assert all(0 <= x < chips_x and 0 <= y < chips_y and 0 <= p < per_chip
               for x, y, p in places)


@settings(max_examples=8, deadline=None)
@given(st.integers(0, 2 ** 16), st.sampled_from([1, 40, 200]), st.integers(20, 300))
def test_every_budget_holds_under_both_mappings(seed: int, delay: int, size: int) -> None:
    # a copy with 4 cores per chip on a 4 x 3 mesh: several cores and chips
    with tempfile.TemporaryDirectory() as tmp:
        path = target_copy(Path(tmp), "small", chips_x=4, chips_y=3, cores_per_chip=4)
        rng = np.random.default_rng(seed)
        graph = random_recurrent(seed, n=size, density=float(rng.uniform(0.01, 0.2)),
                                 max_delay=delay)
        for mapping in ("traffic", "sequential"):
            artifact = neurocc.compile(graph, path, mapping=mapping)
            # the ring buffer holds the on-core part of the delays (longer ones go through
            # extension stages): index bits = 14 - its delay bits - 1 type bit, 256 at most
            on_core = int(artifact.sections["spinnaker"]["proj/rec_rec/delay"].max())
            cap = min(256, 2 ** (14 - int(np.ceil(np.log2(on_core))) - 1))
            _check_placement(artifact, {"in": 256, "rec": cap})
            used = artifact.layout["resources"]
            assert used["sdram_per_chip"]["used"] <= used["sdram_per_chip"]["limit"]
            assert used["ring_buffer_per_core"]["used"] <= used["ring_buffer_per_core"]["limit"]


def test_engine_spikes_are_identical_under_both_mappings() -> None:
    graph = random_recurrent(3, n=600, density=0.05)
    spikes = (np.random.default_rng(1).random((3, 30, 40)) < 0.3).astype(np.uint8)
    runs = {m: neurocc.simulate(neurocc.compile(graph, "spinnaker1", mapping=m), spikes,
                                engine="exact") for m in ("traffic", "sequential")}
    a, b = runs["traffic"], runs["sequential"]
    assert a.spikes["rec"].sum() > 100  # the network is active
    for name in a.spikes:
        assert np.array_equal(a.spikes[name], b.spikes[name])
    for counter in ("synops", "packets", "spikes"):
        assert a.counters[counter] == b.counters[counter]


def test_packet_hops_follow_the_trees_by_hand(tmp_path: Path) -> None:
    # two chips in a row, 2 cores each, sequential: in, a on chip (0,0); b on (1,0).
    # in's tree reaches a (local) and b (one link east): 1 link; a's tree reaches b: 1 link.
    target = target_copy(tmp_path, "two_chips", chips_x=2, chips_y=1, cores_per_chip=2)
    artifact = neurocc.compile(three_pops(), target, mapping="sequential")
    assert artifact.layout["routing"]["tree_links"] == [1, 1, 0]
    spikes = np.zeros((1, 3, 4), dtype=np.uint8)
    spikes[0, 0] = 1  # the 4 inputs fire once
    result = neurocc.simulate(artifact, spikes, engine="exact")
    a_spikes = int(result.spikes["a"].sum())
    assert result.counters["packets"] == 4 + a_spikes  # b has no targets: no packets
    assert result.counters["packet_hops"] == 4 + a_spikes
    from neurocc.report import simulation_report
    energy = simulation_report(artifact, result, n_inferences=1)["energy"]
    per_packet = load_target(target).energy_per_packet_pj
    hops = energy["breakdown"]["packet_hops"]
    assert hops["energy_pj"] == pytest.approx((4 + a_spikes) * per_packet)


def _artifact_digest(graph_code: str) -> str:
    code = ("import hashlib, sys, tempfile, pathlib, neurocc\n"
            "from neurocc.backends.artifact import write_artifact\n"
            "from test_spinnaker_mapping import interleaved, synfire  # noqa: F401\n"
            f"a = neurocc.compile({graph_code}, 'spinnaker1')\n"
            "d = pathlib.Path(tempfile.mkdtemp())\nwrite_artifact(a, d)\n"
            "h = hashlib.sha256()\n"
            "for p in sorted(d.iterdir()): h.update(p.name.encode()); h.update(p.read_bytes())\n"
            "print(h.hexdigest())\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         cwd=Path(__file__).parent, check=True)
    return out.stdout.strip().splitlines()[-1]


def test_traffic_mapping_is_byte_identical_across_processes() -> None:
    first = _artifact_digest("synfire()")  # another process, another Mt-KaHyPar start
    artifact = neurocc.compile(synfire(), "spinnaker1")
    with tempfile.TemporaryDirectory() as tmp:
        write_artifact(artifact, tmp)
        h = hashlib.sha256()
        for p in sorted(Path(tmp).iterdir()):
            h.update(p.name.encode())
            h.update(p.read_bytes())
    assert h.hexdigest() == first


def test_too_many_cores_is_an_error_naming_the_limit(tmp_path: Path) -> None:
    target = target_copy(tmp_path, "one_chip", chips_x=1, chips_y=1, cores_per_chip=3)
    with pytest.raises(MappingError, match=r"cores = 8 cores, above the limit of 3"):
        neurocc.compile(interleaved(), target)  # in: 4 cores, out: 4 cores -> 8 > 3


def test_synaptic_rows_beyond_a_chip_are_an_error(tmp_path: Path) -> None:
    target = target_copy(tmp_path, "tiny_sdram", chips_x=2, chips_y=1, cores_per_chip=8)
    import yaml
    data = yaml.safe_load(target.read_text())
    data["core"]["sdram_per_chip_bytes"]["value"] = 4096
    target.write_text(yaml.safe_dump(data))
    with pytest.raises(MappingError, match=r"synaptic rows per chip = \d+ bytes, above the "
                                           r"limit of 4096"):
        neurocc.compile(interleaved(), target)


def test_repair_canonical_and_region_by_hand() -> None:
    from neurocc.backends.spinnaker.partition import canonical, chip_region, repair
    # block 0 holds 3 with a cap of 2: its highest neuron moves to the block with room
    assert repair(np.array([0, 0, 0, 1]), [2, 2]).tolist() == [0, 0, 1, 1]
    # labels follow the smallest member: block 2 holds neuron 0, so it becomes 0
    assert canonical(np.array([2, 2, 0, 1])).tolist() == [0, 0, 1, 2]
    # 3 chips: a 2 x 2 block, x-major, first 3; 13 chips on 8 x 6: 4 x 4, first 13
    assert chip_region(3, 8, 6) == [(0, 0), (1, 0), (0, 1)]
    assert chip_region(13, 8, 6)[-1] == (0, 3) and len(chip_region(13, 8, 6)) == 13
    # a flat mesh: the block takes its full width (16 chips of 8 x 2: all of them)
    assert chip_region(16, 8, 2) == [(x, y) for y in range(2) for x in range(8)]

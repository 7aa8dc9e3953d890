"""SpiNNaker routing: zoned keys, X-then-Y trees, compression that keeps every key's route."""

from __future__ import annotations

import itertools
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

import neurocc
from neurocc.backends import load_target, resolve_target
from neurocc.backends.spinnaker.mapping import Core, Placement
from neurocc.backends.spinnaker.routing import (
    Entry,
    Table,
    allocate_keys,
    build_tables,
    compress,
    destinations,
    is_default,
    lookup,
    route,
    tree_links,
)
from neurocc.compiler.errors import MappingError
from neurocc.compiler.graph import Graph, Population, Projection

SPEC = load_target("spinnaker1")
FULL = (1 << 32) - 1


def target_copy(folder: Path, name: str, **mesh: int) -> Path:
    """A copy of spinnaker1.yaml with some mesh numbers changed."""
    info = resolve_target("spinnaker1")
    assert info.path is not None
    data = yaml.safe_load(info.path.read_text())
    data["name"] = name
    for key, value in mesh.items():
        data["mesh"][key]["value"] = value
    path = folder / f"{name}.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


def three_pops() -> Graph:
    """in(4) -> a(3), in -> b(3), a -> b: all to all, so every core reaches every later one."""
    lif = {"tau_s": 0.02, "v_threshold": 1.0}
    pops = {"in": Population("in", "input", (4,)),
            "a": Population("a", "lif", (3,), lif, "to_value"),
            "b": Population("b", "lif", (3,), lif, "to_value")}
    projs = {"ia": Projection("ia", "in", "a", np.full((3, 4), 0.5), np.asarray(1)),
             "ib": Projection("ib", "in", "b", np.full((3, 4), 0.5), np.asarray(1)),
             "ab": Projection("ab", "a", "b", np.full((3, 3), 0.5), np.asarray(1))}
    return Graph(1e-3, pops, projs, ("in",), ("b",))


def test_two_chip_network_has_the_hand_checked_entries(tmp_path: Path) -> None:
    # cores: in -> chip (0,0) core 0, a -> chip (0,0) core 1, b -> chip (1,0) core 0
    target = target_copy(tmp_path, "two_chips", chips_x=2, chips_y=1, cores_per_chip=2)
    artifact = neurocc.compile(three_pops(), target, mapping="sequential")
    routing = artifact.layout["routing"]
    # blocks of 4 keys each (3 or 4 neurons round up to 4), aligned, in core order
    assert routing["keys"] == [{"key": 0, "mask": FULL ^ 3}, {"key": 4, "mask": FULL ^ 3},
                               {"key": 8, "mask": FULL ^ 3}]
    # chip (0,0): 'in' goes east and to local core 1 (a); 'a' only east: two routes, 2 entries.
    # chip (1,0): both arrive from the west for local core 0 (b): keys 0-3 and 4-7 merge
    # into key 0 / mask ~7.
    assert routing["chips"] == [
        {"x": 0, "y": 0, "entries": 2, "default_routed": 0, "compressed": 2},
        {"x": 1, "y": 0, "entries": 2, "default_routed": 0, "compressed": 1}]
    assert artifact.layout["resources"]["routing_entries_per_chip"] == {
        "used": 2, "limit": 1023, "unit": "entries"}
    record = artifact.graph.history[-1]
    assert record.name == "spinnaker.route"
    assert record.details["entries_before"] == 4 and record.details["entries_after"] == 3


def test_tree_goes_x_then_y_and_straight_through_entries_are_default_routed() -> None:
    spec = SPEC  # 6 links: E 0, NE 1, N 2, W 3, SW 4, S 5
    cores = [Core("p", 8, 0, 0, 0, 0, 0, 0), Core("q", 8, 1, 2, 1, 1, 0, 0)]
    keys = allocate_keys(cores, spec)
    tables = build_tables(cores, keys, [{1}, set()], spec)
    assert list(tables) == [(0, 0), (1, 0), (2, 0), (2, 1)]
    routes = {chip: (t.entries[0].route, t.entries[0].arrived) for chip, t in tables.items()}
    local = 1  # q is core 1 of its chip
    assert routes[(0, 0)] == ((frozenset({0}), frozenset()), None)
    assert routes[(1, 0)] == ((frozenset({0}), frozenset()), 3)
    assert routes[(2, 0)] == ((frozenset({2}), frozenset()), 3)
    assert routes[(2, 1)] == ((frozenset(), frozenset({local})), 5)
    assert [is_default(t.entries[0], spec) for t in tables.values()] == [False, True, False,
                                                                         False]
    assert compress(tables[(1, 0)], spec).entries == []


def test_router_entry_limit_names_the_chip(tmp_path: Path) -> None:
    target = target_copy(tmp_path, "tiny_router", chips_x=2, chips_y=1, cores_per_chip=2,
                         router_entries_per_chip=1)
    with pytest.raises(MappingError, match=r"chip \(0, 0\).*2 entries after compression.*"
                                           r"router_entries_per_chip = 1"):
        neurocc.compile(three_pops(), target, mapping="sequential")


ROUTES = [(frozenset(links), frozenset(cores)) for links, cores in
          [((0,), ()), ((3,), ()), ((), (1,)), ((0, 2), (4,)), ((5,), (0, 1))]]


@st.composite
def tables(draw: Any) -> Table:
    """Disjoint aligned key blocks with random routes and arrival links."""
    entries, base = [], 0
    for _ in range(draw(st.integers(1, 24))):
        block = 1 << draw(st.integers(0, 3))
        base = -(-base // block) * block + block * draw(st.integers(0, 2))
        arrived = draw(st.sampled_from([None, 0, 1, 2, 3, 4, 5]))
        entries.append(Entry(base, FULL ^ (block - 1), draw(st.sampled_from(ROUTES)), arrived))
        base += block
    return Table(entries)


def _keys(entry: Entry) -> range:
    return range(entry.key, entry.key + (FULL ^ entry.mask) + 1)


@settings(max_examples=300, deadline=None)
@given(tables())
def test_compression_keeps_every_keys_route(table: Table) -> None:
    small = compress(table, SPEC)
    assert len(small.entries) <= len(table.entries)
    for entry in table.entries:
        for key in _keys(entry):
            before = lookup(table.entries, key, entry.arrived, SPEC)
            assert before == entry.route
            assert lookup(small.entries, key, entry.arrived, SPEC) == before


def random_network(seed: int, layers: int = 3, size: int = 300, density: float = 0.05
                   ) -> Graph:
    """A feed-forward random network: ``layers`` LIF layers of ``size`` behind an input."""
    rng = np.random.default_rng(seed)
    lif = {"tau_s": 0.02, "v_threshold": 1.0}
    names = ["in"] + [f"l{i}" for i in range(layers)]
    pops = {"in": Population("in", "input", (size,))}
    pops.update({n: Population(n, "lif", (size,), lif, "to_value") for n in names[1:]})
    projs = {}
    for src, dst in itertools.pairwise(names):
        weight = rng.random((size, size)) * (rng.random((size, size)) < density)
        projs[f"{src}_{dst}"] = Projection(f"{src}_{dst}", src, dst, weight, np.asarray(1))
    return Graph(1e-3, pops, projs, ("in",), (names[-1],))


@settings(max_examples=15, deadline=None)
@given(st.integers(0, 2 ** 16), st.integers(1, 6))
def test_tables_fit_the_limit_or_raise(seed: int, limit: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        target = target_copy(Path(tmp), "small_mesh", chips_x=3, chips_y=2, cores_per_chip=2,
                             router_entries_per_chip=limit)
        graph = random_network(seed, layers=2, size=300, density=0.01)
        try:
            artifact = neurocc.compile(graph, target)
        except MappingError as error:
            assert "router_entries_per_chip" in str(error)
            return
    chips = artifact.layout["routing"]["chips"]
    assert max(c["compressed"] for c in chips) <= limit
    assert all(c["compressed"] <= c["entries"] for c in chips)


def test_a_four_link_mesh_numbers_east_north_west_south(tmp_path: Path) -> None:
    spec = load_target(target_copy(tmp_path, "grid", links_per_chip=4))
    cores = [Core("p", 8, 0, 1, 1, 0, 0, 0), Core("q", 8, 1, 0, 0, 1, 0, 0)]
    tables = build_tables(cores, allocate_keys(cores, spec), [{1}, set()], spec)
    # west from (1,1) to (0,1) on link 2, then south to (0,0) on link 3 (arriving by north, 1)
    assert [(chip, t.entries[0].route[0], t.entries[0].arrived) for chip, t in tables.items()
            ] == [((0, 0), frozenset(), 1), ((0, 1), frozenset({3}), 0),
                  ((1, 1), frozenset({2}), None)]


def test_an_odd_link_count_is_refused(tmp_path: Path) -> None:
    from neurocc.compiler.errors import TargetError
    with pytest.raises(TargetError, match=r"mesh\.links_per_chip"):
        neurocc.compile(three_pops(), target_copy(tmp_path, "odd", links_per_chip=5))


def reference_route(placement: Placement, pairs: dict[str, tuple[str, str]],
                    synapses: dict[str, tuple[np.ndarray, np.ndarray]], spec: Any
                    ) -> dict[str, Any]:
    """``route``'s layout from the per-entry Python definitions (sets, Entry objects)."""
    cores = placement.cores
    keys = allocate_keys(cores, spec)
    reach = destinations(placement, pairs, synapses)
    chips = []
    for chip, table in build_tables(cores, keys, reach, spec).items():
        small = compress(table, spec)
        chips.append({"x": chip[0], "y": chip[1], "entries": len(table.entries),
                      "default_routed": len(small.defaults), "compressed": len(small.entries)})
    return {"keys": [{"key": k, "mask": m} for k, m in keys], "chips": chips,
            "destinations": [len(r) for r in reach],
            "tree_links": tree_links(cores, reach, spec)}


@settings(max_examples=25, deadline=None)
@given(st.integers(0, 2 ** 16), st.integers(2, 5), st.integers(1, 4), st.integers(2, 6),
       st.sampled_from([4, 6]))
def test_array_routing_equals_the_entry_by_entry_definition(
        seed: int, chips_x: int, chips_y: int, per_chip: int, links: int) -> None:
    """Random cores of random sizes scattered over a mesh, random synapses between them."""
    rng = np.random.default_rng(seed)
    with tempfile.TemporaryDirectory() as tmp:
        spec = load_target(target_copy(Path(tmp), "mesh", chips_x=chips_x, chips_y=chips_y,
                                       cores_per_chip=per_chip, links_per_chip=links))
    slots = [(x, y, k) for y in range(chips_y) for x in range(chips_x) for k in range(per_chip)]
    n_cores = int(rng.integers(1, len(slots) + 1))
    where = [slots[i] for i in rng.permutation(len(slots))[:n_cores]]
    sizes = rng.integers(1, 9, size=n_cores)
    population = rng.integers(0, 3, size=n_cores)  # cores of three populations
    cores = [Core(f"p{p}", int(n), y * chips_x + x, x, y, k, 0, 0)
             for (x, y, k), n, p in zip(where, sizes, population, strict=True)]
    core_of = {f"p{p}": np.repeat(np.flatnonzero(population == p), sizes[population == p])
               for p in range(3)}
    pairs, synapses = {}, {}
    for a, b in itertools.product(range(3), repeat=2):
        n_pre, n_post = core_of[f"p{a}"].size, core_of[f"p{b}"].size
        count = int(rng.integers(0, 40)) if n_pre and n_post else 0
        pairs[f"{a}{b}"] = (f"p{a}", f"p{b}")
        synapses[f"{a}{b}"] = (rng.integers(0, max(n_pre, 1), count),
                               rng.integers(0, max(n_post, 1), count))
    placement = Placement(cores, core_of, {})
    assert route(placement, pairs, synapses, spec) == reference_route(placement, pairs,
                                                                      synapses, spec)

"""Keys, multicast routes and compressed routing tables (``shared/reference/spinnaker.md`` §3, §8).

* Keys are zoned as PACMAN's allocator lays them out: each core owns a block of
  ``2**bits(its neurons)`` keys, aligned to its size, so one key/mask matches the core, and a
  neuron's key is the block's base plus its slot on the core (``Placement.slot_of``).
* Each source core sends to the cores that hold at least one of its synapses' targets. Packets
  travel X first, then Y, over the mesh (no wrap-around); every chip on the way gets an entry
  ``(key, mask) -> links + local cores``.
* Each chip's table is compressed: default-route removal (a packet that no entry matches
  leaves on the link opposite the one it came in by) and pair compression (entries with the
  same route merge into a covering key/mask that overlaps no entry routing differently).
* The compressed table must fit ``router_entries_per_chip``; a MappingError names the chip.
* Each core's tree has ``chips - 1`` links: the spike-hops of one of its packets
  (``layout["routing"]["tree_links"]``, which the engine counts as ``packet_hops``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from neurocc.backends.family import resource_use
from neurocc.backends.spinnaker import kernels
from neurocc.backends.spinnaker.mapping import Core, Placement, _bits, unique_pairs
from neurocc.backends.targets import TargetSpec
from neurocc.compiler.errors import MappingError

Route = tuple[frozenset[int], frozenset[int]]  # (links out, local cores)


@dataclass(frozen=True)
class Entry:
    """One router entry; ``arrived`` is the link a packet came in by (None: sent on this chip)."""

    key: int
    mask: int
    route: Route
    arrived: int | None = None


@dataclass
class Table:
    """A chip's entries, and the default-routed ones removed from it (kept to protect them)."""

    entries: list[Entry]
    defaults: list[Entry] = field(default_factory=list)


def allocate_keys(cores: list[Core], spec: TargetSpec) -> list[tuple[int, int]]:
    """(base key, mask) per core, in core order: blocks aligned to their power-of-two size."""
    full = (1 << spec.key_bits) - 1
    keys, base = [], 0
    for core in cores:
        block = 1 << _bits(core.neurons)
        base = -(-base // block) * block  # align up, so the mask matches the block exactly
        keys.append((base, full ^ (block - 1)))
        base += block
    if base > full + 1:
        raise MappingError(f"target '{spec.name}'", f"the cores need {base} keys, more than "
                           f"key_bits = {spec.key_bits} give.",
                           "Use fewer, fuller cores, or a target copy with more key bits.")
    return keys


def destinations(placement: Placement, projections: Mapping[str, tuple[str, str]],
                 synapses: Mapping[str, tuple[np.ndarray, np.ndarray]]) -> list[set[int]]:
    """Per source core, the cores that hold a target of at least one of its synapses."""
    found: list[set[int]] = [set() for _ in placement.cores]
    for name, (source, target) in projections.items():
        pre, post = synapses[name]
        src, dst = unique_pairs(placement.core_of[source][pre], placement.core_of[target][post])
        for s, d in zip(src.tolist(), dst.tolist(), strict=True):
            found[s].add(d)
    return found


def _links(spec: TargetSpec) -> dict[tuple[int, int], int]:
    """Step (dx, dy) -> link number: links count anticlockwise from east, so the opposite of
    link l is l + links/2 (east 0 / west links/2, north links/2 - 1 / south links - 1)."""
    half = spec.links_per_chip // 2
    return {(1, 0): 0, (-1, 0): half, (0, 1): half - 1, (0, -1): spec.links_per_chip - 1}


def opposite(link: int, spec: TargetSpec) -> int:
    return (link + spec.links_per_chip // 2) % spec.links_per_chip


def _path(start: tuple[int, int], end: tuple[int, int]) -> list[tuple[int, int]]:
    """The steps from ``start`` to ``end``: X first, then Y."""
    steps = []
    for axis in (0, 1):
        gap = end[axis] - start[axis]
        unit = (int(np.sign(gap)), 0) if axis == 0 else (0, int(np.sign(gap)))
        steps += [unit] * abs(gap)
    return steps


def _tree(source: Core, targets: Iterable[tuple[tuple[int, int], int]], spec: TargetSpec
          ) -> dict[tuple[int, int], tuple[set[int], set[int], int | None]]:
    """chip -> (links out, local cores, link arrived by) of one source's multicast tree.

    X-then-Y paths from one chip form a tree (each chip's path is a prefix-closed walk), so
    every chip has one arrival link."""
    links = _links(spec)
    tree: dict[tuple[int, int], tuple[set[int], set[int], int | None]] = {
        (source.x, source.y): (set(), set(), None)}
    for chip, local_core in targets:
        here = (source.x, source.y)
        for step in _path(here, chip):
            tree[here][0].add(links[step])
            here = (here[0] + step[0], here[1] + step[1])
            tree.setdefault(here, (set(), set(), opposite(links[step], spec)))
        tree[here][1].add(local_core)
    return tree


def build_tables(cores: list[Core], keys: list[tuple[int, int]], reach: list[set[int]],
                 spec: TargetSpec) -> dict[tuple[int, int], Table]:
    """The uncompressed table of every chip a route passes, chips in (x, y) order."""
    tables: dict[tuple[int, int], Table] = {}
    for i, src in enumerate(cores):
        if not reach[i]:
            continue
        targets = [((cores[j].x, cores[j].y), cores[j].local) for j in sorted(reach[i])]
        for chip, (out, local, arrived) in _tree(src, targets, spec).items():
            route = (frozenset(out), frozenset(local))
            tables.setdefault(chip, Table([])).entries.append(Entry(*keys[i], route, arrived))
    return dict(sorted(tables.items()))


def is_default(entry: Entry, spec: TargetSpec) -> bool:
    """True when the packet would leave straight through without the entry."""
    out, local = entry.route
    return (entry.arrived is not None and not local
            and out == frozenset({opposite(entry.arrived, spec)}))


def _overlap(a: Entry, key: int, mask: int) -> bool:
    return (a.key ^ key) & a.mask & mask == 0


def _cover(a: Entry, b: Entry, spec: TargetSpec) -> Entry:
    """The smallest key/mask matching both: the bits where their keys and masks agree."""
    mask = a.mask & b.mask & ~(a.key ^ b.key) & ((1 << spec.key_bits) - 1)
    return Entry(a.key & mask, mask, a.route, a.arrived)


def _merge_group(group: list[Entry], others: list[Entry], spec: TargetSpec) -> list[Entry]:
    """Greedy pair merging within one route, never over a key of ``others``."""
    group = list(group)
    i = 0
    while i < len(group):
        for j in range(i + 1, len(group)):
            cover = _cover(group[i], group[j], spec)
            if not any(_overlap(e, cover.key, cover.mask) for e in others):
                group[i] = cover
                del group[j]
                break
        else:
            i += 1  # nothing merges with entry i any more: move on
    return group


def _merge(table: Table, spec: TargetSpec) -> list[Entry]:
    """Pair compression, route by route: a cover never overlaps an entry that routes
    differently (the default-routed ones included), so the routes of the entries left stay
    disjoint and the first-match order of the table cannot change where a key goes."""
    groups: dict[Route, list[Entry]] = {}
    for entry in table.entries:
        groups.setdefault(entry.route, []).append(entry)
    merged = []
    for route_, group in groups.items():
        others = [e for e in table.entries + table.defaults if e.route != route_]
        merged += _merge_group(group, others, spec)
    return merged


def compress(table: Table, spec: TargetSpec) -> Table:
    """Default-route removal, then pair compression."""
    kept = [e for e in table.entries if not is_default(e, spec)]
    dropped = [e for e in table.entries if is_default(e, spec)]
    removed = Table(kept, table.defaults + dropped)
    return Table(_merge(removed, spec), removed.defaults)


def lookup(entries: list[Entry], key: int, arrived: int | None, spec: TargetSpec) -> Route:
    """Where the router sends ``key``: the first matching entry, else straight through."""
    for entry in entries:
        if (key ^ entry.key) & entry.mask == 0:
            return entry.route
    if arrived is None:
        return (frozenset(), frozenset())  # a local packet nothing matches is dropped
    return (frozenset({opposite(arrived, spec)}), frozenset())


def check_fits(chip: tuple[int, int], before: int, after: int, spec: TargetSpec) -> None:
    if after > spec.router_entries_per_chip:
        raise MappingError(f"chip ({chip[0]}, {chip[1]}) of target '{spec.name}'",
                           f"its routing table holds {after} entries after compression "
                           f"({before} before), above the limit of router_entries_per_chip = "
                           f"{spec.router_entries_per_chip}.",
                           "Place fewer or fuller cores, cut the fan-out of the populations "
                           "routed through this chip, or use a target copy with more router "
                           "entries.")


def tree_links(cores: list[Core], reach: list[set[int]], spec: TargetSpec) -> list[int]:
    """Per core, the mesh links of its multicast tree (a tree of n chips has n - 1 links)."""
    return [len(_tree(src, [((cores[j].x, cores[j].y), cores[j].local) for j in reach[i]],
                      spec)) - 1 for i, src in enumerate(cores)]


def reach(placement: Placement, projections: Mapping[str, tuple[str, str]],
          synapses: Mapping[str, tuple[np.ndarray, np.ndarray]]
          ) -> tuple[np.ndarray, np.ndarray]:
    """``destinations`` as CSR: per source core (``ptr``), its destination cores ascending,
    from one pass over the synapses into a (cores x cores) bit matrix."""
    n = len(placement.cores)
    bits = np.zeros((n, -(-n // kernels.LANE_BITS)), dtype=np.uint64)
    for name, (source, target) in projections.items():
        pre, post = synapses[name]
        kernels.mark_pairs(bits, placement.core_of[source], pre, placement.core_of[target],
                           post)
    return kernels.bit_lists(bits, n)


def route(placement: Placement, projections: Mapping[str, tuple[str, str]],
          synapses: Mapping[str, tuple[np.ndarray, np.ndarray]], spec: TargetSpec
          ) -> dict[str, Any]:
    """The ``layout["routing"]`` of placed cores: keys, entries per chip, links per tree.

    The trees and tables of ``build_tables`` and ``compress``, computed on arrays
    (``kernels.trees``, ``kernels.compressed_counts``): the layout keeps per chip only the
    entry counts before and after compression."""
    cores = placement.cores
    keys = np.array(allocate_keys(cores, spec), dtype=np.int64).reshape(-1, 2)
    ptr, dst = reach(placement, projections, synapses)
    x, y, on_chip = (np.array([getattr(c, k) for c in cores], dtype=np.int64)
                     for k in ("x", "y", "local"))
    compass = _links(spec)
    links = (compass[(1, 0)], compass[(-1, 0)], compass[(0, 1)], compass[(0, -1)])
    words = -(-(int(on_chip.max(initial=0)) + 1) // kernels.LANE_BITS)
    tree_links, chip_ptr, source, out, arrival, local = kernels.trees(
        ptr, dst, x, y, on_chip, int(spec.chips_x), int(spec.chips_y), links,
        int(spec.links_per_chip), words)
    # a route is (links out, local cores): equal rows, equal route
    _, route_of = np.unique(np.column_stack([out, local.view(np.int64)]), axis=0,
                            return_inverse=True)
    back = np.where(arrival >= 0, (arrival + spec.links_per_chip // 2) % spec.links_per_chip, 0)
    default = (arrival >= 0) & ~local.any(axis=1) & (out == np.left_shift(1, back))
    left = kernels.compressed_counts(chip_ptr, keys[source, 0], keys[source, 1],
                                     route_of.reshape(-1).astype(np.int64), default,
                                     (1 << spec.key_bits) - 1)
    chips = []
    defaults = np.concatenate([[0], np.cumsum(default)])[chip_ptr]
    for c in np.flatnonzero(np.diff(chip_ptr)).tolist():  # chips in (x, y) order
        chip = divmod(c, int(spec.chips_y))
        before = int(chip_ptr[c + 1] - chip_ptr[c])
        check_fits(chip, before, int(left[c]), spec)
        chips.append({"x": chip[0], "y": chip[1], "entries": before,
                      "default_routed": int(defaults[c + 1] - defaults[c]),
                      "compressed": int(left[c])})
    return {"keys": [{"key": int(k), "mask": int(m)} for k, m in keys.tolist()],
            "chips": chips, "destinations": np.diff(ptr).tolist(),
            "tree_links": tree_links.tolist()}


def resources(routing: Mapping[str, Any], spec: TargetSpec) -> dict[str, dict[str, Any]]:
    """The routing entries of the fullest chip after compression, against the limit."""
    worst = max((c["compressed"] for c in routing["chips"]), default=0)
    return {"routing_entries_per_chip": resource_use(worst, spec.router_entries_per_chip,
                                                     "entries")}


def summary(routing: Mapping[str, Any]) -> dict[str, int]:
    """The history record's totals and worst chip, before and after compression."""
    chips = routing["chips"]
    return {"chips_routed": len(chips),
            "entries_before": sum(c["entries"] for c in chips),
            "entries_after": sum(c["compressed"] for c in chips),
            "max_entries_before": max((c["entries"] for c in chips), default=0),
            "max_entries_after": max((c["compressed"] for c in chips), default=0)}

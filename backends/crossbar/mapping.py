"""Tiling and conductance mapping: each projection onto arrays, rows = inputs, columns = outputs.

A projection is cut by delay (one array read delivers one step's spikes), then into blocks
of at most ``rows`` source neurons by ``cols / (2 x slices)`` target neurons (equal-as-possible
splits, as aihwkit's ``get_split_sizes``). A block without a nonzero weight takes no array.
The occupied blocks are found from the weights first (a sparse projection's CSR, in batches
of target rows: cost ~ synapses + one flag per block, never one per (post, pre) pair) and
counted against ``tiles_per_chip`` before any array is built; then each occupied block is
made dense on its own from the synapses of its column chunk. Arrays are numbered per
projection and delay, source chunks outer, target chunks inner (the engine's device seeds
follow that index, so a sparse and a dense build of one network get the same arrays).

Per tile, with ``L = levels - 1`` conductance steps per device, ``n`` slices and
``M = (L + 1)^n - 1`` the largest magnitude code:

    s = max |w| / M                     (weight per code step: the per-tile scaling)
    m = round(|w| / s)                  (magnitude code, 0..M)
    d_k = floor(m / (L + 1)^k) mod (L + 1)   (digit of slice k, k = 0..n-1)
    G+_k = g_min + d_k dG,  G-_k = g_min     for w > 0 (and the reverse for w < 0)

with ``dG = (g_max - g_min) / L``. The artifact stores the signed digits ``sign(w) d_k``;
the engine programs the conductances from them. The read is ``sum_k (L + 1)^k (I+_k - I-_k)
/ (v_read dG)`` times ``s``, summed digitally over the row blocks (``docs/crossbar.md``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import scipy.sparse as sp
from tqdm import tqdm

from neurocc.backends.family import resource_use
from neurocc.backends.targets import TargetSpec
from neurocc.compiler.errors import MappingError
from neurocc.compiler.graph import Graph, Projection

CODE_BITS = 62  # magnitude codes are int64 (one bit for the sign, one spare)
# synapses read at once when counting a sparse projection's occupied tiles (bounds the
# temporaries of the count, not a hardware limit)
BATCH_SYNAPSES = 1 << 22


@dataclass(frozen=True)
class Tile:
    """One array: which synapses it holds (source rows x target columns) and its scale."""

    projection: str
    source: str
    target: str
    receptor: str
    delay_steps: int
    rows: tuple[int, int]  # source neurons [lo, hi)
    cols: tuple[int, int]  # target neurons [lo, hi)
    scale: float  # weight of one magnitude code step
    max_error: float  # largest |w - s m| over the tile (the weight quantization)


def split_sizes(size: int, most: int) -> list[tuple[int, int]]:
    """``ceil(size / most)`` contiguous chunks of near-equal size, as [lo, hi) pairs."""
    count = max(math.ceil(size / most), 1)
    base, extra = divmod(size, count)
    bounds = np.cumsum([0] + [base + (i < extra) for i in range(count)])
    return [(int(bounds[i]), int(bounds[i + 1])) for i in range(count)]


def outputs_per_tile(spec: TargetSpec, slices: int) -> int:
    """Target neurons one array holds: a differential pair of columns per slice each."""
    bits = slices * math.log2(spec.levels)
    if bits > CODE_BITS:
        raise MappingError(f"target '{spec.name}'", f"weight_slices = {slices} at {spec.levels} "
                           f"levels makes {bits:.0f}-bit magnitude codes, above the limit of "
                           f"{CODE_BITS} bits (a 64-bit integer).",
                           f"Use weight_slices <= {int(CODE_BITS // math.log2(spec.levels))}.")
    per = spec.cols // (2 * slices)
    if per < 1:
        raise MappingError(f"target '{spec.name}'", f"weight_slices = {slices} needs "
                           f"{2 * slices} columns per weight, above the limit of cols = "
                           f"{spec.cols}.", f"Use weight_slices <= {spec.cols // 2}.")
    return per


def code_dtype(levels: int) -> np.dtype:
    """The narrowest signed integer dtype of a slice digit, ``-(levels - 1) .. levels - 1``."""
    return np.result_type(np.min_scalar_type(-(levels - 1)), np.int8)


def delay_groups(proj: Projection) -> list[tuple[int, np.ndarray | sp.csr_array]]:
    """(delay, weight (target, source)) per distinct delay; a single delay keeps the weight."""
    if proj.delay_steps.ndim == 0:
        return [(int(proj.delay_steps), proj.weight)]
    post, pre, w, delays = proj.coo()
    return [(int(d), sp.csr_array((w[delays == d], (post[delays == d], pre[delays == d])),
                                  shape=proj.shape)) for d in np.unique(delays)]


def bounds_of(chunks: list[tuple[int, int]]) -> np.ndarray:
    """The chunks' boundaries ``[lo_0, lo_1, ..., hi_last]`` (int64)."""
    return np.array([lo for lo, _ in chunks] + [chunks[-1][1]], dtype=np.int64)


def chunk_of(bounds: np.ndarray) -> np.ndarray:
    """The chunk index of every position ``0 .. bounds[-1] - 1``."""
    return np.repeat(np.arange(bounds.size - 1, dtype=np.int64), np.diff(bounds))


def occupied(weight: np.ndarray | sp.csr_array, row_bounds: np.ndarray, col_bounds: np.ndarray
             ) -> np.ndarray:
    """Which tiles hold a nonzero weight: bool (row chunks of the sources, column chunks of
    the targets). A sparse weight is read from its CSR in batches of target rows, so the
    cost is the stored synapses plus one flag per tile, never one per (post, pre) pair."""
    n_rows, n_cols = row_bounds.size - 1, col_bounds.size - 1
    found = np.zeros((n_cols, n_rows), dtype=bool)
    if isinstance(weight, np.ndarray):
        if weight.size:  # the dense matrix exists already; reduce it chunk by chunk
            nonzero = np.asarray(weight) != 0
            per_col = np.logical_or.reduceat(nonzero, col_bounds[:-1], axis=0)
            found = np.logical_or.reduceat(per_col, row_bounds[:-1], axis=1)
        return found.T
    row_chunk = chunk_of(row_bounds)
    starts = weight.indptr[col_bounds]  # first synapse of each column chunk
    lo = 0
    while lo < n_cols:
        # a batch of column chunks with about BATCH_SYNAPSES synapses (at least one chunk)
        hi = max(int(np.searchsorted(starts, starts[lo] + BATCH_SYNAPSES, "right")) - 1, lo + 1)
        a, b = int(starts[lo]), int(starts[hi])
        counts = np.diff(starts[lo:hi + 1])
        col = np.repeat(np.arange(lo, hi, dtype=np.int64), counts)
        keep = weight.data[a:b] != 0  # a stored zero is no synapse
        found[col[keep], row_chunk[weight.indices[a:b][keep]]] = True
        lo = hi
    return found.T


Entries = tuple[np.ndarray, np.ndarray, np.ndarray]  # a tile's (row, column, weight)


def block(weight: np.ndarray, rows: tuple[int, int], cols: tuple[int, int]) -> Entries:
    """A dense weight's tile as its nonzero entries (source row, target column, weight),
    positions relative to the tile."""
    w = np.asarray(weight[cols[0]:cols[1], rows[0]:rows[1]], dtype=np.float64).T
    r, c = np.nonzero(w)
    return r, c, w[r, c]


def column_blocks(part: sp.csr_array, row_bounds: np.ndarray, row_chunk: np.ndarray,
                  wanted: np.ndarray) -> dict[int, Entries]:
    """The entries of the tiles ``wanted`` (row chunk indices) of one column chunk ``part``
    (its CSR rows: the chunk's targets; canonical, so each (post, pre) once)."""
    post = np.repeat(np.arange(part.shape[0], dtype=np.int64), np.diff(part.indptr))
    chunk = row_chunk[part.indices]
    order = np.argsort(chunk, kind="stable")
    edges = np.searchsorted(chunk[order], np.stack([wanted, wanted + 1]))
    blocks = {}
    for ri, start, stop in zip(wanted.tolist(), edges[0].tolist(), edges[1].tolist(),
                               strict=True):
        pick = order[start:stop]
        keep = part.data[pick] != 0  # a stored zero is no synapse
        pick = pick[keep]
        blocks[ri] = (part.indices[pick] - row_bounds[ri], post[pick], part.data[pick])
    return blocks


def digits(w: np.ndarray, levels: int, slices: int) -> tuple[np.ndarray, float, float]:
    """Signed slice digits (slices, *w.shape), the scale s and the largest rounding error."""
    found, scale, error = entry_digits(np.asarray(w, dtype=np.float64).reshape(-1), levels,
                                       slices)
    return found.reshape(slices, *np.shape(w)), scale, error


def entry_digits(w: np.ndarray, levels: int, slices: int) -> tuple[np.ndarray, float, float]:
    """Signed slice digits (slices, n) of the weights ``w`` (n,) of one tile, its scale s and
    the largest rounding error. A tile's zeros have digits 0 and error 0, so its nonzero
    entries alone give the same s, digits and error as the whole tile."""
    base = levels
    top = base ** slices - 1
    peak = float(np.abs(w).max()) if w.size else 0.0
    scale = peak / top if peak > 0 else 1.0
    magnitude = np.rint(np.abs(w) / scale).astype(np.int64)
    error = float(np.abs(np.abs(w) - magnitude * scale).max()) if w.size else 0.0
    found = np.stack([(magnitude // base ** k) % base for k in range(slices)])
    return np.sign(w).astype(np.int64)[None] * found, scale, error


def tile_codes(entries: Entries, shape: tuple[int, int], levels: int, slices: int
               ) -> tuple[np.ndarray, float, float]:
    """The (slices, rows, cols) signed digits of one tile (narrowest dtype), s and error."""
    r, c, w = entries
    found, scale, error = entry_digits(w, levels, slices)
    codes = np.zeros((slices, *shape), dtype=code_dtype(levels))
    codes[:, r, c] = found
    return codes, scale, error


@dataclass(frozen=True, eq=False)
class Group:
    """One projection at one delay: its weight, its tile grid and which tiles are occupied."""

    name: str
    proj: Projection
    receptor: str
    delay_steps: int
    weight: np.ndarray | sp.csr_array
    row_bounds: np.ndarray  # source-neuron chunk boundaries (array rows)
    col_bounds: np.ndarray  # target-neuron chunk boundaries (array columns)
    occupied: np.ndarray  # bool (row chunks, column chunks)


def plan(graph: Graph, spec: TargetSpec, per: int) -> list[Group]:
    """Every projection's delay groups and occupied tiles, counted from the weights (CSR
    for a sparse projection) before any array is built."""
    groups = []
    for name, proj in graph.projections.items():
        receptor = graph.receptor_of(proj)
        row_bounds = bounds_of(split_sizes(proj.shape[1], spec.rows))
        col_bounds = bounds_of(split_sizes(proj.shape[0], per))
        for delay, weight in delay_groups(proj):
            if not isinstance(weight, np.ndarray) and not weight.has_canonical_format:
                weight = weight.copy()  # repeated (post, pre) entries add up, as in toarray
                weight.sum_duplicates()
            groups.append(Group(name, proj, receptor, delay, weight, row_bounds, col_bounds,
                                occupied(weight, row_bounds, col_bounds)))
    return groups


def tiles_of(group: Group, spec: TargetSpec, slices: int
             ) -> tuple[list[Tile], list[np.ndarray]]:
    """The occupied tiles of one group and their signed digits, rows outer, columns inner
    (the order fixes each array's index, hence its device seeds)."""
    rows, cols, weight = group.row_bounds, group.col_bounds, group.weight
    row_chunk = chunk_of(rows) if sp.issparse(weight) else None
    built: dict[tuple[int, int], tuple[Tile, np.ndarray]] = {}
    for ci in np.flatnonzero(group.occupied.any(axis=0)).tolist():
        wanted = np.flatnonzero(group.occupied[:, ci])
        col = (int(cols[ci]), int(cols[ci + 1]))
        if row_chunk is not None:  # one CSR row slice per column chunk
            blocks = column_blocks(weight[col[0]:col[1]], rows, row_chunk, wanted)
        else:
            blocks = {ri: block(weight, (int(rows[ri]), int(rows[ri + 1])), col)
                      for ri in wanted.tolist()}
        for ri, entries in blocks.items():
            row = (int(rows[ri]), int(rows[ri + 1]))
            found, scale, error = tile_codes(entries, (row[1] - row[0], col[1] - col[0]),
                                             int(spec.levels), slices)
            proj = group.proj
            built[ri, ci] = (Tile(group.name, proj.source, proj.target, group.receptor,
                                  group.delay_steps, row, col, scale, error), found)
    ordered = [built[key] for key in sorted(built)]
    return [t for t, _ in ordered], [c for _, c in ordered]


def map_graph(graph: Graph, spec: TargetSpec, slices: int, progress: bool = False
              ) -> tuple[list[Tile], list[np.ndarray]]:
    """Every projection's occupied tiles and their signed digits, in projection order.

    The arrays needed are counted first (``plan``): a graph that does not fit fails before
    any array is built. ``progress``: a bar over the arrays built."""
    groups = plan(graph, spec, outputs_per_tile(spec, slices))
    check_fits(groups, spec)
    total = needed(groups)
    tiles: list[Tile] = []
    codes: list[np.ndarray] = []
    # only made when asked: a tqdm bar creates a multiprocessing lock
    bar = tqdm(total=total, desc="crossbar arrays", unit="array") if progress else None
    try:
        for group in groups:
            found, digits_of = tiles_of(group, spec, slices)
            tiles += found
            codes += digits_of
            if bar is not None:
                bar.update(len(found))
    finally:
        if bar is not None:
            bar.close()
    return tiles, codes


def needed(groups: list[Group]) -> int:
    """Arrays the groups occupy."""
    return sum(int(g.occupied.sum()) for g in groups)


def tiles_needed(graph: Graph, spec: TargetSpec, slices: int = 1) -> int:
    """Arrays ``graph`` needs on ``spec`` (its occupied tiles), counted from the weights
    without building any: to size a target copy (``derive_target(..., tiles_per_chip=)``)."""
    return needed(plan(graph, spec, outputs_per_tile(spec, slices)))


def check_fits(groups: list[Group], spec: TargetSpec) -> None:
    """A graph needing more arrays than the chip has is refused (from the counts alone),
    naming the projections that take the most."""
    total = needed(groups)
    if total <= spec.tiles_per_chip:
        return
    per: dict[str, int] = {}
    for group in groups:
        per[group.name] = per.get(group.name, 0) + int(group.occupied.sum())
    most = sorted(per.items(), key=lambda item: -item[1])[:3]
    shown = ", ".join(f"'{name}' {count}" for name, count in most)
    raise MappingError(f"target '{spec.name}'", f"the graph needs {total} arrays, above the "
                       f"limit of tiles_per_chip = {spec.tiles_per_chip} (most: {shown}).",
                       "Prune the model (`--pass prune.magnitude`), or use a target with at "
                       f"least {total} arrays: a copy of the target file, or "
                       f"`neurocc.backends.derive_target('{spec.name}', "
                       f"tiles_per_chip={total})`.")


def resources(tiles: list[Tile], slices: int, spec: TargetSpec) -> dict[str, Any]:
    """Arrays and cells used against the chip's limits."""
    cells = sum((t.rows[1] - t.rows[0]) * (t.cols[1] - t.cols[0]) * 2 * slices for t in tiles)
    per_array = spec.rows * spec.cols
    return {"tiles": resource_use(len(tiles), spec.tiles_per_chip, "arrays"),
            "cells": resource_use(cells, spec.tiles_per_chip * per_array, "devices"),
            "cells_in_used_tiles": resource_use(cells, len(tiles) * per_array, "devices")}

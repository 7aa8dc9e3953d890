"""Tiling and conductance mapping: each projection onto arrays, rows = inputs, columns = outputs.

A projection is cut by delay (one array read delivers one step's spikes), then into blocks
of at most ``rows`` source neurons by ``cols / (2 x slices)`` target neurons (equal-as-possible
splits, as aihwkit's ``get_split_sizes``). Only one block is dense at a time, so a sparse
projection is never densified beyond one tile; an all-zero block takes no array.

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

from neurocc.backends.family import resource_use
from neurocc.backends.targets import TargetSpec
from neurocc.compiler.errors import MappingError
from neurocc.compiler.graph import Graph, Projection

CODE_BITS = 62  # magnitude codes are int64 (one bit for the sign, one spare)


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


def delay_groups(proj: Projection) -> list[tuple[int, np.ndarray | sp.csr_array]]:
    """(delay, weight (target, source)) per distinct delay; a single delay keeps the weight."""
    if proj.delay_steps.ndim == 0:
        return [(int(proj.delay_steps), proj.weight)]
    post, pre, w, delays = proj.coo()
    return [(int(d), sp.csr_array((w[delays == d], (post[delays == d], pre[delays == d])),
                                  shape=proj.shape)) for d in np.unique(delays)]


def block(weight: np.ndarray | sp.csr_array, rows: tuple[int, int], cols: tuple[int, int]
          ) -> np.ndarray:
    """The tile's weights as a dense (rows, cols) matrix: source x target."""
    part = weight[cols[0]:cols[1], rows[0]:rows[1]]
    dense = part.toarray() if isinstance(part, sp.sparray) else np.asarray(part)
    return np.asarray(dense, dtype=np.float64).T


def digits(w: np.ndarray, levels: int, slices: int) -> tuple[np.ndarray, float, float]:
    """Signed slice digits (slices, rows, cols), the scale s and the largest rounding error."""
    base = levels
    top = base ** slices - 1
    peak = float(np.abs(w).max())
    scale = peak / top if peak > 0 else 1.0
    magnitude = np.rint(np.abs(w) / scale).astype(np.int64)
    error = float(np.abs(np.abs(w) - magnitude * scale).max()) if w.size else 0.0
    found = np.stack([(magnitude // base ** k) % base for k in range(slices)])
    return np.sign(w).astype(np.int64)[None] * found, scale, error


def map_graph(graph: Graph, spec: TargetSpec, slices: int
              ) -> tuple[list[Tile], list[np.ndarray]]:
    """Every projection's tiles and their signed digits, in projection order."""
    per = outputs_per_tile(spec, slices)
    tiles: list[Tile] = []
    codes: list[np.ndarray] = []
    needed = 0
    for name, proj in graph.projections.items():
        receptor = graph.receptor_of(proj)
        for delay, weight in delay_groups(proj):
            for rows in split_sizes(proj.shape[1], spec.rows):
                for cols in split_sizes(proj.shape[0], per):
                    w = block(weight, rows, cols)
                    if not w.any():
                        continue  # no synapse here: no array
                    needed += 1
                    if needed > spec.tiles_per_chip:
                        continue  # counted for the error, not stored: it does not fit anyway
                    found, scale, error = digits(w, int(spec.levels), slices)
                    tiles.append(Tile(name, proj.source, proj.target, receptor, delay, rows,
                                      cols, scale, error))
                    codes.append(found)
    check_fits(needed, spec)
    return tiles, codes


def check_fits(needed: int, spec: TargetSpec) -> None:
    if needed > spec.tiles_per_chip:
        raise MappingError(f"target '{spec.name}'", f"the graph needs {needed} arrays, "
                           f"above the limit of tiles_per_chip = {spec.tiles_per_chip}.",
                           "Prune the model (`--pass prune.magnitude`), or use a target with "
                           "more arrays (a copy of the target file).")


def resources(tiles: list[Tile], slices: int, spec: TargetSpec) -> dict[str, Any]:
    """Arrays and cells used against the chip's limits."""
    cells = sum((t.rows[1] - t.rows[0]) * (t.cols[1] - t.cols[0]) * 2 * slices for t in tiles)
    per_array = spec.rows * spec.cols
    return {"tiles": resource_use(len(tiles), spec.tiles_per_chip, "arrays"),
            "cells": resource_use(cells, spec.tiles_per_chip * per_array, "devices"),
            "cells_in_used_tiles": resource_use(cells, len(tiles) * per_array, "devices")}

"""Crossbar mapping: tile splits, slice digits by hand, arrays per projection and delay,
sparse blocks, resources and the limits."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import scipy.sparse as sp

import neurocc
from neurocc.backends import load_target
from neurocc.backends.crossbar.mapping import digits, map_graph, split_sizes
from neurocc.backends.targets import Entry
from neurocc.compiler.errors import MappingError
from neurocc.compiler.graph import Graph, Population, Projection


def two_layer(weight, delay=0) -> Graph:
    n_out, n_in = weight.shape
    pops = {"in": Population("in", "input", (n_in,)),
            "out": Population("out", "output", (n_out,))}
    proj = Projection("w", "in", "out", weight, np.asarray(delay))
    return Graph(1e-3, pops, {"w": proj}, ("in",), ("out",))


def test_split_sizes_are_near_equal_chunks() -> None:
    assert split_sizes(600, 256) == [(0, 200), (200, 400), (400, 600)]
    assert split_sizes(512, 256) == [(0, 256), (256, 512)]
    assert split_sizes(10, 256) == [(0, 10)]
    assert split_sizes(7, 3) == [(0, 3), (3, 5), (5, 7)]


def test_digits_by_hand() -> None:
    # levels 4, 2 slices: M = 15, s = 1.5 / 15 = 0.1; m = 15, 5, 0, 3 -> base-4 digits
    w = np.array([[1.5, -0.5], [0.0, 0.3]])
    found, scale, error = digits(w, levels=4, slices=2)
    assert scale == pytest.approx(0.1)
    np.testing.assert_array_equal(found[0], [[3, -1], [0, 3]])  # units digit
    np.testing.assert_array_equal(found[1], [[3, -1], [0, 0]])  # fours digit
    assert error == pytest.approx(0.0, abs=1e-12)
    _, scale, error = digits(np.array([[1.0, 0.26]]), levels=2, slices=1)
    assert scale == 1.0 and error == pytest.approx(0.26)  # 0.26 rounds to 0


def test_tiles_cover_a_large_projection_once() -> None:
    rng = np.random.default_rng(0)
    weight = rng.normal(size=(300, 600))
    tiles, codes = map_graph(two_layer(weight), load_target("pcm256"), slices=1)
    # rows: 600 inputs -> 3 x 200; columns: 128 pairs per array -> 300 outputs as 3 x 100
    assert len(tiles) == 9
    assert {t.rows for t in tiles} == {(0, 200), (200, 400), (400, 600)}
    assert {t.cols for t in tiles} == {(0, 100), (100, 200), (200, 300)}
    assert all(c.shape == (1, 200, 100) for c in codes)
    for tile in tiles:
        block = weight[tile.cols[0]:tile.cols[1], tile.rows[0]:tile.rows[1]]
        assert tile.scale == pytest.approx(np.abs(block).max() / 255)
        assert tile.max_error <= tile.scale / 2 + 1e-12


def test_slices_halve_the_outputs_per_array() -> None:
    weight = np.ones((200, 10))
    one, _ = map_graph(two_layer(weight), load_target("pcm256"), slices=1)
    two, codes = map_graph(two_layer(weight), load_target("pcm256"), slices=2)
    assert (len(one), len(two)) == (2, 4)  # 128 vs 64 outputs per array
    assert codes[0].shape == (2, 10, 50)


def test_zero_blocks_of_a_sparse_projection_take_no_array() -> None:
    weight = sp.lil_array((300, 600))
    weight[250, 550] = 1.0
    tiles, codes = map_graph(two_layer(sp.csr_array(weight)), load_target("pcm256"), slices=1)
    assert len(tiles) == 1 and tiles[0].rows == (400, 600) and tiles[0].cols == (200, 300)
    assert int(np.abs(codes[0]).sum()) == 255


def test_each_delay_gets_its_own_arrays() -> None:
    weight = np.array([[1.0, 2.0], [3.0, 4.0]])
    graph = two_layer(weight, delay=np.array([[1, 2], [1, 2]]))
    tiles, codes = map_graph(graph, load_target("pcm256"), slices=1)
    assert sorted(t.delay_steps for t in tiles) == [1, 2]
    by_delay = {t.delay_steps: c for t, c in zip(tiles, codes, strict=True)}
    # delay 1: source 0 feeds targets with 1 and 3 (s = 3 / 255); source 1 is absent
    np.testing.assert_array_equal(by_delay[1][0], [[85, 255], [0, 0]])


def test_resources_and_limits() -> None:
    art = neurocc.compile(two_layer(np.ones((300, 200))), "rram256k")
    resources = art.layout["resources"]
    assert resources["tiles"] == {"used": 3, "limit": 4, "unit": "arrays"}
    assert resources["cells"]["used"] == 300 * 200 * 2
    assert resources["cells_in_used_tiles"]["limit"] == 3 * 256 * 256
    with pytest.raises(MappingError, match="9 arrays, above the limit of tiles_per_chip = 4"):
        neurocc.compile(two_layer(np.ones((300, 600))), "rram256k")


def test_weight_slices_out_of_range_are_refused() -> None:
    graph = two_layer(np.ones((2, 2)))
    with pytest.raises(MappingError, match="weight_slices"):
        neurocc.compile(graph, "rram256k", weight_slices=0)
    with pytest.raises(MappingError, match="80-bit magnitude codes, above the limit of 62"):
        neurocc.compile(graph, "rram256k", weight_slices=20)  # 16 levels: 4 bits a slice
    narrow = dataclasses.replace(load_target("rram256k"), entries={
        **load_target("rram256k").entries, "levels": Entry(2, "test"), "cols": Entry(64, "t")})
    with pytest.raises(MappingError, match="80 columns per weight, above the limit of cols"):
        map_graph(graph, narrow, slices=40)


def test_history_records_the_quantization_error() -> None:
    art = neurocc.compile(two_layer(np.array([[1.0, 0.5 + 1 / 45]])), "rram256k")
    record = next(r for r in art.graph.history if r.name == "crossbar.quantize")
    # 16 levels: s = 1/15; 0.5 + 1/45 = 7.833 steps -> 8 steps, error 1/6 of a step
    assert record.details["max_weight_error"]["w"] == pytest.approx(1 / 90)

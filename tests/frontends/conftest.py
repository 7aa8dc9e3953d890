"""Helpers for the NIR frontend tests: write a NIR graph to a file, compare graphs."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import nir
import numpy as np
import pytest

from neurocc.compiler.graph import Graph


def same_graph(a: Graph, b: Graph) -> None:
    """Populations, projections (weights, delays, receptors), ports and dt are identical."""
    assert a.dt_s == b.dt_s
    assert a.inputs == b.inputs and a.outputs == b.outputs
    assert list(a.populations) == list(b.populations)
    for name, pop in a.populations.items():
        other = b.populations[name]
        assert (pop.model, pop.shape, pop.reset) == (other.model, other.shape, other.reset), name
        assert pop.params.keys() == other.params.keys()
        for key in pop.params:
            np.testing.assert_array_equal(pop.params[key], other.params[key], err_msg=name)
    assert sorted(a.projections) == sorted(b.projections)
    for name, proj in a.projections.items():
        other = b.projections[name]
        assert (proj.source, proj.target, proj.is_sparse) == (other.source, other.target,
                                                               other.is_sparse), name
        np.testing.assert_array_equal(proj.dense_weight(), other.dense_weight(), err_msg=name)
        np.testing.assert_array_equal(proj.delay_steps, other.delay_steps, err_msg=name)
        assert proj.receptor == other.receptor, name


@pytest.fixture
def nir_file(tmp_path: Path) -> Callable[..., Path]:
    """Write a NIR graph with nir.write (file first) and return the path."""

    def write(graph: nir.NIRGraph, name: str = "model.nir") -> Path:
        path = tmp_path / name
        nir.write(path, graph)
        return path

    return write


@pytest.fixture
def compare() -> Callable[[Graph, Graph], None]:
    return same_graph

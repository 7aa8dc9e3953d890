"""Every registered family through the same checks; a new family gets them by registering.

The families are the built-in ones plus ``toyfamily`` (a whole family in one
folder of tests/, registered with one call). Each must compile the shipped
example for its demo target, run it on its exact engine with counters from the
shared vocabulary that agree with the spikes, price them consistently, write
byte-identical artifacts for the same input, and refuse a broken target file
and a graph too large for the target with clear errors.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import toyfamily
import yaml

import neurocc
from neurocc.backends import compile_graph, resolve_target
from neurocc.backends.family import FAMILIES, register_family, unregister_family
from neurocc.compiler.errors import MappingError, TargetError
from neurocc.compiler.graph import Graph
from neurocc.demo import EXAMPLE_DIR, EXAMPLE_MODEL
from neurocc.report import simulation_report
from neurocc.sim.counters import COUNTERS

NAMES = [*sorted(FAMILIES), toyfamily.FAMILY.name]
WITH_TARGET_FILES = [n for n in NAMES if n == "toy" or FAMILIES[n].schema is not None]
MAX_COPIES = 400  # oversize graphs: copies of the example, enough for every shipped target


@pytest.fixture(autouse=True)
def toy_registered() -> Iterator[None]:
    register_family(toyfamily.FAMILY)
    yield
    unregister_family(toyfamily.FAMILY.name)


@pytest.fixture(scope="module")
def example() -> tuple[Graph, np.ndarray]:
    with np.load(EXAMPLE_DIR / "digits_sample.npz") as data:
        return neurocc.load(EXAMPLE_MODEL), data["spikes"]


def demo_target(name: str) -> str:
    target = FAMILIES[name].demo_target
    assert target is not None, f"family '{name}' names no demo target"
    return target


@pytest.mark.parametrize("name", NAMES)
def test_example_compiles_and_runs_on_the_exact_engine(name: str, example, tmp_path) -> None:
    graph, spikes = example
    artifact = neurocc.compile(graph, demo_target(name), out=tmp_path / "a")
    assert artifact.family == name
    result = neurocc.simulate(artifact, spikes, engine="exact")
    batch, steps, _ = spikes.shape
    assert result.output.shape == (batch, steps, 10)
    again = neurocc.simulate(neurocc.read_artifact(tmp_path / "a"), spikes, engine="exact")
    for pop, value in result.spikes.items():
        np.testing.assert_array_equal(again.spikes[pop], value, err_msg=pop)
    assert sorted(artifact.sections) == sorted(FAMILIES[name].sections)
    assert sorted(p.name for p in (tmp_path / "a").glob("*.npz")) == sorted(
        [f"{section}.npz" for section in FAMILIES[name].sections] + ["graph.npz"])
    history = [r.name for r in artifact.graph.history]
    assert [s for s in history if s in FAMILIES[name].lowering] == list(FAMILIES[name].lowering)


@pytest.mark.parametrize("name", NAMES)
def test_counters_speak_the_shared_vocabulary_and_match_the_spikes(name: str, example) -> None:
    graph, spikes = example
    artifact = neurocc.compile(graph, demo_target(name))
    result = neurocc.simulate(artifact, spikes, engine="exact")
    counters = result.counters
    assert set(counters) <= set(COUNTERS)
    assert all(isinstance(v, int) and v >= 0 for v in counters.values())
    batch, steps, _ = spikes.shape
    emitted = sum(int(result.spikes[p].sum()) for p in graph.populations
                  if p not in graph.inputs and p in result.spikes)
    neurons = sum(p.size for n, p in graph.populations.items() if n not in graph.inputs)
    expected = {"spikes": emitted, "input_spikes": int(spikes.sum()),
                "neuron_updates": neurons * batch * steps, "steps": batch * steps}
    assert {k: counters[k] for k in expected if k in counters} == {
        k: v for k, v in expected.items() if k in counters}
    assert counters.get("synops", 0) > 0


@pytest.mark.parametrize("name", NAMES)
def test_energy_record_is_priced_from_its_breakdown(name: str, example) -> None:
    graph, spikes = example
    artifact = neurocc.compile(graph, demo_target(name))
    result = neurocc.simulate(artifact, spikes, engine="exact")
    report = simulation_report(artifact, result, n_inferences=spikes.shape[0])
    assert report["schema"] == "neurocc.run-report/1"
    assert all(use["used"] >= 0 for use in report["resources"].values())
    energy = report["energy"]
    if FAMILIES[name].energy_model is None:
        assert energy is None
        return
    terms = energy["breakdown"].values()
    assert energy["energy_per_inference_pj"] == pytest.approx(sum(t["energy_pj"] for t in terms))
    for term in terms:
        per_inference = report["counters"].get(term["counter"], {}).get("per_inference", 0.0)
        assert term["count_per_inference"] <= per_inference + 1e-9
        assert term["energy_pj"] == pytest.approx(term["count_per_inference"]
                                                  * term["energy_per_op_pj"])
        assert term["energy_figure"]["source"] and term["time_figure"]["source"]
    assert energy["energy_per_inference_pj"] > 0


@pytest.mark.parametrize("name", NAMES)
def test_same_input_gives_byte_identical_artifacts(name: str, example, tmp_path) -> None:
    graph, _ = example
    first = neurocc.compile(graph, demo_target(name), out=tmp_path / "one").path
    second = neurocc.compile(neurocc.load(EXAMPLE_MODEL), demo_target(name),
                             out=tmp_path / "two").path
    names = sorted(p.name for p in first.iterdir())
    assert names == sorted(p.name for p in second.iterdir())
    for file in names:
        assert (first / file).read_bytes() == (second / file).read_bytes(), file


def _target_copy(name: str, tmp_path: Path) -> tuple[Path, dict]:
    info = resolve_target(demo_target(name))
    assert info.path is not None
    copy = tmp_path / "copy.yaml"
    shutil.copy(info.path, copy)
    return copy, yaml.safe_load(copy.read_text())


@pytest.mark.parametrize("name", WITH_TARGET_FILES)
def test_broken_target_file_is_refused_naming_the_key(name: str, example, tmp_path) -> None:
    graph, _ = example
    copy, data = _target_copy(name, tmp_path)
    section = next(k for k, v in data.items() if isinstance(v, dict))
    key = next(iter(data[section]))
    del data[section][key]
    copy.write_text(yaml.safe_dump(data))
    with pytest.raises(TargetError, match=f"{section}.{key}.*is missing"):
        neurocc.compile(graph, copy)
    data[section][key] = {"value": "many", "source": "a typo"}
    copy.write_text(yaml.safe_dump(data))
    with pytest.raises(TargetError, match=f"{section}.{key}.*expected"):
        neurocc.compile(graph, copy)
    copy.write_text("name: [unclosed")
    with pytest.raises(TargetError, match="cannot be read as YAML"):
        neurocc.compile(graph, copy)


def copies_of(graph: Graph, count: int) -> Graph:
    """``count`` side-by-side copies of every non-input population, sharing the inputs."""
    def renamed(name: str, k: int) -> str:
        return name if name in graph.inputs else f"{name}_{k}"

    pops, projs = {n: graph.populations[n] for n in graph.inputs}, {}
    for k in range(count):
        for name, pop in graph.populations.items():
            if name not in graph.inputs:
                pops[renamed(name, k)] = type(pop)(renamed(name, k), pop.model, pop.shape,
                                                   pop.params, pop.reset, pop.metadata)
        for name, p in graph.projections.items():
            projs[f"{name}_{k}"] = type(p)(f"{name}_{k}", renamed(p.source, k),
                                           renamed(p.target, k), p.weight, p.delay_steps)
    outputs = tuple(renamed(n, 0) for n in graph.outputs)
    return Graph(graph.dt_s, pops, projs, graph.inputs, outputs)


@pytest.mark.parametrize("name", WITH_TARGET_FILES)
def test_graph_too_large_for_the_target_is_a_mapping_error(name: str, example) -> None:
    graph, _ = example
    count, error = 1, None
    while error is None and count < MAX_COPIES:  # double the network until it no longer fits
        count *= 2
        try:
            compile_graph(copies_of(graph, count), demo_target(name))
        except MappingError as exc:
            error = exc
    assert error is not None, f"{count} copies of the example still fit"
    assert "limit" in str(error) and error.hint

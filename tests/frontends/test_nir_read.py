"""Reading NIR files: every node type against hand-computed populations and projections."""

from __future__ import annotations

import io
import json
import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import h5py
import nir
import numpy as np
import pytest
from tqdm import tqdm

import neurocc
from neurocc.compiler.errors import FrontendError
from neurocc.frontends.nir import graph_to_nir, isolation, read_nir, versions, write_nir

RNG = np.random.default_rng(7)
DIGITS = Path(__file__).resolve().parents[2] / "examples" / "digits" / "digits_lif.nir"


def lif(n: int, **kw: float) -> nir.LIF:
    return nir.LIF(tau=np.full(n, kw.get("tau", 0.02)), r=np.full(n, 2.0), v_leak=np.full(n, 0.1),
                   v_threshold=np.full(n, 1.5), v_reset=np.full(n, -0.5))


def rnn_graph() -> nir.NIRGraph:
    """snnTorch's RSynaptic export: a subgraph input -> lif <-> w_rec -> output."""
    w1, b1 = RNG.normal(size=(4, 3)), RNG.normal(size=4)
    sub = nir.NIRGraph(nodes={
        "input": nir.Input(input_type={"input": np.array([4])}),
        "lif": nir.CubaLIF(tau_syn=np.full(4, 0.005), tau_mem=np.full(4, 0.01), r=np.ones(4),
                           v_leak=np.zeros(4), v_threshold=np.ones(4), v_reset=np.zeros(4),
                           w_in=2.0),
        "w_rec": nir.Linear(weight=RNG.normal(size=(4, 4))),
        "output": nir.Output(output_type={"output": np.array([4])}),
    }, edges=[("input", "lif"), ("lif", "w_rec"), ("w_rec", "lif"), ("lif", "output")],
        type_check=False)
    return nir.NIRGraph(nodes={
        "input": nir.Input(input_type={"input": np.array([3])}),
        "fc1": nir.Affine(weight=w1, bias=b1),
        "lif1": sub,
        "fc2": nir.Affine(weight=RNG.normal(size=(2, 4)), bias=np.array([0.5, -0.5])),
        "lif2": lif(2),
        "output": nir.Output(output_type={"output": np.array([2])}),
    }, edges=[("input", "fc1"), ("fc1", "lif1"), ("lif1", "fc2"), ("fc2", "lif2"),
              ("lif2", "output")], type_check=False)


def test_recurrent_subgraph_lowers_with_one_step_feedback(nir_file):
    model = rnn_graph()
    graph = read_nir(nir_file(model))
    assert list(graph.populations) == ["input", "lif1.lif", "lif2"]
    assert graph.inputs == ("input",) and graph.outputs == ("lif2",)
    fc1, rec, fc2 = (graph.projections[n] for n in ("fc1", "lif1.w_rec", "fc2"))
    assert (fc1.source, fc1.target, int(fc1.delay_steps)) == ("input", "lif1.lif", 0)
    assert (rec.source, rec.target, int(rec.delay_steps)) == ("lif1.lif", "lif1.lif", 1)
    assert (fc2.source, fc2.target, int(fc2.delay_steps)) == ("lif1.lif", "lif2", 0)
    np.testing.assert_array_equal(rec.weight, model.nodes["lif1"].nodes["w_rec"].weight)
    np.testing.assert_array_equal(graph.populations["lif1.lif"].params["bias"],
                                  model.nodes["fc1"].bias)
    cuba = graph.populations["lif1.lif"]
    assert cuba.model == "cubalif" and cuba.reset == "to_value"
    np.testing.assert_array_equal(cuba.params["w_in"], np.full(4, 2.0))
    np.testing.assert_array_equal(cuba.params["tau_syn_s"], np.full(4, 0.005))


def test_metadata_records_version_source_and_dt(nir_file):
    path = nir_file(rnn_graph())
    graph = read_nir(path)
    import hashlib

    assert graph.metadata["nir_version"] == nir.version
    assert graph.metadata["reset_semantics"] == "to_value"
    assert graph.metadata["source"] == str(path)
    assert graph.metadata["source_sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()
    assert graph.metadata["dt_source"] == "default" and graph.dt_s == 1e-3
    json.dumps(graph.metadata)  # artifacts write it as JSON
    assert read_nir(path, dt_s=2e-4).metadata["dt_source"] == "argument"


def test_dt_from_file_metadata(nir_file):
    model = rnn_graph()
    model.metadata = {"dt": 1e-4}
    graph = read_nir(nir_file(model))
    assert graph.dt_s == pytest.approx(1e-4) and graph.metadata["dt_source"] == "file"


@pytest.mark.parametrize(("stored", "dt_s"), [(np.array([2e-4]), 2e-4), ("5e-4", 5e-4)])
def test_dt_stored_as_one_element_array_or_text(nir_file, stored, dt_s):
    path = nir_file(rnn_graph())
    with h5py.File(path, "r+") as handle:
        kw = {"dtype": h5py.string_dtype()} if isinstance(stored, str) else {}
        handle["node"].create_group("metadata").create_dataset("dt", data=stored, **kw)
    assert read_nir(path).dt_s == pytest.approx(dt_s)


@pytest.mark.parametrize("stored", [np.array([1e-3, 2e-3]), np.longdouble(10) ** 400, "soon"])
def test_bad_dt_in_the_file_is_an_error(nir_file, stored):
    path = nir_file(rnn_graph())
    with h5py.File(path, "r+") as handle:
        kw = {"dtype": h5py.string_dtype()} if isinstance(stored, str) else {}
        with np.errstate(over="ignore"):
            handle["node"].create_group("metadata").create_dataset("dt", data=stored, **kw)
    with pytest.raises(FrontendError, match=r"model\.nir: graph metadata 'dt': time step .* is "
                       r"not a positive number"):
        read_nir(path)


def test_long_double_metadata_is_kept_as_text(nir_file):
    path = nir_file(rnn_graph())
    with h5py.File(path, "r+") as handle:
        handle["node"].create_group("metadata").create_dataset("gain", data=np.longdouble(0.5))
    assert read_nir(path).metadata["nir"]["graph_metadata"] == {"gain": "0.5"}


@pytest.mark.parametrize("bad", [0.0, -1e-3, float("nan")])
def test_bad_dt_argument_is_an_error(nir_file, bad):
    with pytest.raises(FrontendError, match=r"model\.nir"):
        read_nir(nir_file(rnn_graph()), dt_s=bad)


def _set_version(path, text: bytes) -> None:
    with h5py.File(path, "r+") as handle:
        del handle["version"]
        handle.create_dataset("version", data=text, dtype=h5py.string_dtype())


@pytest.mark.parametrize(("version", "reset"), [(b"1.0.4", "subtract"), (b"0.2.0", "subtract"),
                                                (b"1.0.5", "subtract"), (b"1.0.6", "to_value"),
                                                (b"1.0.8", "to_value")])
def test_version_string_decides_reset(nir_file, version, reset):
    path = nir_file(rnn_graph())
    _set_version(path, version)
    graph = read_nir(path)
    assert graph.metadata["reset_semantics"] == reset
    assert graph.metadata["nir_version"] == version.decode()
    assert {p.reset for p in graph.populations.values() if p.model in ("lif", "cubalif")} == {reset}


def test_graph_object_uses_the_installed_nir_version():
    graph = read_nir(rnn_graph())
    assert graph.metadata["nir_version"] == nir.version
    assert graph.metadata["source_sha256"] is None
    assert graph.populations["lif2"].reset == "to_value"


@pytest.mark.parametrize("version", [b"latest", b"", b"1.0.8garbage", b"v1.0.8", b"1.0.8 1.0.5",
                                     b"x" * 100])
def test_unparsable_or_missing_version_is_an_error(nir_file, version):
    path = nir_file(rnn_graph())
    _set_version(path, version)
    shown = repr(version.decode()[:versions.SHOWN_VERSION_CHARS])[:-1]
    with pytest.raises(FrontendError, match=r"model\.nir: stores the NIR version " +
                       re.escape(shown) + r".*not a version number"):
        read_nir(path)
    with h5py.File(path, "r+") as handle:
        del handle["version"]
    with pytest.raises(FrontendError, match=r"model\.nir.*version"):
        read_nir(path)


@pytest.mark.parametrize("version", [b" 1.0.8 ", b"1.0.7.dev3+g1a2b3c", b"1.0.6rc1", b"1.0",
                                     b"1.0.8.post1"])
def test_version_spellings_that_are_read(nir_file, version):
    path = nir_file(rnn_graph())
    _set_version(path, version)
    assert "nir_version_read_as" not in read_nir(path).metadata


@pytest.mark.parametrize("version", [b"9.9.9", b"1.0.9", b"1.1", b"2.0.0rc1"])
def test_newer_version_is_refused_unless_allowed(nir_file, version):
    path = nir_file(rnn_graph())
    _set_version(path, version)
    with pytest.raises(FrontendError, match=rf"model\.nir: stores NIR version '{version.decode()}'"
                       r", newer than 1\.0\.8, the newest .*allow_newer_version=True"):
        read_nir(path)
    graph = neurocc.load(path, allow_newer_version=True)
    assert graph.metadata["nir_version"] == version.decode()
    assert graph.metadata["nir_version_read_as"] == "1.0.8"
    assert graph.metadata["reset_semantics"] == "to_value"


def test_graph_object_with_a_newer_version_is_refused_unless_allowed():
    model = rnn_graph()
    model.metadata = {"nir_version": "9.9.9"}
    with pytest.raises(FrontendError, match=r"<nir\.NIRGraph object>: stores NIR version "
                       r"'9\.9\.9'"):
        read_nir(model)
    assert read_nir(model, allow_newer_version=True).metadata["nir_version_read_as"] == "1.0.8"


def test_reading_leaves_multiprocessing_alone(tmp_path):
    """No start method gets fixed (Lava sets 'fork'), and scripts need no __main__ guard."""
    script = tmp_path / "script.py"
    script.write_text(textwrap.dedent(f"""
        import multiprocessing
        import neurocc
        graph = neurocc.load({str(DIGITS)!r})
        assert multiprocessing.get_start_method(allow_none=True) is None
        multiprocessing.set_start_method("fork")
        print(sorted(graph.populations))
    """))
    done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True,
                          timeout=300, check=False)
    assert (done.returncode, done.stdout) == (0, "['input', 'lif1', 'lif2']\n"), done.stderr


def test_reading_after_a_progress_bar(nir_file):
    """A tqdm bar creates a multiprocessing lock (fixing the start method): no matter here."""
    with tqdm(total=1, file=io.StringIO()) as bar:
        bar.update()
        assert "lif2" in read_nir(nir_file(rnn_graph())).populations


def test_a_forked_process_reads_with_its_own_child(nir_file):
    path = nir_file(rnn_graph())
    read_nir(path)  # this process's reader child is running
    parent_child = isolation._child
    ours, theirs = os.pipe()
    pid = os.fork()
    if pid == 0:  # the forked process: report and leave without running pytest's exit code
        ok = isolation._child is None and "lif2" in read_nir(path).populations
        os.write(theirs, b"1" if ok else b"0")
        os._exit(0)
    os.close(theirs)
    assert os.read(ours, 1) == b"1"
    os.waitpid(pid, 0)
    os.close(ours)
    assert isolation._child is parent_child and "lif2" in read_nir(path).populations


def test_neuron_parameters_flatten_in_c_order(nir_file):
    shape = (2, 3)
    values = {k: RNG.uniform(0.1, 1.0, size=shape) for k in ("a", "b", "c", "d", "e", "f")}
    nodes = {
        "input": nir.Input(input_type={"input": np.array(shape)}),
        "lif": nir.LIF(tau=values["a"], r=values["b"], v_leak=values["c"],
                       v_threshold=values["d"], v_reset=values["e"]),
        "if": nir.IF(r=values["a"], v_threshold=values["b"], v_reset=values["c"]),
        "li": nir.LI(tau=values["a"], r=values["b"], v_leak=values["c"]),
        "i": nir.I(r=values["f"]),
        "thr": nir.Threshold(threshold=values["d"]),
    }
    edges = [("input", "lif"), ("lif", "if"), ("if", "li"), ("li", "i"), ("i", "thr")]
    graph = read_nir(nir_file(nir.NIRGraph(nodes, edges, type_check=False)))
    expected = {
        "lif": ("lif", {"tau_s": "a", "r": "b", "v_leak": "c", "v_threshold": "d",
                        "v_reset": "e"}),
        "if": ("if", {"r": "a", "v_threshold": "b", "v_reset": "c"}),
        "li": ("li", {"tau_s": "a", "r": "b", "v_leak": "c"}),
        "i": ("integrator", {"r": "f"}),
        "thr": ("threshold", {"v_threshold": "d"}),
    }
    for name, (model, params) in expected.items():
        pop = graph.populations[name]
        assert pop.model == model and pop.shape == shape
        for key, source in params.items():
            np.testing.assert_array_equal(pop.params[key], values[source].reshape(-1))
        np.testing.assert_array_equal(pop.params["bias"], np.zeros(6))
    assert graph.populations["li"].reset == "none" and graph.populations["thr"].reset == "none"
    direct = graph.projections["lif->if"]
    np.testing.assert_array_equal(direct.dense_weight(), np.eye(6))


def test_scale_and_delay_give_diagonal_weight_and_per_synapse_delays(nir_file):
    nodes = {
        "input": nir.Input(input_type={"input": np.array([3])}),
        "gain": nir.Scale(scale=np.array([2.0, -1.0, 0.5])),
        "wait": nir.Delay(delay=np.array([0.002, 0.003, 0.0])),
        "lif": lif(3),
    }
    edges = [("input", "gain"), ("gain", "wait"), ("wait", "lif")]
    graph = read_nir(nir_file(nir.NIRGraph(nodes, edges, type_check=False)), dt_s=1e-3)
    proj = graph.projections["gain"]
    assert proj.is_sparse
    np.testing.assert_array_equal(proj.dense_weight(), np.diag([2.0, -1.0, 0.5]))
    np.testing.assert_array_equal(proj.delay_steps, [2, 3, 0])


def test_uniform_delay_after_affine_is_one_number(nir_file):
    nodes = {
        "input": nir.Input(input_type={"input": np.array([2])}),
        "fc": nir.Affine(weight=np.ones((3, 2)), bias=np.zeros(3)),
        "wait": nir.Delay(delay=np.full(3, 0.004)),
        "lif": lif(3),
    }
    edges = [("input", "fc"), ("fc", "wait"), ("wait", "lif")]
    proj = read_nir(nir_file(nir.NIRGraph(nodes, edges, type_check=False))).projections["fc"]
    assert proj.delay_steps.shape == () and int(proj.delay_steps) == 4


def test_delays_mixed_by_a_later_matrix_are_an_error(nir_file):
    nodes = {
        "input": nir.Input(input_type={"input": np.array([2])}),
        "mix": nir.Linear(weight=np.ones((2, 2))),
        "wait": nir.Delay(delay=np.array([0.001, 0.002])),
        "fc": nir.Linear(weight=np.ones((1, 2))),
        "lif": lif(1),
    }
    edges = [("input", "mix"), ("mix", "wait"), ("wait", "fc"), ("fc", "lif")]
    with pytest.raises(FrontendError, match=r"model\.nir, node 'wait' \(Delay\)"):
        read_nir(nir_file(nir.NIRGraph(nodes, edges, type_check=False)))


def test_delays_before_a_matrix_stay_per_synapse(nir_file):
    nodes = {
        "input": nir.Input(input_type={"input": np.array([2])}),
        "wait": nir.Delay(delay=np.array([0.001, 0.002])),
        "fc": nir.Linear(weight=np.array([[1.0, 2.0], [3.0, 0.0]])),
        "lif": lif(2),
    }
    edges = [("input", "wait"), ("wait", "fc"), ("fc", "lif")]
    proj = read_nir(nir_file(nir.NIRGraph(nodes, edges, type_check=False))).projections["fc"]
    assert not proj.is_sparse
    np.testing.assert_array_equal(proj.delay_steps, [[1, 2], [1, 0]])


def test_fan_in_to_an_affine_adds_its_bias_once(nir_file):
    weight, bias = RNG.normal(size=(2, 2)), np.array([1.0, 2.0])
    nodes = {
        "a": nir.Input(input_type={"input": np.array([2])}),
        "b": nir.Input(input_type={"input": np.array([2])}),
        "fc": nir.Affine(weight=weight, bias=bias),
        "lif": lif(2),
    }
    edges = [("a", "fc"), ("b", "fc"), ("fc", "lif")]
    graph = read_nir(nir_file(nir.NIRGraph(nodes, edges, type_check=False)))
    assert graph.inputs == ("a", "b")
    assert [(p.name, p.source) for p in graph.projections.values()] == [("fc", "a"),
                                                                         ("fc#1", "b")]
    np.testing.assert_array_equal(graph.populations["lif"].params["bias"], bias)


def test_synaptic_chain_into_output_creates_output_population(nir_file):
    weight = RNG.normal(size=(2, 3))
    nodes = {
        "input": nir.Input(input_type={"input": np.array([3])}),
        "lif": lif(3),
        "readout": nir.Affine(weight=weight, bias=np.array([0.25, 0.0])),
        "out": nir.Output(output_type={"output": np.array([2])}),
    }
    edges = [("input", "lif"), ("lif", "readout"), ("readout", "out")]
    graph = read_nir(nir_file(nir.NIRGraph(nodes, edges, type_check=False)))
    assert graph.outputs == ("out",)
    out = graph.populations["out"]
    assert out.model == "output" and out.shape == (2,)
    np.testing.assert_array_equal(out.params["bias"], [0.25, 0.0])
    np.testing.assert_array_equal(graph.projections["readout"].weight, weight)


def test_dotted_port_edges_into_a_subgraph(nir_file):
    sub = nir.NIRGraph(nodes={
        "bi": nir.Input(input_type={"input": np.array([2])}),
        "lin": nir.Linear(weight=np.array([[1.0, 2.0], [3.0, 4.0]])),
        "neuron": nir.IF(r=np.ones(2), v_threshold=np.ones(2), v_reset=np.zeros(2)),
        "bo": nir.Output(output_type={"output": np.array([2])}),
    }, edges=[("bi", "lin"), ("lin", "neuron"), ("neuron", "bo")], type_check=False)
    nodes = {"input": nir.Input(input_type={"input": np.array([2])}), "a": lif(2), "g": sub,
             "out": nir.Output(output_type={"output": np.array([2])})}
    edges = [("input", "a"), ("a", "g.bi"), ("g.bo", "out")]
    graph = read_nir(nir_file(nir.NIRGraph(nodes, edges, type_check=False)))
    # HDF5 lists a group's members by name: node order in a file is alphabetical.
    assert list(graph.populations) == ["a", "g.neuron", "input"]
    assert graph.outputs == ("g.neuron",)
    proj = graph.projections["g.lin"]
    assert (proj.source, proj.target) == ("a", "g.neuron")
    np.testing.assert_array_equal(proj.weight, [[1.0, 2.0], [3.0, 4.0]])


def test_subtract_graph_written_as_legacy_file(nir_file, tmp_path, compare):
    path = nir_file(rnn_graph())
    _set_version(path, b"1.0.4")
    with h5py.File(path, "r+") as handle:  # a real 1.0.4 file has no v_reset
        del handle["node/nodes/lif2/v_reset"], handle["node/nodes/lif1/nodes/lif/v_reset"]
    graph = read_nir(path)
    out = tmp_path / "legacy.nir"
    write_nir(graph, out)
    with h5py.File(out, "r") as handle:
        assert handle["version"][()] == b"1.0.5"
        assert "v_reset" not in handle["node/nodes/lif2"]
    again = read_nir(out)
    compare(graph, again)
    assert again.populations["lif2"].reset == "subtract"
    assert read_nir(graph_to_nir(graph)).populations["lif2"].reset == "subtract"


def test_mixed_resets_cannot_be_written(nir_file):
    graph = read_nir(nir_file(rnn_graph()))
    pops = dict(graph.populations)
    old = pops["lif2"]
    from neurocc.compiler.graph import Population

    pops["lif2"] = Population(old.name, old.model, old.shape, old.params, "subtract")
    with pytest.raises(FrontendError, match="lif2"):
        graph_to_nir(graph.replace(populations=pops))

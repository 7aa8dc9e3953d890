"""Every malformed input gives a FrontendError naming the file (and node where known)."""

from __future__ import annotations

import gzip
import io
import itertools
import os
import signal
import struct
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

import h5py
import nir
import numpy as np
import pytest

from neurocc.compiler.errors import FrontendError
from neurocc.frontends.nir import hdf5_tree, isolation, lowering, maps, read_nir


def small(weight: np.ndarray | None = None, n_in: int = 3) -> nir.NIRGraph:
    weight = np.ones((2, 3)) if weight is None else weight
    nodes = {
        "input": nir.Input(input_type={"input": np.array([n_in])}),
        "fc": nir.Affine(weight=weight, bias=np.zeros(weight.shape[0])),
        "lif": nir.LIF(tau=np.full(2, 0.01), r=np.ones(2), v_leak=np.zeros(2),
                       v_threshold=np.ones(2), v_reset=np.zeros(2)),
    }
    return nir.NIRGraph(nodes, [("input", "fc"), ("fc", "lif")], type_check=False)


def test_missing_file(tmp_path):
    with pytest.raises(FrontendError, match=r"nothere\.nir.*does not exist"):
        read_nir(tmp_path / "nothere.nir")


def test_truncated_file(nir_file):
    path = nir_file(small())
    path.write_bytes(path.read_bytes()[:300])
    with pytest.raises(FrontendError, match=r"model\.nir.*not a readable NIR file"):
        read_nir(path)


def test_file_that_is_not_hdf5(tmp_path):
    path = tmp_path / "text.nir"
    path.write_text("not a model")
    with pytest.raises(FrontendError, match=r"text\.nir"):
        read_nir(path)


def test_missing_parameter(nir_file):
    path = nir_file(small())
    with h5py.File(path, "r+") as handle:
        del handle["node/nodes/lif/tau"]
    with pytest.raises(FrontendError, match=r"model\.nir, node 'lif' \(LIF\).*'tau'"):
        read_nir(path)


def test_nan_weight(nir_file):
    weight = np.ones((2, 3))
    weight[1, 2] = np.nan
    with pytest.raises(FrontendError, match=r"model\.nir, node 'fc' \(Affine\).*NaN"):
        read_nir(nir_file(small(weight)))


def test_infinite_neuron_parameter(nir_file):
    path = nir_file(small())
    with h5py.File(path, "r+") as handle:
        handle["node/nodes/lif/v_threshold"][0] = np.inf
    with pytest.raises(FrontendError, match=r"node 'lif' \(LIF\).*v_threshold"):
        read_nir(path)


def test_unknown_node_type(nir_file):
    path = nir_file(small())
    with h5py.File(path, "r+") as handle:
        del handle["node/nodes/fc/type"]
        handle["node/nodes/fc"].create_dataset("type", data="Gru", dtype=h5py.string_dtype())
    with pytest.raises(FrontendError, match=r"model\.nir, node 'fc' \(Gru\).*Supported types: "
                       r"Affine, AvgPool2d"):
        read_nir(path)


def test_cubali_is_not_supported():
    graph = nir.NIRGraph({"input": nir.Input(input_type={"input": np.array([1])}),
                          "cli": nir.CubaLI(tau_syn=np.ones(1), tau_mem=np.ones(1),
                                            r=np.ones(1), v_leak=np.zeros(1))},
                         [("input", "cli")], type_check=False)
    with pytest.raises(FrontendError, match=r"node 'cli' \(CubaLI\)"):
        read_nir(graph)


def test_shape_mismatch(nir_file):
    with pytest.raises(FrontendError, match=r"model\.nir, node 'fc' \(Affine\).*shape \[5\]"):
        read_nir(nir_file(small(n_in=5)))


def test_edge_to_unknown_node(nir_file):
    graph = small()
    graph.edges.append(("lif", "ghost"))
    with pytest.raises(FrontendError, match=r"model\.nir.*'ghost'"):
        read_nir(nir_file(graph))


def test_cycle_without_neuron(nir_file):
    nodes = {"input": nir.Input(input_type={"input": np.array([2])}),
             "a": nir.Linear(weight=np.eye(2)), "b": nir.Linear(weight=np.eye(2))}
    graph = nir.NIRGraph(nodes, [("input", "a"), ("a", "b"), ("b", "a")], type_check=False)
    with pytest.raises(FrontendError, match=r"model\.nir, node 'a'.*cycle without a neuron"):
        read_nir(nir_file(graph))


def test_subgraph_with_two_inputs_addressed_as_a_whole(nir_file):
    sub = nir.NIRGraph({"x": nir.Input(input_type={"input": np.array([2])}),
                        "y": nir.Input(input_type={"input": np.array([2])}),
                        "n": nir.I(r=np.ones(2))}, [("x", "n"), ("y", "n")], type_check=False)
    graph = nir.NIRGraph({"input": nir.Input(input_type={"input": np.array([2])}), "g": sub},
                         [("input", "g")], type_check=False)
    with pytest.raises(FrontendError, match=r"model\.nir, subgraph 'g'.*2 Input"):
        read_nir(nir_file(graph))


def test_graph_errors_are_reported_against_the_file(nir_file):
    graph = small()
    graph.nodes["lif"].tau[:] = 0.0  # tau must be > 0: the graph's own check
    with pytest.raises(FrontendError, match=r"model\.nir: population 'lif'.*tau_s"):
        read_nir(nir_file(graph))


def test_same_padding_with_stride_is_an_error(nir_file):
    nodes = {"input": nir.Input(input_type={"input": np.array([1, 4, 4])}),
             "conv": nir.Conv2d(input_shape=(4, 4), weight=np.ones((1, 1, 3, 3)), stride=2,
                                padding="same", dilation=1, groups=1, bias=np.zeros(1)),
             "n": nir.IF(r=np.ones((1, 2, 2)), v_threshold=np.ones((1, 2, 2)))}
    graph = nir.NIRGraph(nodes, [("input", "conv"), ("conv", "n")], type_check=False)
    with pytest.raises(FrontendError, match=r"node 'conv' \(Conv2d\).*'same'"):
        read_nir(nir_file(graph))


@pytest.mark.parametrize(("shape", "message"), [
    ([0], r"gives a signal of shape \[0\]; a signal has positive dimensions"),
    ([-3], r"gives a signal of shape \[-3\]"),
    ([2**13, 2**13, 2**13], rf"gives a signal .* at most {maps.MAX_SIGNAL_SIZE} values"),
    ([2.5], r"parameter 'shape' = \[2\.5\] is not made of whole numbers"),
    ([2**40], r"parameter 'shape' = \[1099511627776\] is not made of whole numbers up to"),
])
def test_implausible_input_shape(nir_file, shape, message):
    path = nir_file(small())
    with h5py.File(path, "r+") as handle:
        del handle["node/nodes/input/shape"]
        handle["node/nodes/input"].create_dataset("shape", data=np.array(shape))
    with pytest.raises(FrontendError, match=r"model\.nir, node 'input' \(Input\): " + message):
        read_nir(path)


def _conv(**kw: object) -> nir.NIRGraph:
    conv = {"input_shape": (4, 4), "weight": np.ones((1, 1, 3, 3)), "stride": 1, "padding": 1,
            "dilation": 1, "groups": 1, "bias": np.zeros(1), **kw}
    nodes = {"input": nir.Input(input_type={"input": np.array([1, 4, 4])}),
             "conv": nir.Conv2d(**conv), "n": nir.IF(r=np.ones((1, 4, 4)),  # type: ignore[arg-type]
                                                     v_threshold=np.ones((1, 4, 4)))}
    return nir.NIRGraph(nodes, [("input", "conv"), ("conv", "n")], type_check=False)


def test_implausible_convolution_parameters(nir_file):
    path = nir_file(_conv())
    with h5py.File(path, "r+") as handle:
        del handle["node/nodes/conv/groups"]
        handle["node/nodes/conv"].create_dataset("groups", data=np.array([1, 1]))
    with pytest.raises(FrontendError, match=r"node 'conv' \(Conv2d\): parameter 'groups' has 2 "
                       r"values"):
        read_nir(path)
    with pytest.raises(FrontendError, match=r"node 'conv' \(Conv2d\): parameter 'stride' = "
                       r"\[inf, inf\] is not made of whole numbers"):
        read_nir(nir_file(_conv(stride=np.array([np.inf, np.inf]))))
    with pytest.raises(FrontendError, match=r"node 'conv' \(Conv2d\): gives a signal of shape "
                       r"\[1, 20002, 20002\]"):
        read_nir(nir_file(_conv(padding=10000)))


def test_implausible_pooling_output(nir_file):
    nodes = {"input": nir.Input(input_type={"input": np.array([1, 4, 4])}),
             "pool": nir.SumPool2d(kernel_size=np.array([1, 1]), stride=np.array([1, 1]),
                                   padding=np.array([5000, 5000])),
             "n": nir.IF(r=np.ones(4), v_threshold=np.ones(4))}
    graph = nir.NIRGraph(nodes, [("input", "pool"), ("pool", "n")], type_check=False)
    with pytest.raises(FrontendError, match=r"node 'pool' \(SumPool2d\): gives a signal of shape "
                       r"\[1, 10004, 10004\]"):
        read_nir(nir_file(graph))


def test_flatten_dims_must_be_single_whole_numbers(nir_file):
    nodes = {"input": nir.Input(input_type={"input": np.array([2, 2])}),
             "flat": nir.Flatten(input_type={"input": np.array([2, 2])}),
             "n": nir.IF(r=np.ones(4), v_threshold=np.ones(4))}
    path = nir_file(nir.NIRGraph(nodes, [("input", "flat"), ("flat", "n")], type_check=False))
    with h5py.File(path, "r+") as handle:
        del handle["node/nodes/flat/end_dim"]
        handle["node/nodes/flat"].create_dataset("end_dim", data=np.array([-1, 0]))
    with pytest.raises(FrontendError, match=r"node 'flat' \(Flatten\): parameter 'end_dim' has 2 "
                       r"values"):
        read_nir(path)


def _scales(names: list[str]) -> dict[str, nir.NIRNode]:
    return {name: nir.Scale(scale=np.ones(2)) for name in names}


def test_a_chain_longer_than_the_recursion_limit_lowers():
    chain = [f"s{i}" for i in range(sys.getrecursionlimit() + 100)]
    nodes = {"input": nir.Input(input_type={"input": np.array([2])}), **_scales(chain),
             "n": nir.IF(r=np.ones(2), v_threshold=np.ones(2))}
    ends = ["input", *chain, "n"]
    graph = read_nir(nir.NIRGraph(nodes, list(itertools.pairwise(ends)),
                                  type_check=False))
    assert list(graph.projections) == ["s0"]


def test_too_many_paths(monkeypatch):
    monkeypatch.setattr(lowering, "MAX_PATHS", 100)
    layers = 7  # each layer of two branches doubles the paths: 2**7 > 100
    nodes = {"input": nir.Input(input_type={"input": np.array([2])}),
             "n": nir.IF(r=np.ones(2), v_threshold=np.ones(2))}
    edges, head = [], "input"
    for i in range(layers):
        nodes.update(_scales([f"a{i}", f"b{i}", f"j{i}"]))
        edges += [(head, f"a{i}"), (head, f"b{i}"), (f"a{i}", f"j{i}"), (f"b{i}", f"j{i}")]
        head = f"j{i}"
    edges.append((head, "n"))
    with pytest.raises(FrontendError, match=r"node 'input' \(Input\): starts one of more than 100 "
                       r"synaptic paths"):
        read_nir(nir.NIRGraph(nodes, edges, type_check=False))


def test_single_node_instead_of_graph():
    with pytest.raises(FrontendError, match="NIRGraph"):
        read_nir(nir.I(r=np.ones(1)))  # type: ignore[arg-type]


# -- untrusted files: the reader's child process, its deadline and its checks -----------------
FUZZ_CASES = Path(__file__).with_name("fuzz_cases")
HANG = "hang-nested-zeroed-heap.nir.gz"  # found by fuzzing: h5py loops in dataset[()] forever


def fuzz_case(name: str, folder: Path) -> Path:
    path = folder / name.removesuffix(".gz")
    path.write_bytes(gzip.decompress((FUZZ_CASES / name).read_bytes()))
    return path


@pytest.fixture
def fresh_reader():
    """No reader child before the test, none left after it."""
    isolation.stop_reader()
    yield
    isolation.stop_reader()


def test_hanging_file_stops_at_the_deadline(tmp_path, nir_file):
    path = fuzz_case(HANG, tmp_path)
    start = time.monotonic()
    with pytest.raises(FrontendError, match=rf"{path.name}: was not read within 1 s: .*"
                       r"corrupted HDF5 metadata.*read_timeout_s=SECONDS"):
        read_nir(path, read_timeout_s=1)
    assert time.monotonic() - start < 60  # without the deadline: never
    assert list(read_nir(nir_file(small())).populations) == ["input", "lif"]  # a new child


def test_deadline_from_the_environment(tmp_path, monkeypatch):
    monkeypatch.setenv(isolation.TIMEOUT_ENV, "0.5")
    with pytest.raises(FrontendError, match=r"was not read within 0\.5 s"):
        read_nir(fuzz_case(HANG, tmp_path))


@pytest.mark.parametrize("bad", [0, -1.0, float("nan"), float("inf"), "soon"])
def test_bad_deadline_argument(nir_file, bad):
    with pytest.raises(FrontendError, match=r"argument read_timeout_s: is .*not a positive"):
        read_nir(nir_file(small()), read_timeout_s=bad)


def test_bad_deadline_in_the_environment(nir_file, monkeypatch):
    monkeypatch.setenv(isolation.TIMEOUT_ENV, "soon")
    with pytest.raises(FrontendError, match=rf"environment variable {isolation.TIMEOUT_ENV}: is "
                       r"'soon', not a positive number"):
        read_nir(nir_file(small()))


def _cpu_ticks(pid: int) -> int:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])  # utime + stime


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs Linux /proc")
def test_crash_of_the_reader_is_an_error(tmp_path, nir_file, fresh_reader):
    read_nir(nir_file(small()))  # the child is up and idle (no CPU use)
    child = isolation._child
    assert child is not None
    idle, errors = _cpu_ticks(child.process.pid), []
    thread = threading.Thread(target=lambda: errors.append(_error_of(fuzz_case(HANG, tmp_path))))
    thread.start()
    deadline = time.monotonic() + 60
    while _cpu_ticks(child.process.pid) < idle + 10 and time.monotonic() < deadline:
        time.sleep(0.01)  # 0.1 s of CPU: it spins on the hanging file, so it has the request
    os.kill(child.process.pid, signal.SIGKILL)
    thread.join(60)
    assert "made the HDF5 reader process crash (killed by SIGKILL)" in str(errors[0])


def _error_of(path: Path) -> Exception | None:
    try:
        read_nir(path, read_timeout_s=60)
    except FrontendError as exc:
        return exc
    return None


def test_a_child_killed_while_idle_is_replaced(nir_file, fresh_reader):
    path = nir_file(small())
    read_nir(path)
    child = isolation._child
    assert child is not None
    child.process.kill()
    child.process.wait()
    assert list(read_nir(path).populations) == ["input", "lif"]
    assert isolation._child is not child


def test_reader_that_cannot_start(nir_file, monkeypatch, fresh_reader):
    monkeypatch.setattr(sys, "executable", str(nir_file(small()).parent / "no-python"))
    with pytest.raises(FrontendError, match=r"model\.nir: cannot be read: the reader process did "
                       r"not start.*python -I"):
        read_nir(nir_file(small()))


def test_reader_that_stops_before_it_is_ready(nir_file, monkeypatch, fresh_reader):
    monkeypatch.setattr(isolation, "_BOOTSTRAP", "import sys; sys.exit(3)")
    with pytest.raises(FrontendError, match=r"stopped before it was ready \(exit code 3\)"):
        read_nir(nir_file(small()))


def test_reader_that_is_not_ready_in_time(nir_file, monkeypatch, fresh_reader):
    monkeypatch.setattr(isolation, "START_TIMEOUT_S", 0.001)
    with pytest.raises(FrontendError, match=r"did not get ready within 0\.001 s"):
        read_nir(nir_file(small()))


def test_reader_that_stops_before_it_gets_the_file(nir_file, monkeypatch, fresh_reader):
    ready = "import os, pickle, struct, sys, time; os.close(0); d = pickle.dumps(('ready',)); " \
            "sys.stdout.buffer.write(struct.pack('>Q', len(d)) + d); sys.stdout.flush(); " \
            "time.sleep(30)"  # ready, but takes no request
    monkeypatch.setattr(isolation, "_BOOTSTRAP", ready)
    with pytest.raises(FrontendError, match=r"stopped before it got the file \(killed by "):
        read_nir(nir_file(small()), read_timeout_s=5)


def _served(requests: list[object]) -> list[object]:
    stream, replies = io.BytesIO(), io.BytesIO()
    for request in requests:
        hdf5_tree.send(stream, request)
    stream.seek(0)
    hdf5_tree.serve(stream, replies)
    replies.seek(0)
    return list(iter(lambda: hdf5_tree.receive(replies), None))


@pytest.mark.parametrize(("failure", "what"), [
    (ValueError("odd"), "made the reader fail (ValueError: odd)."),
    (RecursionError(), "nests objects too deeply to read.")])
def test_child_reports_unexpected_failures(monkeypatch, failure, what):
    def fail(path: str) -> None:
        raise failure

    monkeypatch.setattr(hdf5_tree, "read_file", fail)
    assert _served(["a.nir"]) == [("ready",), ("error", "/", what, hdf5_tree.HINT_REWRITE)]


def _edit(path: Path, edit: Callable[[h5py.File], object]) -> Path:
    with h5py.File(path, "r+") as handle:
        edit(handle)
    return path


def _replace(name: str, data: object, **kw: object) -> Callable[[h5py.File], object]:
    def edit(handle: h5py.File) -> None:
        del handle[name]
        handle.create_dataset(name, data=data, **kw)
    return edit


def _nest(handle: h5py.File) -> None:
    group = handle["node/nodes/fc"]
    for _ in range(hdf5_tree.MAX_DEPTH):
        group = group.create_group("g")


@pytest.mark.parametrize(("edit", "message"), [
    (_replace("node/nodes/fc/type", b"Af\xffine", dtype=h5py.string_dtype()),
     r"HDF5 object '/node/nodes/fc/type': holds text that is not UTF-8 \(byte 2: b'\\xff'\)"),
    (_replace("node/edges", np.array([[b"input", b"f\xc3"]], dtype=object),
              dtype=h5py.string_dtype()), r"'/node/edges': holds text that is not UTF-8"),
    (_replace("node/nodes/fc/weight", np.ones((2, 3), dtype=complex)),
     r"'/node/nodes/fc/weight': has the HDF5 type complex128, which NIR does not use"),
    (_replace("node/nodes/fc/bias", np.zeros(2, dtype=[("a", "<f8"), ("b", "<i4")])),
     r"'/node/nodes/fc/bias': has the HDF5 type"),
    (_replace("node/nodes/fc/bias", h5py.Empty("f8")), r"'/node/nodes/fc/bias': has an empty "
     r"dataspace"),
    (lambda h: h.create_dataset("node/nodes/fc/huge", shape=(10**6, 10**6), dtype="f8",
                                       chunks=(1, 16)),
     r"'/node/nodes/fc/huge': declares 1000000000000 numeric values \(8000000000000 bytes\) in "
     r"a file of \d+ bytes .* its header is corrupted"),
    (lambda h: h.__setitem__("node/nodes/fc/weight2", h5py.SoftLink("/node")),
     r"'/node/nodes/fc/weight2': is a SoftLink; NIR files hold hard links only"),
    (lambda h: h.__setitem__("node/nodes/fc/x", h5py.ExternalLink("/etc/hosts", "/")),
     r"'/node/nodes/fc/x': is a ExternalLink"),
    (lambda h: h.__setitem__("node/nodes/fc/loop", h["node"]),  # a hard-link cycle
     rf"is nested {hdf5_tree.MAX_DEPTH + 1} groups deep \(limit {hdf5_tree.MAX_DEPTH}\)"),
    (_nest, rf"'/node/nodes/fc(/g)+': is nested {hdf5_tree.MAX_DEPTH + 1} groups deep"),
    (lambda h: h.__delitem__("node"), r"'/node': is missing or not a group"),
    (_replace("node", np.arange(3)), r"'/node': is missing or not a group"),
    (_replace("version", 1.08), r"'/version': is not a text dataset"),
    (_replace("node/nodes/fc/type", np.array(["Affine"], dtype=object),
              dtype=h5py.string_dtype()), r", node 'fc': has a 'type' entry that is not text"),
    (_replace("node/nodes", np.arange(3)), r"node '<root>' \(NIRGraph\): has 'nodes' that is "
     r"not a group"),
])
def test_implausible_hdf5_objects_are_refused(nir_file, edit, message):
    with pytest.raises(FrontendError, match=r"model\.nir.*" + message):
        read_nir(_edit(nir_file(small()), edit))


def test_data_address_past_the_end_of_the_file(tmp_path):
    path = tmp_path / "model.nir"
    nir.write(path, small(), compression=None)
    with h5py.File(path, "r") as handle:
        offset = handle["node/nodes/fc/weight"].id.get_offset()
    data = path.read_bytes()
    field = struct.pack("<Q", offset)
    assert data.count(field) == 1  # the layout message: its address field
    path.write_bytes(data.replace(field, struct.pack("<Q", len(data) - 8)))
    with pytest.raises(FrontendError, match=r"'/node/nodes/fc/weight': cannot be opened "
                       r"\(KeyError: .*invalid dataset size"):
        read_nir(path)


def test_object_budget(nir_file, monkeypatch):
    monkeypatch.setattr(hdf5_tree, "MAX_OBJECTS", 5)  # in this process: read_file directly
    with pytest.raises(hdf5_tree.TreeError, match="exceeds 5 objects"):
        hdf5_tree.read_file(str(nir_file(small())))

"""compile_loihi: the artifact's arrays and layout, determinism, and does-not-fit errors."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest
import scipy.sparse as sp
import yaml

from neurocc.backends.artifact import read_artifact, write_artifact
from neurocc.backends.loihi import compile_loihi, energy_for_artifact, section
from neurocc.backends.loihi.section import pop_key, proj_key, read_section, write_section
from neurocc.backends.loihi.spec import TARGETS_DIR
from neurocc.compiler.errors import MappingError
from neurocc.compiler.graph import Graph, Population, Projection


def network(n_hidden: int = 30, seed: int = 0) -> Graph:
    rng = np.random.default_rng(seed)
    lif = {"tau_s": 20e-3, "v_threshold": 1.0}
    pops = {"in": Population("in", "input", (16,)),
            "h": Population("h", "lif", (n_hidden,), lif, "to_value"),
            "c": Population("c", "cubalif", (8,), {"tau_syn_s": 5e-3, "tau_mem_s": 10e-3,
                                                    "v_threshold": 0.5}, "to_value"),
            "o": Population("o", "li", (4,), {"tau_s": 10e-3})}
    conv = sp.random(n_hidden, 16, density=0.3, format="csr", random_state=seed)
    projs = {"a": Projection("a", "in", "h", sp.csr_array(conv)),
             "rec": Projection("rec", "h", "h", rng.normal(0, 0.1, (n_hidden, n_hidden)),
                               np.array(1)),
             "b": Projection("b", "h", "c", rng.normal(0.2, 0.3, (8, n_hidden))),
             "d": Projection("d", "c", "o", rng.normal(0, 1, (4, 8)), np.array(4))}
    return Graph(1e-3, pops, projs, ("in",), ("o",))


def test_artifact_layout_and_arrays() -> None:
    artifact = compile_loihi(network(), "loihi2")
    arrays, layout = artifact.sections["loihi"], artifact.layout
    assert artifact.family == "loihi" and artifact.target == "loihi2"
    assert {n: p["process"] for n, p in layout["projections"].items()} == {
        "a": "Sparse", "rec": "Dense", "b": "Dense", "d": "DelayDense"}
    assert {n: p["latency_offset"] for n, p in layout["populations"].items()} == {
        "in": 0, "h": 1, "c": 2, "o": 0}
    assert int(arrays[proj_key("rec", "delay")]) == 0  # graph delay 1 + 1 - 1 - 1
    assert int(arrays[proj_key("d", "delay")]) == 1  # 4 + 0 - 2 - 1
    assert layout["latency_steps"] == 0
    assert all(v.dtype == np.int64 for k, v in arrays.items() if not k.endswith("v_scale"))
    assert arrays[pop_key("h", "du")] == 4095
    assert arrays[pop_key("c", "du")] == 818  # round(4096/5) - 1
    assert arrays[pop_key("o", "vth")] == 2**17 - 1
    assert arrays[proj_key("a", "weight/indptr")].shape == (31,)
    assert np.abs(arrays[proj_key("b", "weight")]).max() <= 256
    assert layout["resources"]["cores"] == {"used": 4, "limit": 128, "unit": "cores"}
    assert layout["resources"]["neurons"]["used"] == 42
    assert layout["target"]["core"]["neurons_per_core"]["value"] == 8192
    names = [r.name for r in artifact.graph.history]
    assert names == ["loihi.quantize", "loihi.timing", "loihi.map"]
    record = artifact.graph.history[0].details
    assert record["projections"]["b"]["weight_rel_error"] < 0.02


def test_section_keys_are_the_documented_ones() -> None:
    """docs/loihi-artifact.md's layout, spelled out once: what section.py writes."""
    arrays = compile_loihi(network(), "loihi2").sections["loihi"]
    events = ("core", "msg_per_spike", "hops_ew_per_spike", "hops_ns_per_spike")
    lif = ("du", "dv", "vth", "bias_mant", "bias_exp", "v_scale")
    assert {k for k in arrays if k.startswith("pop/in/")} == {f"pop/in/{f}" for f in events}
    assert {k for k in arrays if k.startswith("pop/h/")} == {f"pop/h/{f}" for f in events + lif}
    projection = ("weight_exp", "num_weight_bits", "delay")
    assert {k for k in arrays if k.startswith("proj/a/")} == {  # Sparse: CSR parts
        *(f"proj/a/{f}" for f in projection), "proj/a/weight/data", "proj/a/weight/indices",
        "proj/a/weight/indptr"}
    assert {k for k in arrays if k.startswith("proj/b/")} == {  # Dense
        *(f"proj/b/{f}" for f in projection), "proj/b/weight"}
    assert arrays["pop/h/v_scale"].dtype == np.float64


def test_section_reads_back_what_it_wrote() -> None:
    artifact = compile_loihi(network(), "loihi2")
    net = read_section(artifact)
    assert net.target.to_dict() == artifact.layout["target"]
    layout, arrays = write_section(net)
    assert arrays.keys() == artifact.sections["loihi"].keys()
    for key, value in arrays.items():
        np.testing.assert_array_equal(value, artifact.sections["loihi"][key], err_msg=key)
        assert value.dtype == artifact.sections["loihi"][key].dtype, key
    for name, entry in layout["populations"].items():
        assert entry.items() <= artifact.layout["populations"][name].items()
    assert layout["projections"] == artifact.layout["projections"]
    assert layout["latency_steps"] == artifact.layout["latency_steps"]


def test_compiling_twice_gives_identical_bytes(tmp_path: Path) -> None:
    first = write_artifact(compile_loihi(network(), "loihi1"), tmp_path / "a")
    second = write_artifact(compile_loihi(network(), "loihi1"), tmp_path / "b")
    for name in ("manifest.json", "graph.npz", "loihi.npz"):
        assert (first / name).read_bytes() == (second / name).read_bytes()
    loaded = read_artifact(first)
    report = energy_for_artifact(loaded, {"synops": 10, "steps": 4}, 1)
    assert report["energy_per_inference_pj"] == pytest.approx(10 * 23.6)


def test_a_users_target_file_changes_the_mapping(tmp_path: Path) -> None:
    data = yaml.safe_load((TARGETS_DIR / "loihi1.yaml").read_text())
    data["core"]["neurons_per_core"]["value"] = 8
    path = tmp_path / "tiny.yaml"
    path.write_text(yaml.safe_dump(data))
    layout = compile_loihi(network(), path).layout
    assert layout["populations"]["in"]["cores"] == [0, 1]  # 16 inputs, 8 per core
    assert layout["populations"]["h"]["cores"] == [2, 3, 4, 5]  # 30 neurons
    for key, value in (("tiles_x", 1), ("tiles_y", 1), ("cores_per_chip", 4)):
        data["mesh"][key]["value"] = value
    path.write_text(yaml.safe_dump(data))
    with pytest.raises(MappingError, match=r"needs 8 cores, above the limit of 4"):
        compile_loihi(network(), path)


def test_calibration_sizes_the_scale_from_observed_activity() -> None:
    graph = network()
    spikes = (np.random.default_rng(1).random((2, 50, 16)) < 0.2).astype(np.uint8)
    plain = compile_loihi(graph, "loihi2").graph.history[0].details["populations"]["o"]
    calibrated = compile_loihi(graph, "loihi2", calibration_spikes=spikes)
    record = calibrated.graph.history[0].details["populations"]["o"]
    assert record["calibrated"] and record["scale_min"] > plain["scale_min"]
    with pytest.raises(MappingError, match="calibration_spikes"):
        compile_loihi(graph, "loihi2", calibration_spikes=np.zeros((2, 5, 3)))


def delayed_sparse_network() -> Graph:
    """in (4) -> h (3): 5 CSR synapses with delays 1..3 steps (one weight too small for a
    nonzero mantissa); h -> o (2) CSR with one delay of 3 steps for all."""
    lif = {"tau_s": 20e-3, "v_threshold": 1.0}
    # rows (post) 0: pre 0, 2; 1: pre 1, 3; 2: pre 0
    drive = sp.csr_array(([1.0, 0.5, 1e-6, 0.8, -0.6], [0, 2, 1, 3, 0], [0, 2, 4, 5]),
                         shape=(3, 4))
    out = sp.csr_array(([0.7, 0.4], [0, 2], [0, 1, 2]), shape=(2, 3))
    pops = {"in": Population("in", "input", (4,)),
            "h": Population("h", "lif", (3,), lif, "to_value"),
            "o": Population("o", "lif", (2,), lif, "to_value")}
    projs = {"drive": Projection("drive", "in", "h", drive, np.array([1, 3, 2, 2, 1])),
             "out": Projection("out", "h", "o", out, np.array(3))}
    return Graph(1e-3, pops, projs, ("in",), ("o",))


def test_sparse_delayed_projections_stay_csr(tmp_path: Path) -> None:
    """A CSR projection with delays becomes a DelaySparse: CSR weights, CSR delays in their
    sparsity (``delay/data``, aligned with ``weight/data``), no dense array."""
    artifact = read_artifact(write_artifact(compile_loihi(delayed_sparse_network(), "loihi2"),
                                            tmp_path / "art"))
    arrays, layout = artifact.sections["loihi"], artifact.layout
    assert {n: p["process"] for n, p in layout["projections"].items()} == {
        "drive": "DelaySparse", "out": "DelaySparse"}
    assert {k for k in arrays if k.startswith("proj/drive/")} == {
        "proj/drive/weight/data", "proj/drive/weight/indices", "proj/drive/weight/indptr",
        "proj/drive/delay/data", "proj/drive/weight_exp", "proj/drive/num_weight_bits"}
    # offsets L: 0 everywhere (each smallest delay >= 1), so Lava delay = graph delay - 1
    # the 1e-6 weight (row 1, pre 1, delay 2) has a zero mantissa: dropped with its delay
    np.testing.assert_array_equal(arrays["proj/drive/weight/indices"], [0, 2, 3, 0])
    np.testing.assert_array_equal(arrays["proj/drive/weight/indptr"], [0, 2, 3, 4])
    np.testing.assert_array_equal(arrays["proj/drive/delay/data"], [0, 2, 1, 0])
    assert np.all(arrays["proj/drive/weight/data"] != 0)
    assert int(arrays["proj/out/delay"]) == 2  # one delay for all: a scalar, no delay/data
    assert "proj/out/weight" not in arrays and "proj/out/delay/data" not in arrays
    net = read_section(artifact)
    assert net.projections["drive"].delay.shape == (4,)
    # the delay bits count in each synapse's memory (weight bits 8 + delay bits 6)
    h_cores = [c for c in layout["cores"] if c["population"] == "h"]
    assert sum(c["synaptic_memory_bits"] for c in h_cores) == 4 * (8 + 6)


def test_delays_follow_mantissas_in_another_csr_structure(monkeypatch) -> None:
    """Per-synapse delays come aligned with the weight's CSR data; mantissas quantized into
    another structure (without their zero entry; columns out of order) get the delays of
    their own (row, column), and an entry where the weight has no synapse is refused."""
    import neurocc.backends.loihi.compile as compile_module

    quantize = compile_module.quantize_network
    change = {"to": lambda m: m}

    def reshaped(*args, **kwargs):
        quant = quantize(*args, **kwargs)
        mantissa = quant.projections["drive"].mantissa
        quant.projections["drive"] = dataclasses.replace(quant.projections["drive"],
                                                         mantissa=change["to"](mantissa))
        return quant

    monkeypatch.setattr(compile_module, "quantize_network", reshaped)
    want = compile_loihi(delayed_sparse_network(), "loihi2").sections["loihi"]

    def without_zeros(m: sp.csr_array) -> sp.csr_array:
        m = m.copy()
        m.eliminate_zeros()
        return m

    change["to"] = without_zeros
    got = compile_loihi(delayed_sparse_network(), "loihi2").sections["loihi"]
    for key in ("weight/data", "weight/indices", "weight/indptr", "delay/data"):
        np.testing.assert_array_equal(got[f"proj/drive/{key}"], want[f"proj/drive/{key}"],
                                      err_msg=key)
    change["to"] = lambda m: m + sp.csr_array(([1], ([2], [3])), shape=m.shape)
    with pytest.raises(MappingError, match=r"projection 'drive'.*where its weight has no"):
        compile_loihi(delayed_sparse_network(), "loihi2")
    # row 0 listed backwards (pre 2, then pre 0): each entry gets its own synapse's delay
    weight = delayed_sparse_network().projections["drive"]
    backwards = sp.csr_array(([5, 7, 1, 2], [2, 0, 3, 0], [0, 2, 3, 4]), shape=(3, 4))
    np.testing.assert_array_equal(
        section._aligned_delays(weight.weight, backwards, weight.delay_steps, "drive"),
        [3, 1, 2, 1])  # graph delays of (0, 2), (0, 0), (1, 3), (2, 0)

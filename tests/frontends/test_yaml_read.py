"""Good network specs lower as documented: small networks checked by hand, statistics of the
random rules against brute-force expectations (5 standard deviations of the count)."""

from __future__ import annotations

import itertools
import math
import textwrap
import tracemalloc
from pathlib import Path

import numpy as np
import pytest
import scipy.sparse as sp

import neurocc
from neurocc.frontends.yaml import is_network_spec, read_network_yaml
from neurocc.sim.reference import run_graph

SIGMAS = 5.0


def write(tmp_path: Path, text: str, name: str = "net.yaml") -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text))
    return path


HAND = """\
    kind: network
    name: hand
    description: two inputs, two LIF neurons with recurrence, one read-out
    dt: 0.5 ms
    populations:
      - {name: inp, model: input, shape: 2}
      - name: hid
        model: lif
        shape: [2]
        reset: subtract
        params: {tau: 20 ms, v_threshold: 1.0, v_reset: 0.0, bias: 0.25, r: 2}
      - name: out
        model: li
        shape: 1
        params: {tau: 10000 us}
    projections:
      - {name: ff, source: inp, target: hid, connect: {rule: one_to_one}, weight: 0.5,
         delay: 1.25 ms}
      - source: hid
        target: hid
        connect: {rule: all_to_all, self_connections: false}
        weight: -0.75
        delay: 1.2 ms
      - {source: hid, target: out, connect: {rule: all_to_all}, weight: 2}
    outputs: [out]
    """


def test_hand_checked_network(tmp_path):
    graph = read_network_yaml(write(tmp_path, HAND))
    assert graph.dt_s == 0.5e-3
    assert graph.inputs == ("inp",) and graph.outputs == ("out",)
    hid = graph.populations["hid"]
    assert (hid.model, hid.shape, hid.reset) == ("lif", (2,), "subtract")
    for key, value in (("tau_s", 0.02), ("v_threshold", 1.0), ("bias", 0.25), ("r", 2.0),
                       ("v_leak", 0.0)):  # v_leak: the model's default
        np.testing.assert_array_equal(hid.params[key], [value, value])
    assert graph.populations["out"].params["tau_s"][0] == pytest.approx(0.01)
    ff = graph.projections["ff"]
    np.testing.assert_array_equal(ff.dense_weight(), [[0.5, 0.0], [0.0, 0.5]])
    assert int(ff.delay_steps) == 3  # 1.25 ms / 0.5 ms = 2.5 steps: halves round up
    rec = graph.projections["hid_hid"]
    np.testing.assert_array_equal(rec.dense_weight(), [[0.0, -0.75], [-0.75, 0.0]])
    assert int(rec.delay_steps) == 2  # 1.2 ms / 0.5 ms = 2.4 steps
    np.testing.assert_array_equal(graph.projections["hid_out"].dense_weight(), [[2.0, 2.0]])
    assert graph.metadata["frontend"] == "yaml" and graph.metadata["yaml"]["name"] == "hand"
    run_graph(graph, np.ones((1, 5, 2), np.uint8))  # the reference engine runs it


def test_voltage_units_convert_to_the_declared_unit(tmp_path):
    path = write(tmp_path, """\
        kind: network
        voltage_unit: mV
        populations:
          - {name: i, model: input, shape: 1}
          - name: n
            model: lif
            shape: 3
            params: {tau: 0.03 s, v_threshold: 15 mV, v_reset: 0.0135 V, v_leak: -2}
        projections:
          - {source: i, target: n, connect: {rule: all_to_all}, weight: 500 uV}
        outputs: [n]
        """)
    graph = read_network_yaml(path)
    params = graph.populations["n"].params
    assert params["v_threshold"][0] == pytest.approx(15.0)
    assert params["v_reset"][0] == pytest.approx(13.5)
    assert params["v_leak"][0] == -2.0  # a bare number is already in model units
    assert params["tau_s"][0] == pytest.approx(0.03)
    assert graph.projections["i_n"].dense_weight()[0, 0] == pytest.approx(0.5)
    assert graph.dt_s == 1e-3  # the default


def test_receptors_of_lif_cur_exp(tmp_path):
    path = write(tmp_path, """\
        kind: network
        populations:
          - {name: i, model: input, shape: 2}
          - name: n
            model: lif_cur_exp
            shape: 2
            params: {tau_mem: 20 ms, tau_syn_exc: 5 ms, tau_syn_inh: 10 ms, v_threshold: 1}
        projections:
          - {name: e, source: i, target: n, connect: {rule: one_to_one}, weight: 1,
             receptor: excitatory}
          - {name: h, source: i, target: n, connect: {rule: one_to_one}, weight: -1,
             receptor: inhibitory}
        outputs: [n]
        """)
    graph = read_network_yaml(path)
    assert graph.projections["e"].receptor == "excitatory"
    assert graph.projections["h"].receptor == "inhibitory"
    assert graph.populations["n"].params["tau_syn_inh_s"][0] == pytest.approx(0.01)


@pytest.mark.parametrize("sparse", [False, True])
def test_from_npz_dense_and_sparse(tmp_path, sparse):
    weight = np.arange(12, dtype=float).reshape(3, 4) - 5
    if sparse:
        sp.save_npz(tmp_path / "w.npz", sp.csr_array(weight))
        connect = "{rule: from_npz, file: w.npz}"
    else:
        np.savez(tmp_path / "w.npz", other=np.zeros(2), weight=weight)
        connect = "{rule: from_npz, file: w.npz, key: weight}"
    path = write(tmp_path, f"""\
        kind: network
        populations:
          - {{name: i, model: input, shape: 4}}
          - {{name: n, model: if, shape: 3, params: {{v_threshold: 1}}}}
        projections:
          - {{source: i, target: n, connect: {connect}, delay: 2 ms}}
        outputs: [n]
        """)
    proj = read_network_yaml(path).projections["i_n"]
    assert proj.is_sparse == sparse
    np.testing.assert_array_equal(proj.dense_weight(), weight)
    assert int(proj.delay_steps) == 2


RANDOM = """\
    kind: network
    seed: {seed}
    populations:
      - {{name: i, model: input, shape: 300}}
      - {{name: n, model: lif, shape: [5, 8, 5], params: {{tau: 20 ms, v_threshold: 1}}}}
    projections:
      - {{source: i, target: n, connect: {{rule: fixed_probability, p: 0.1}},
          weight: {{distribution: normal, mean: 0.5, std: 0.1}}}}
      - {{source: n, target: n, delay: 1 ms,
          connect: {{rule: distance_dependent, c: 0.4, lambda: 1.5, self_connections: false}},
          weight: {{distribution: gamma, mean: -2.0, std: 1.0}}}}
    outputs: [n]
    """


def count_within(count: float, p: np.ndarray) -> None:
    mean, sd = p.sum(), math.sqrt((p * (1 - p)).sum())
    assert abs(count - mean) <= SIGMAS * sd, (count, mean, sd)


@pytest.mark.parametrize("seed", [0, 1])
def test_random_rules_follow_their_probabilities(tmp_path, seed):
    graph = read_network_yaml(write(tmp_path, RANDOM.format(seed=seed)))
    forward = graph.projections["i_n"]
    count_within(forward.weight.nnz, np.full((200, 300), 0.1))
    values = forward.weight.data  # normal(0.5, 0.1): 5 standard errors on the mean
    assert abs(values.mean() - 0.5) <= SIGMAS * 0.1 / math.sqrt(len(values))
    at = np.array(list(itertools.product(range(5), range(8), range(5))), float)
    d2 = ((at[:, None] - at[None]) ** 2).sum(axis=2)
    p = 0.4 * np.exp(-d2 / 1.5**2)
    np.fill_diagonal(p, 0.0)
    recurrent = graph.projections["n_n"].dense_weight()
    count_within(np.count_nonzero(recurrent), p)
    for value in (1, 2, 3, 4):  # the distance profile, shell by shell
        count_within(np.count_nonzero(recurrent[d2 == value]), p[d2 == value])
    assert np.all(recurrent <= 0) and not np.diag(recurrent).any()  # gamma: the sign of mean


def test_same_seed_same_graph_and_the_seed_option(tmp_path):
    path = write(tmp_path, RANDOM.format(seed=4))
    a, b = read_network_yaml(path), read_network_yaml(path)
    c = read_network_yaml(path, seed=5)
    for name in ("i_n", "n_n"):
        np.testing.assert_array_equal(a.projections[name].weight.data,
                                      b.projections[name].weight.data)
    assert a.projections["i_n"].weight.nnz != c.projections["i_n"].weight.nnz


def test_dt_option_overrides_the_file_and_rounds_delays_with_it(tmp_path):
    graph = read_network_yaml(write(tmp_path, HAND), dt_s=0.25e-3)
    assert graph.dt_s == 0.25e-3
    assert int(graph.projections["ff"].delay_steps) == 5  # 1.25 ms / 0.25 ms


def test_population_parameters_drawn_per_neuron(tmp_path):
    path = write(tmp_path, """\
        kind: network
        populations:
          - {name: i, model: input, shape: 1}
          - name: n
            model: lif
            shape: 1000
            params:
              tau: {distribution: uniform, low: 10 ms, high: 30 ms}
              v_threshold: {distribution: lognormal, mean: 1.0, std: 0.2}
        outputs: [n]
        """)
    params = read_network_yaml(path).populations["n"].params
    assert params["tau_s"].min() >= 0.01 and params["tau_s"].max() <= 0.03
    assert len(np.unique(params["tau_s"])) == 1000
    # standard error of the mean of 1000 lognormal values with sd 0.2: 0.0063
    assert abs(params["v_threshold"].mean() - 1.0) <= SIGMAS * 0.2 / math.sqrt(1000)


def test_large_sparse_rule_allocates_no_dense_matrix(tmp_path):
    path = write(tmp_path, """\
        kind: network
        populations:
          - {name: i, model: input, shape: 100000}
          - {name: n, model: lif, shape: 100000, params: {tau: 20 ms, v_threshold: 1}}
        projections:
          - {source: i, target: n, connect: {rule: fixed_probability, p: 1.0e-5}, weight: 1}
        outputs: [n]
        """)
    tracemalloc.start()
    try:
        graph = read_network_yaml(path)
        _, peak_bytes = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    # dense would be 80 GB; 1e5 synapses and a few 1e5-neuron arrays need a few MB
    assert peak_bytes < 100 * 2**20
    assert abs(graph.projections["i_n"].weight.nnz - 1e5) <= SIGMAS * math.sqrt(1e5)


def test_is_network_spec_tells_specs_from_target_files(tmp_path):
    assert is_network_spec(write(tmp_path, HAND))
    target = Path(neurocc.__file__).resolve().parents[1] / "backends/loihi/targets/loihi2.yaml"
    assert not is_network_spec(target)
    assert not is_network_spec(tmp_path / "missing.yaml")
    assert not is_network_spec(write(tmp_path, "a: [", "broken.yaml"))


def test_neurocc_load_through_the_frontend_record(tmp_path):
    graph = neurocc.load(write(tmp_path, HAND, "net.yml"), dt_s=1e-3)
    assert graph.dt_s == 1e-3 and list(graph.populations) == ["inp", "hid", "out"]

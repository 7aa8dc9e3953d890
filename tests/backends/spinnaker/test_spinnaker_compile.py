"""SpiNNaker lowering: ring-buffer shifts, weight words by sign, partition limits, energy."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp

import neurocc
from neurocc.backends import load_target
from neurocc.backends.spinnaker.quantize import ring_shift
from neurocc.compiler.errors import MappingError
from neurocc.compiler.graph import Graph, Population, Projection


def two_layer(model: str = "lif", n_post: int = 3, weight: np.ndarray | None = None,
              delay: int = 0, receptor: str = "", **params: float) -> Graph:
    n_pre = 4
    w = np.full((n_post, n_pre), 0.5) if weight is None else weight
    defaults = {"lif": {"tau_s": 0.02, "v_threshold": 1.0}, "if": {"v_threshold": 1.0},
                "lif_cur_exp": {"tau_mem_s": 0.01, "tau_syn_exc_s": 0.005,
                                "tau_syn_inh_s": 0.005, "v_threshold": 1.0}}[model]
    pops = {"in": Population("in", "input", (n_pre,)),
            "out": Population("out", model, (n_post,), {**defaults, **params}, "to_value")}
    proj = Projection("w", "in", "out", w, np.asarray(delay), receptor=receptor)
    return Graph(1e-3, pops, {"w": proj}, ("in",), ("out",))


@pytest.mark.parametrize(("worst", "shift"), [(50.0, 6), (32.0, 6), (31.9, 5), (1.0, 1),
                                              (0.5, 0), (0.0, 0)])
def test_ring_shift_follows_spynnaker(worst: float, shift: int) -> None:
    # shared/reference/spinnaker.md §2.3: r = ceil(log2 M), +1 when 2**r <= M (M=50 -> 6)
    assert ring_shift(worst) == shift


def test_weights_split_by_sign_into_unsigned_words() -> None:
    weight = np.array([[0.5, -0.25, 0.0, 1.0]] * 3)
    artifact = neurocc.compile(two_layer(weight=weight, r=1.0), "spinnaker1")
    arrays = artifact.sections["spinnaker"]
    record = artifact.graph.history[-3].details
    # excitatory slot sum 1.5 -> shift 1, scale 2**14; inhibitory 0.25 -> shift 0, scale 2**15
    assert record["shifts"]["out"] == [1, 0]
    words = dict(zip(zip(arrays["proj/w/pre"].tolist(), arrays["proj/w/type"].tolist(),
                         strict=True), arrays["proj/w/weight"].tolist(), strict=False))
    assert words == {(0, 0): 8192, (1, 1): 8192, (3, 0): 16384}
    assert record["projections"]["w"]["resolution"] == {"excitatory": 2.0 ** -14,
                                                        "inhibitory": 2.0 ** -15}


def test_weights_below_resolution_are_lost_and_reported() -> None:
    weight = np.array([[1000.0, 1e-6, 0.0, 0.0]])
    artifact = neurocc.compile(two_layer(n_post=1, weight=weight, r=1.0), "spinnaker1")
    record = artifact.graph.history[-3].details["projections"]["w"]
    assert record["lost_to_zero"] == 1
    assert artifact.sections["spinnaker"]["proj/w/weight"].size == 1


@pytest.mark.parametrize(("model", "receptor", "sign"), [("lif", "", 1.0),
                                                         ("lif_cur_exp", "inhibitory", -1.0)])
def test_sparse_weights_with_stored_zeros_compile_as_their_dense_form(
        model: str, receptor: str, sign: float) -> None:
    """The CSR path (one kernel pass) against the dense one (coo of every entry): stored
    zeros are no synapses, below-resolution weights are lost, words and types agree."""
    weight = np.array([[0.5, 0.0, -0.25, 1e-7], [0.0, 0.0, 0.75, 0.3], [0.2, 0.0, 0.0, 0.0]])
    weight = sign * np.abs(weight) if receptor else weight
    sparse = sp.csr_array(weight)
    sparse.data[np.abs(sparse.data) == 0.2] = 0.0  # a stored zero
    assert sparse.nnz == 6 and np.count_nonzero(sparse.data) == 5
    dense_weight = sparse.toarray()
    runs = [neurocc.compile(two_layer(model, weight=w, receptor=receptor, delay=1),
                            "spinnaker1") for w in (sparse, dense_weight)]
    a, b = (r.sections["spinnaker"] for r in runs)
    assert a["proj/w/weight"].size == 4  # 0.5, -0.25, 0.75, 0.3 stay; 1e-7 rounds to zero
    for key in ("post", "pre", "weight", "type", "delay", "stage"):
        assert np.array_equal(a[f"proj/w/{key}"], b[f"proj/w/{key}"]), key
    assert runs[0].graph.history[-3].details == runs[1].graph.history[-3].details


def test_receptor_of_the_wrong_sign_is_refused() -> None:
    graph = two_layer("lif_cur_exp", weight=-np.ones((3, 4)), receptor="excitatory")
    with pytest.raises(MappingError, match="wrong sign"):
        neurocc.compile(graph, "spinnaker1")


def test_population_is_sliced_within_neurons_per_core() -> None:
    artifact = neurocc.compile(two_layer(n_post=600), "spinnaker1", mapping="sequential")
    cores = [c for c in artifact.layout["cores"] if c["population"] == "out"]
    assert [c["neurons"] for c in cores] == [256, 256, 88]
    # contiguous slices: neuron i on the population's core i // 256, slot i % 256
    first = artifact.layout["populations"]["out"]["cores"][0]
    arrays = artifact.sections["spinnaker"]
    assert np.array_equal(arrays["map/out/core"], first + np.arange(600) // 256)
    assert np.array_equal(arrays["map/out/slot"], np.arange(600) % 256)
    assert artifact.layout["resources"]["neurons_per_core"] == {
        "used": 256, "limit": 256, "unit": "neurons"}


def test_delay_beyond_the_extension_stages_names_projection_delay_and_limit() -> None:
    # 8 slots x 32 on-core ticks = 256: 257 cannot be carried (sPyNNaker: 8 x d_post)
    with pytest.raises(MappingError, match=r"projection 'w'.*257 ticks.*8 x 32 = 256"):
        neurocc.compile(two_layer(delay=257), "spinnaker1")


def test_long_delay_goes_through_an_extension_stage_and_keeps_full_slices() -> None:
    # 64 ticks = stage 1 (32 ticks in the extension) + 32 on-core: slices stay 256 neurons
    artifact = neurocc.compile(two_layer(n_post=300, delay=64), "spinnaker1",
                               mapping="sequential")
    sizes = [c["neurons"] for c in artifact.layout["cores"] if c["population"] == "out"]
    assert sizes == [256, 44]
    arrays = artifact.sections["spinnaker"]
    assert set(arrays["proj/w/stage"].tolist()) == {1}
    assert set(arrays["proj/w/delay"].tolist()) == {32}
    extension = [c for c in artifact.layout["cores"] if c["population"] == "in.delay"]
    assert [c["neurons"] for c in extension] == [4]  # the atoms of 'in' (4 neurons)
    assert artifact.layout["resources"]["cores"]["used"] == 4  # in, out x 2, in.delay


def test_energy_is_the_toolchains_model(tmp_path) -> None:
    from neurocc.report import simulation_report
    artifact = neurocc.compile(two_layer(r=1.0), "spinnaker1")
    spikes = np.ones((2, 10, 4), dtype=np.uint8)
    result = neurocc.simulate(artifact, spikes, engine="exact")
    energy = simulation_report(artifact, result, n_inferences=2)["energy"]
    spec = load_target("spinnaker1")
    chips, cores = 1, artifact.layout["resources"]["cores"]["used"]
    tick_s = 1e-3 * 10  # 10 ticks of 1 ms, real time
    expected_pj = (spec.power_idle_chip_w * chips + spec.power_active_core_w * cores) * tick_s
    expected_pj = expected_pj * 1e12 + result.counters["packets"] / 2 * spec.energy_per_packet_pj
    assert energy["energy_per_inference_pj"] == pytest.approx(expected_pj)
    assert energy["time_per_inference_ns"] == pytest.approx(tick_s * 1e9)
    assert result.counters["packets"] == 2 * 10 * 4  # every input neuron has targets


def test_cubalif_is_a_single_receptor_exponential_synapse() -> None:
    weight = np.array([[5.0, -1.0, 2.5, 0.0]] * 3)
    pops = {"in": Population("in", "input", (4,)),
            "out": Population("out", "cubalif", (3,), {"tau_syn_s": 0.005, "tau_mem_s": 0.01,
                                                       "v_threshold": 1.0}, "subtract")}
    graph = Graph(1e-3, pops, {"w": Projection("w", "in", "out", weight)}, ("in",), ("out",))
    artifact = neurocc.compile(graph, "spinnaker2")
    arrays = artifact.sections["spinnaker"]
    assert artifact.layout["populations"]["out"]["synapse"] == "exp"
    assert sorted(set(zip(arrays["proj/w/pre"].tolist(), arrays["proj/w/type"].tolist(),
                          strict=True))) == [(0, 0), (1, 1), (2, 0)]
    # both synapse types share tau_syn: the same decay and init
    decay, init = arrays["pop/out/syn_decay"], arrays["pop/out/syn_init"]
    assert (decay[0] == decay[1]).all() and (init[0] == init[1]).all()
    spikes = np.ones((1, 20, 4), dtype=np.uint8)
    assert neurocc.simulate(artifact, spikes, engine="exact").counters["spikes"] > 0


def test_summed_input_beyond_the_state_word_is_refused() -> None:
    # a slot summing to 2**16 needs shift 17 > state_bits - 1 - weight_bits = 15
    weight = np.full((1, 4), 2.0 ** 14)
    with pytest.raises(MappingError, match="shift of 17, above the limit of 15"):
        neurocc.compile(two_layer(n_post=1, weight=weight, r=1.0), "spinnaker1")


def test_parameter_beyond_s16_15_is_refused() -> None:
    with pytest.raises(MappingError, match="does not fit the signed 32-bit"):
        neurocc.compile(two_layer(v_threshold=1e6), "spinnaker1")


def test_target_whose_fraction_bits_fill_the_word_is_refused(tmp_path) -> None:
    import yaml

    from neurocc.backends import resolve_target
    from neurocc.compiler.errors import TargetError
    info = resolve_target("spinnaker1")
    assert info.path is not None
    data = yaml.safe_load(info.path.read_text())
    data["format"]["fraction_bits"]["value"] = 32
    copy = tmp_path / "bad.yaml"
    copy.write_text(yaml.safe_dump(data))
    with pytest.raises(TargetError, match=r"format\.fraction_bits"):
        neurocc.compile(two_layer(), copy)

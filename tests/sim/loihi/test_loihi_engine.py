"""The exact engine on its own: input and artifact checks, counters, batch and schedule
invariance (results must not depend on chunking, batching or the accumulation path)."""

import dataclasses

import numpy as np
import pytest
import random_artifacts as ra

from neurocc.backends.loihi.section import pop_key, proj_key
from neurocc.compiler.errors import SimulationError
from neurocc.sim.loihi import COUNTER_NAMES, engine, run_artifact, synapses

weightutils = pytest.importorskip("lava.utils.weightutils")


def case(recipe=None, seed=0, batch=3, steps=40, rate=0.25):
    recipe = recipe or ra.feed_forward()
    artifact = ra.build_artifact(recipe, seed)
    n_in = sum(recipe.sizes[name] for name in recipe.inputs)
    return artifact, ra.random_spikes(np.random.default_rng(seed), batch, steps, n_in, rate)


def with_array(artifact, key, value):
    arrays = dict(artifact.sections["loihi"])
    if value is None:
        del arrays[key]
    else:
        arrays[key] = np.asarray(value)
    return dataclasses.replace(artifact, sections={"loihi": arrays})


# -- errors ------------------------------------------------------------------------------------
@pytest.mark.parametrize("shape", [(40, 12), (1, 40, 11), (1, 0, 12), (0, 5, 12)])
def test_wrong_input_shape_is_a_simulation_error(shape):
    artifact, _ = case()
    with pytest.raises(SimulationError, match="expected 0/1 spikes of shape"):
        run_artifact(artifact, np.zeros(shape, dtype=np.uint8))


def test_non_binary_input_is_a_simulation_error():
    artifact, spikes = case()
    with pytest.raises(SimulationError, match="other than 0 and 1"):
        run_artifact(artifact, spikes * 2)


@pytest.mark.parametrize("key, value, message", [
    (pop_key("h1", "du"), 4096, r"pop/h1/du.*4096.*\[0, 4095\]"),
    (pop_key("h1", "vth"), -1, r"pop/h1/vth.*-1"),
    (pop_key("h2", "bias_mant"), np.full(10, 5000), r"bias_mant.*5000"),
    (proj_key("p0", "num_weight_bits"), 9, r"num_weight_bits.*9"),
    (proj_key("p1", "delay"), 2, r"Dense with synaptic delays up to 2"),
    (pop_key("out", "dv"), None, r"pop/out/dv.*missing"),
    (proj_key("p0", "weight"), np.zeros((3, 3), dtype=np.int64), r"shape \(3, 3\)"),
])
def test_bad_artifact_values_are_simulation_errors(key, value, message):
    artifact, spikes = case()
    with pytest.raises(SimulationError, match=message):
        run_artifact(with_array(artifact, key, value), spikes)


def test_delay_beyond_lava_range_is_an_error():
    artifact, spikes = case(ra.delayed())
    with pytest.raises(SimulationError, match=r"delay.*64.*\[0, 63\]"):
        run_artifact(with_array(artifact, proj_key("p1", "delay"), 64), spikes)


def test_bad_delay_sparse_arrays_are_simulation_errors():
    artifact, spikes = case(ra.delayed_sparse())
    arrays = artifact.sections["loihi"]
    nnz = arrays[proj_key("p0", "weight/data")].size
    per_synapse = arrays[proj_key("p0", "delay/data")]
    bad = [  # (artifact, its input, message)
        (with_array(artifact, proj_key("p0", "delay/data"), per_synapse[:-1]), spikes,
         rf"proj/p0/delay/data.*expected integers of shape \({nnz},\)"),
        (with_array(artifact, proj_key("p0", "delay/data"), np.full(nnz, 64)), spikes,
         r"proj/p0/delay/data.*64.*\[0, 63\]"),
        # a dense (post, pre) delay matrix is no DelaySparse form
        (with_array(with_array(artifact, proj_key("p0", "delay/data"), None),
                    proj_key("p0", "delay"), np.ones((16, 12), dtype=np.int64)), spikes,
         r"proj/p0/delay.*shape \(16, 12\); a DelaySparse stores one delay"),
    ]
    sparse, sparse_spikes = case(ra.sparse_fan_in())
    bad.append((with_array(sparse, proj_key("p0", "delay/data"), np.ones(3, dtype=np.int64)),
                sparse_spikes, r"proj/p0/delay/data.*belongs to a Sparse projection"))
    for broken, inputs, message in bad:
        with pytest.raises(SimulationError, match=message):
            run_artifact(broken, inputs)


def test_artifact_of_another_family_is_an_error():
    artifact, spikes = case()
    other = dataclasses.replace(artifact, family="spinnaker", sections={})
    with pytest.raises(SimulationError, match="no 'loihi' section"):
        run_artifact(other, spikes)


# -- result layout -------------------------------------------------------------------------------
def test_result_layout():
    recipe = ra.sparse_fan_in()
    artifact, spikes = case(recipe, steps=30)
    result = run_artifact(artifact, spikes, record_states=True)
    assert list(result.spikes) == list(recipe.sizes)
    np.testing.assert_array_equal(result.spikes["a"], spikes[:, :, :9])
    np.testing.assert_array_equal(result.spikes["b"], spikes[:, :, 9:])
    assert all(s.dtype == np.uint8 and s.shape[:2] == (3, 30) for s in result.spikes.values())
    assert sorted(result.states) == ["u/h", "u/out", "v/h", "v/out"]
    assert result.output.shape == (3, 30, 15 + 8)
    assert result.latency_steps == artifact.layout["latency_steps"]
    assert tuple(result.counters) == COUNTER_NAMES
    assert run_artifact(artifact, spikes).states == {}


# -- invariance ----------------------------------------------------------------------------------
TOPOLOGIES = [ra.feed_forward(), ra.recurrent(), ra.delayed(), ra.sparse_fan_in(),
              ra.delayed_sparse()]
TOPOLOGY_IDS = ["ff", "recurrent", "delayed", "sparse", "delayed_sparse"]


def same_results(first, second):
    for name, value in first.spikes.items():
        np.testing.assert_array_equal(value, second.spikes[name], err_msg=name)
    for key, value in first.states.items():
        np.testing.assert_array_equal(value, second.states[key], err_msg=key)
    assert first.counters == second.counters


@pytest.mark.parametrize("recipe", TOPOLOGIES, ids=TOPOLOGY_IDS)
def test_batch_equals_one_sample_at_a_time(recipe):
    artifact, spikes = case(recipe, batch=4)
    together = run_artifact(artifact, spikes, record_states=True)
    alone = [run_artifact(artifact, spikes[i:i + 1], record_states=True) for i in range(4)]
    for name, value in together.spikes.items():
        np.testing.assert_array_equal(value, np.concatenate([r.spikes[name] for r in alone]))
    for key, value in together.states.items():
        np.testing.assert_array_equal(value, np.concatenate([r.states[key] for r in alone]))
    for counter in COUNTER_NAMES:
        assert together.counters[counter] == sum(r.counters[counter] for r in alone)


@pytest.mark.parametrize("chunk_elements", [1, 7 * 3 * 16])
@pytest.mark.parametrize("recipe", TOPOLOGIES, ids=TOPOLOGY_IDS)
def test_chunking_does_not_change_results(monkeypatch, recipe, chunk_elements):
    artifact, spikes = case(recipe)
    whole = run_artifact(artifact, spikes, record_states=True)
    monkeypatch.setattr(engine, "CHUNK_ELEMENTS", chunk_elements)
    same_results(whole, run_artifact(artifact, spikes, record_states=True))


@pytest.mark.parametrize("recipe", [ra.delayed(), ra.delayed_sparse()],
                         ids=["delayed", "delayed_sparse"])
@pytest.mark.parametrize("event_density, block_density", [(0.0, 0.0), (2.0, 0.0), (2.0, 2.0)])
def test_accumulation_paths_agree(monkeypatch, recipe, event_density, block_density):
    artifact, spikes = case(recipe, rate=0.05)
    default = run_artifact(artifact, spikes, record_states=True)
    monkeypatch.setattr(synapses, "EVENT_DRIVEN_MAX_DENSITY", event_density)
    monkeypatch.setattr(synapses, "SPARSE_BLOCK_MAX_DENSITY", block_density)
    same_results(default, run_artifact(artifact, spikes, record_states=True))


def test_progress_bar_runs(capsys):
    artifact, spikes = case()
    same_results(run_artifact(artifact, spikes), run_artifact(artifact, spikes, progress=True))
    assert "loihi" in capsys.readouterr().err


# -- counters, from the spikes and states by independent code -----------------------------------
def lava_weights(artifact, name):
    """Effective weights by Lava's own weightutils (not the engine's fixed_point module)."""
    arrays = artifact.sections["loihi"]
    w = arrays[proj_key(name, "weight")].astype(np.int32)
    mode = weightutils.determine_sign_mode(w)
    w = weightutils.clip_weights(w, mode, num_bits=8)
    return weightutils.truncate_weights(w, mode, int(arrays[proj_key(name, "num_weight_bits")]))


def test_counters_match_independent_counts():
    recipe = ra.feed_forward()
    artifact, spikes = case(recipe, seed=3, batch=2, steps=60, rate=0.3)
    result = run_artifact(artifact, spikes, record_states=True)
    arrays = artifact.sections["loihi"]
    layout = artifact.layout["projections"]
    batch, steps = spikes.shape[:2]
    expected = dict.fromkeys(COUNTER_NAMES, 0)
    a_in = {p: np.zeros((batch, steps, recipe.sizes[p]), dtype=np.int64)
            for p in recipe.sizes if p not in recipe.inputs}
    for name, entry in layout.items():
        w = lava_weights(artifact, name).astype(np.int64)
        s = result.spikes[entry["source"]].astype(np.int64)
        expected["synops"] += int(np.einsum("btj,ij->", s, (w != 0).astype(np.int64)))
        exp = int(arrays[proj_key(name, "weight_exp")])
        acc = np.einsum("btj,ij->bti", s, w)
        acc = acc << exp if exp > 0 else acc >> -exp
        a_in[entry["target"]][:, 1:] += acc[:, :-1].astype(np.int32)  # one step late
    for pop, size in recipe.sizes.items():
        spikes_per_neuron = result.spikes[pop].sum(axis=(0, 1)).astype(np.int64)
        key = "input_spikes" if pop in recipe.inputs else "spikes"
        expected[key] += int(spikes_per_neuron.sum())
        for counter, array in (("spike_messages", "msg_per_spike"),
                               ("hops_eastwest", "hops_ew_per_spike"),
                               ("hops_northsouth", "hops_ns_per_spike")):
            expected[counter] += int(spikes_per_neuron @ arrays[pop_key(pop, array)])
        if pop in recipe.inputs:
            continue
        u, v = result.states[f"u/{pop}"], result.states[f"v/{pop}"]
        before = np.zeros_like(u)
        before[:, 1:] = (u[:, :-1] != 0) | (v[:, :-1] != 0)
        active = int(np.count_nonzero(before.astype(bool) | (a_in[pop] != 0)))
        expected["neuron_updates_active"] += active
        expected["neuron_updates"] += batch * steps * size
    expected["steps"] = batch * steps
    assert result.counters == expected
    assert expected["synops"] > 0 and expected["neuron_updates_active"] > 0


def test_a_non_spiking_output_reads_out_its_v() -> None:
    """An li readout is a LIF that never fires on the chip: its output is v, as in the reference."""
    import neurocc
    from neurocc.compiler.graph import Graph, Population, Projection

    pops = {"in": Population("in", "input", (2,)),
            "h": Population("h", "lif", (2,), {"tau_s": 2e-3, "v_threshold": 0.5}, "to_value"),
            "o": Population("o", "li", (2,), {"tau_s": 5e-3})}
    projs = {"a": Projection("a", "in", "h", np.eye(2) * 2),
             "b": Projection("b", "h", "o", np.array([[1.0, 0.0], [0.0, 2.0]]))}
    graph = Graph(1e-3, pops, projs, ("in",), ("o",))
    x = np.zeros((1, 12, 2), np.uint8)
    x[0, :, 0] = 1
    artifact = neurocc.compile(graph, "loihi2")
    chip = neurocc.simulate(artifact, x, engine="exact", align=True)
    reference = neurocc.simulate(graph, x)
    scale = artifact.sections["loihi"]["pop/o/v_scale"]
    assert "v/o" in chip.states and "u/h" not in chip.states  # v of the readout only
    # 8-bit weight mantissas and truncating decays: 0.39 % measured, 1 % allowed
    np.testing.assert_allclose(chip.output / scale, reference.output, rtol=1e-2, atol=1e-6)
    assert reference.output[0, -1, 0] > 0.8

"""The analog crossbar engine: ideal equals the float reference within the stated bound, each
non-ideality moves the output the expected way and by the expected amount, tiling does not
change the product, and a run is reproducible from the artifact and the seed."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import yaml

import neurocc
from neurocc.backends import resolve_target
from neurocc.backends.crossbar.options import NON_IDEALITIES
from neurocc.compiler.errors import NeuroccError, SimulationError
from neurocc.compiler.graph import Graph, Population, Projection
from neurocc.demo import EXAMPLE_DIR, EXAMPLE_MODEL
from neurocc.sim.crossbar.arrays import Periphery, dac

ALL_OFF = dict.fromkeys(NON_IDEALITIES, False)


def readout_graph(weight: np.ndarray) -> Graph:
    """Inputs onto an ``output`` population, whose v is the synaptic current of the step."""
    n_out, n_in = weight.shape
    pops = {"in": Population("in", "input", (n_in,)),
            "out": Population("out", "output", (n_out,))}
    return Graph(1e-3, pops, {"w": Projection("w", "in", "out", weight)}, ("in",), ("out",))


def target_copy(tmp_path: Path, base: str, **values) -> Path:
    info = resolve_target(base)
    assert info.path is not None
    data = yaml.safe_load(info.path.read_text())
    for key, value in values.items():
        section = next(s for s, keys in data.items() if isinstance(keys, dict) and key in keys)
        data[section][key]["value"] = value
    copy = tmp_path / f"{base}_copy.yaml"
    copy.write_text(yaml.safe_dump(data))
    return copy


def currents(artifact, spikes, **options) -> np.ndarray:
    return neurocc.simulate(artifact, spikes, **options).states["v/out"]


def random_spikes(batch: int, steps: int, n: int, rate: float, seed: int = 0) -> np.ndarray:
    return (np.random.default_rng(seed).random((batch, steps, n)) < rate).astype(np.uint8)


def test_ideal_engine_equals_the_reference_within_the_weight_quantization() -> None:
    rng = np.random.default_rng(0)
    weight = rng.normal(size=(40, 300))
    art = neurocc.compile(readout_graph(weight), "pcm256")
    spikes = random_spikes(8, 5, 300, 0.3)
    got = currents(art, spikes, ideal=True)
    want = neurocc.simulate(art, spikes, engine="reference").states["v/out"]
    bound = np.zeros_like(want)
    for tile in art.layout["tiles"]:  # sum over the active inputs of s / 2, tile by tile
        lo, hi = tile["rows"]
        active = spikes[:, :, lo:hi].sum(axis=2, keepdims=True)
        bound[:, :, tile["cols"][0]:tile["cols"][1]] += active * tile["scale"] / 2
    error = np.abs(got - want)
    assert np.all(error <= bound + 1e-12)
    assert error.max() > 0  # the comparison is not trivially exact


def test_adc_quantization_adds_at_most_half_an_lsb_per_read() -> None:
    rng = np.random.default_rng(6)
    weight = rng.normal(size=(40, 300))
    art = neurocc.compile(readout_graph(weight), "pcm256")
    spikes = random_spikes(8, 5, 300, 0.3)
    result = neurocc.simulate(art, spikes, **{**ALL_OFF, "adc": True})
    assert result.counters["adc_clips"] == 0  # the bound holds below full scale
    want = neurocc.simulate(art, spikes, engine="reference").states["v/out"]
    dg, lsb = 25.0 / 255, 10.0 * 25.0 / 127  # pcm256: 256 levels, 8-bit ADC over 10 cells
    bound = np.zeros_like(want)
    for tile in art.layout["tiles"]:
        lo, hi = tile["rows"]
        active = spikes[:, :, lo:hi].sum(axis=2, keepdims=True)
        read = (active > 0) * tile["scale"] * lsb / (2 * dg)  # one slice: sum_k levels^k = 1
        bound[:, :, tile["cols"][0]:tile["cols"][1]] += active * tile["scale"] / 2 + read
    error = np.abs(result.states["v/out"] - want)
    assert np.all(error <= bound + 1e-12)
    ideal_error = np.abs(currents(art, spikes, ideal=True) - want)
    assert error.max() > 2 * ideal_error.max()  # the converter's step dominates the error


def test_grid_weights_and_a_granular_adc_give_the_reference_exactly(tmp_path) -> None:
    # 16 levels, 9-bit ADC over +-17 cells: lsb = 17 (g_max - g_min) / 255 = one level step
    target = target_copy(tmp_path, "rram256k", adc_bits=9, adc_range_cells=17.0)
    rng = np.random.default_rng(1)
    weight = rng.integers(-15, 16, size=(30, 16)).astype(float)
    weight[0, 0] = 15.0  # s = 1: every weight is on the grid
    art = neurocc.compile(readout_graph(weight), target)
    spikes = random_spikes(20, 4, 16, 0.5)
    got = currents(art, spikes, **{**ALL_OFF, "adc": True})  # |column sum| <= 240 < 255
    want = neurocc.simulate(art, spikes, engine="reference").states["v/out"]
    np.testing.assert_allclose(got, want, rtol=0, atol=1e-9)


def test_adc_clips_at_its_full_scale() -> None:
    art = neurocc.compile(readout_graph(np.ones((4, 256))), "pcm256")
    got = currents(art, np.ones((1, 1, 256), np.uint8), **{**ALL_OFF, "adc": True})
    # 256 active rows at g_max; the ADC stops at adc_range_cells = 10 full weights
    np.testing.assert_allclose(got, 10.0)
    counters = neurocc.simulate(art, np.ones((1, 1, 256), np.uint8), ideal=False).counters
    assert counters["adc_clips"] == counters["conversions"] == 4
    assert currents(art, np.ones((1, 1, 256), np.uint8), ideal=True)[0, 0, 0] == \
        pytest.approx(256.0)


def test_a_matrix_larger_than_an_array_gives_the_one_array_product(tmp_path) -> None:
    rng = np.random.default_rng(2)
    weight = rng.choice([-1.0, 0.0, 1.0], size=(300, 600))  # every tile holds a +-1: s exact
    spikes = random_spikes(4, 3, 600, 0.2)
    tiled = neurocc.compile(readout_graph(weight), "pcm256")
    big = neurocc.compile(readout_graph(weight),
                          target_copy(tmp_path, "pcm256", rows=1024, cols=1024))
    assert (tiled.layout["resources"]["tiles"]["used"],
            big.layout["resources"]["tiles"]["used"]) == (9, 1)
    np.testing.assert_allclose(currents(tiled, spikes, ideal=True),
                               currents(big, spikes, ideal=True), rtol=0, atol=1e-9)
    np.testing.assert_allclose(currents(big, spikes, ideal=True), (spikes @ weight.T), atol=1e-9)


def hand_conductances(codes: np.ndarray, g_min: float, dg: float) -> tuple[np.ndarray, ...]:
    return g_min + dg * np.maximum(codes, 0), g_min + dg * np.maximum(-codes, 0)


def test_read_noise_variance_matches_the_column_formula() -> None:
    weight = np.linspace(-1.0, 1.0, 8 * 64).reshape(8, 64)
    art = neurocc.compile(readout_graph(weight), "rram256k")
    got = currents(art, np.ones((4000, 1, 64), np.uint8), **{**ALL_OFF, "read_noise": True})
    tile, codes = art.layout["tiles"][0], art.sections["crossbar"]["tile/0/codes"][0]
    dg = (40.0 - 4.0) / 15
    g_pos, g_neg = hand_conductances(codes, 4.0, dg)
    # y = s / dG x sum_rows (G+ - G-)(1 + 0.01 N): var = (s / dG)^2 sum 0.01^2 (G+^2 + G-^2)
    expected = (tile["scale"] / dg) ** 2 * (0.01 ** 2 * (g_pos ** 2 + g_neg ** 2)).sum(axis=0)
    np.testing.assert_allclose(got[:, 0].var(axis=0), expected, rtol=0.1)
    ideal = currents(art, np.ones((1, 1, 64), np.uint8), ideal=True)[0, 0]
    assert np.all(np.abs(got[:, 0].mean(axis=0) - ideal) < 5 * np.sqrt(expected / 4000))


def test_programming_noise_spread_matches_wans_sigma() -> None:
    art = neurocc.compile(readout_graph(np.ones((128, 64))), "rram256k")
    got = currents(art, np.ones((1, 1, 64), np.uint8),
                   **{**ALL_OFF, "programming_noise": True})[0, 0]
    # G+ at 40 uS (sigma 1.707 uS), G- at 4 uS (sigma 1.82 uS), 64 rows, s / dG = 1/36
    sigma = np.array([1.053 + 9.496 * x - 18.672 * x ** 2 + 9.8304 * x ** 3 for x in (1.0, 0.1)])
    expected_var = 64 * (sigma ** 2).sum() / 36.0 ** 2
    assert got.var() == pytest.approx(expected_var, rel=0.3)
    assert got.mean() == pytest.approx(64.0, abs=4 * np.sqrt(expected_var / 128))


def test_drift_lowers_the_output_by_the_power_law_unless_compensated() -> None:
    art = neurocc.compile(readout_graph(np.ones((100, 64))), "pcm256")
    spikes = np.ones((1, 1, 64), np.uint8)
    day = {**ALL_OFF, "drift": True, "t_start_s": 86400.0}
    raw = currents(art, spikes, **day, drift_compensation=False)[0, 0]
    # E[((t + t0) / t0)^-nu], nu ~ N(0.049, 0.008) at x = 1: exp(-0.049 L + (0.008 L)^2 / 2)
    ln_t = np.log((86400.0 + 20.0) / 20.0)
    assert raw.mean() / 64.0 == pytest.approx(np.exp(-0.049 * ln_t + (0.008 * ln_t) ** 2 / 2),
                                              rel=0.01)
    compensated = currents(art, spikes, **day)[0, 0]
    assert compensated.mean() / 64.0 == pytest.approx(1.0, abs=1e-9)
    assert raw.std() > 0 and compensated.std() > 0  # nu differs device to device


def test_stuck_off_devices_remove_their_share(tmp_path) -> None:
    art = neurocc.compile(readout_graph(np.ones((100, 64))),
                          target_copy(tmp_path, "pcm256", stuck_off_rate=0.25))
    got = currents(art, np.ones((1, 1, 64), np.uint8), **{**ALL_OFF, "stuck": True})
    assert got.mean() / 64.0 == pytest.approx(0.75, abs=0.02)  # G+ at g_min = 0 for 25 %


def test_line_resistance_loses_more_far_from_the_driver(tmp_path) -> None:
    art = neurocc.compile(readout_graph(np.ones((128, 256))),
                          target_copy(tmp_path, "pcm256", line_resistance_ohm=100.0))
    got = currents(art, np.ones((1, 1, 256), np.uint8),
                   **{**ALL_OFF, "line_resistance": True})[0, 0]
    # output k: G+ at column 2k; row i is 256 - i segments from the sense amplifier
    g_r = 25e-6 * 100.0
    rows = np.arange(256)
    for k in (0, 127):
        hand = np.sum(1.0 / (1.0 + g_r * (2 * k + 1 + 256 - rows)))
        assert got[k] == pytest.approx(hand, rel=1e-9)
    assert np.all(np.diff(got) < 0) and got[0] < 256.0


def test_d2d_variation_spreads_the_outputs(tmp_path) -> None:
    art = neurocc.compile(readout_graph(np.ones((128, 64))),
                          target_copy(tmp_path, "pcm256", d2d_variation=0.1))
    got = currents(art, np.ones((1, 1, 64), np.uint8), **{**ALL_OFF, "d2d": True})[0, 0]
    assert got.var() == pytest.approx(64 * 0.1 ** 2, rel=0.3)  # G- = 0: only G+ varies


def test_dac_quantizes_and_clips_inputs() -> None:
    periphery = Periphery(16, 1.0, 3, 1.0, 127)  # a 2-bit DAC: steps of 1/3
    np.testing.assert_allclose(dac(np.array([0.3, 0.7, 1.5, 1.0, 0.0]), periphery),
                               [1 / 3, 2 / 3, 1.0, 1.0, 0.0])


def test_same_artifact_and_seed_are_identical_and_another_seed_differs(tmp_path) -> None:
    with np.load(EXAMPLE_DIR / "digits_sample.npz") as data:
        spikes = data["spikes"]
    art = neurocc.compile(neurocc.load(EXAMPLE_MODEL), "rram256k", out=tmp_path / "a")
    first = neurocc.simulate(art, spikes, seed=7, record_states=True)
    again = neurocc.simulate(neurocc.read_artifact(tmp_path / "a"), spikes, seed=7,
                             record_states=True)
    other = neurocc.simulate(art, spikes, seed=8, record_states=True)
    for key, value in first.states.items():
        np.testing.assert_array_equal(again.states[key], value)
    assert first.counters == again.counters
    assert not np.array_equal(other.states["v/lif1"], first.states["v/lif1"])


def test_counters_by_hand() -> None:
    art = neurocc.compile(readout_graph(np.array([[1.0, 0.0, -1.0], [0.5, 0.5, 0.0]])),
                          "rram256k", weight_slices=2)
    spikes = np.zeros((2, 2, 3), np.uint8)
    spikes[0, 0] = [1, 0, 1]  # sample 0, step 0: two rows; every other read is silent
    counters = neurocc.simulate(art, spikes, ideal=True).counters
    assert counters["array_reads"] == 1 and counters["tiles_skipped"] == 3
    assert counters["dac_drives"] == 2
    assert counters["conversions"] == 2 * 2  # 2 outputs x 2 slices
    assert counters["adc_clips"] == 0
    assert counters["cell_reads"] == 2 * 2 * 2 * 2  # rows x outputs x slices x pair
    assert counters["synops"] == 2 + 1  # row 0 feeds 2 outputs, row 2 feeds 1


def test_energy_is_priced_from_the_counters_and_the_target() -> None:
    from neurocc.report import simulation_report

    art = neurocc.compile(readout_graph(np.array([[1.0, -1.0]])), "rram256k")
    result = neurocc.simulate(art, np.ones((1, 1, 2), np.uint8), ideal=True)
    energy = simulation_report(art, result, n_inferences=1)["energy"]
    terms = energy["breakdown"]
    # devices: 2 pairs; codes +15 and -15: G = 40, 4 (pair 1) and 4, 40 (pair 2): mean 22 uS
    assert terms["cell_reads"]["energy_per_op_pj"] == pytest.approx(0.2 ** 2 * 22e-6 * 10e-9
                                                                    * 1e12)
    assert terms["conversions"]["energy_pj"] == pytest.approx(2.61)
    assert terms["dac_drives"]["energy_pj"] == pytest.approx(2 * 0.417)
    assert terms["array_reads"]["energy_pj"] == pytest.approx(1.764)
    assert terms["neuron_updates"]["energy_pj"] == pytest.approx(0.637)
    assert energy["skipping"]["energy_saved_pj"] == 0.0


def test_engine_options_are_checked() -> None:
    art = neurocc.compile(readout_graph(np.ones((1, 1))), "rram256k")
    spikes = np.ones((1, 1, 1), np.uint8)
    with pytest.raises(NeuroccError, match=r"option 'colour'.*not an option"):
        neurocc.simulate(art, spikes, colour=1)
    with pytest.raises(NeuroccError, match=r"option 'seed'.*expected a int"):
        neurocc.simulate(art, spikes, seed="x")
    with pytest.raises(SimulationError, match=r"seed.*is -1; expected an integer >= 0"):
        neurocc.simulate(art, spikes, seed=-1)
    with pytest.raises(SimulationError, match=r"t_start_s.*is -5.0; expected >= 0"):
        neurocc.simulate(art, spikes, t_start_s=-5)
    with pytest.raises(SimulationError, match=r"engine 'reference'.*takes no engine options"):
        neurocc.simulate(art, spikes, engine="reference", seed=1)


def test_simulate_command_takes_the_engine_options(tmp_path, capsys) -> None:
    from neurocc.cli import main

    art = tmp_path / "a"
    assert main(["compile", str(EXAMPLE_MODEL), "--target", "rram256k", "-o", str(art)]) == 0
    sample = str(EXAMPLE_DIR / "digits_sample.npz")
    for seed in ("1", "2"):
        assert main(["simulate", str(art), "--input", sample, "-o",
                     str(tmp_path / f"s{seed}.npz"), "--seed", seed, "--quiet"]) == 0
    assert main(["simulate", str(art), "--input", sample, "-o", str(tmp_path / "i.npz"),
                 "--ideal", "--quiet"]) == 0
    with np.load(tmp_path / "s1.npz") as one, np.load(tmp_path / "s2.npz") as two:
        assert one["spikes"].shape == two["spikes"].shape
    assert main(["simulate", str(art), "--input", sample, "-o", str(tmp_path / "r.npz"),
                 "--engine", "reference", "--seed", "1"]) == 2
    assert "takes no engine options" in capsys.readouterr().err


def test_a_recurrent_reservoir_maps_and_runs_like_the_reference() -> None:
    rng = np.random.default_rng(5)
    n = 40
    recurrent = rng.choice([-1.0, 0.0, 1.0], size=(n, n), p=[0.1, 0.8, 0.1])
    np.fill_diagonal(recurrent, 0.0)
    pops = {"in": Population("in", "input", (8,)),
            "res": Population("res", "lif", (n,), {"tau_s": 5e-3, "v_threshold": 0.5},
                              "to_value")}
    projs = {"in_res": Projection("in_res", "in", "res", rng.choice([0.0, 1.0], size=(n, 8))),
             "res_res": Projection("res_res", "res", "res", recurrent, np.asarray(1))}
    graph = Graph(1e-3, pops, projs, ("in",), ("res",))
    art = neurocc.compile(graph, "rram256k")
    assert sorted((t["projection"], t["delay_steps"]) for t in art.layout["tiles"]) == [
        ("in_res", 0), ("res_res", 1)]
    spikes = random_spikes(6, 30, 8, 0.3)
    got = neurocc.simulate(art, spikes, ideal=True).spikes["res"]
    want = neurocc.simulate(art, spikes, engine="reference").spikes["res"]
    assert want.sum() > 0 and want[:, 1:].sum() > 0
    np.testing.assert_array_equal(got, want)  # weights on the grid: the ideal read is exact

"""The CLI contract: exit codes, clear errors, nothing half-written, output layout."""

from __future__ import annotations

from pathlib import Path

import nir
import numpy as np
import pytest

from neurocc.cli import main


def write_model(path: Path) -> Path:
    """4 -> 3 LIF network with hand-picked weights: input i drives neuron i % 3."""
    weight = np.zeros((3, 4))
    weight[[0, 1, 2, 0], [0, 1, 2, 3]] = 2.0
    nodes = {
        "input": nir.Input(input_type=np.array([4])),
        "fc": nir.Affine(weight=weight, bias=np.zeros(3)),
        "lif": nir.LIF(tau=np.full(3, 2e-3), r=np.full(3, 2.0), v_leak=np.zeros(3),
                       v_threshold=np.ones(3), v_reset=np.zeros(3)),
        "output": nir.Output(output_type=np.array([3])),
    }
    edges = [("input", "fc"), ("fc", "lif"), ("lif", "output")]
    nir.write(path, nir.NIRGraph(nodes, edges, metadata={"dt": 1e-3}))
    return path


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_targets_lists_reference_and_loihi(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "targets")
    assert code == 0
    names = [line.split()[0] for line in out.splitlines()]
    assert names[0] == "reference" and {"loihi1", "loihi2"} <= set(names)


def test_compile_simulate_info_on_reference(tmp_path: Path, capsys) -> None:
    model = write_model(tmp_path / "m.nir")
    code, out, err = run(capsys, "compile", str(model), "--target", "reference",
                         "-o", str(tmp_path / "art"))
    assert code == 0, err
    spikes = np.zeros((2, 5, 4), dtype=np.uint8)
    spikes[0, 0, 0] = 1  # one spike into neuron 0: v = 0.5 * 2 * 2 = 2 > 1 -> spike at step 0
    spikes[1, :, 1] = 1  # neuron 1 driven every step
    np.savez(tmp_path / "in.npz", spikes=spikes)
    code, out, err = run(capsys, "simulate", str(tmp_path / "art"), "--input",
                         str(tmp_path / "in.npz"), "-o", str(tmp_path / "out.npz"), "--quiet")
    assert code == 0, err
    with np.load(tmp_path / "out.npz") as data:
        assert data["spikes"].shape == (2, 5, 3)
        assert data["spikes"][0, :, 0].tolist() == [1, 0, 0, 0, 0]
        assert data["spikes"][1, :, 1].tolist() == [1, 1, 1, 1, 1]
        np.testing.assert_array_equal(data["spikes/lif"], data["spikes"])
        np.testing.assert_array_equal(data["spikes/input"], spikes)
    assert (tmp_path / "out.report.json").is_file()
    code, out, _ = run(capsys, "info", str(tmp_path / "art"))
    assert code == 0 and "population lif: lif x 3" in out


@pytest.mark.parametrize(("content", "fragment"), [
    (None, "does not exist"),
    (b"not an hdf5 file", "m.nir"),
])
def test_bad_model_exits_2_without_traceback_or_output(tmp_path: Path, capsys, content,
                                                       fragment: str) -> None:
    model = tmp_path / "m.nir"
    if content is not None:
        model.write_bytes(content)
    code, _, err = run(capsys, "compile", str(model), "--target", "reference",
                       "-o", str(tmp_path / "art"))
    assert code == 2
    assert fragment in err and "Traceback" not in err
    assert not (tmp_path / "art").exists()


def test_unknown_target_names_the_known_ones(tmp_path: Path, capsys) -> None:
    model = write_model(tmp_path / "m.nir")
    code, _, err = run(capsys, "compile", str(model), "--target", "truenorth", "-o",
                       str(tmp_path / "art"))
    assert code == 2 and "loihi2" in err
    assert not (tmp_path / "art").exists()


@pytest.mark.parametrize(("arrays", "fragment"), [
    ({"spikes": np.zeros((1, 5, 7), dtype=np.uint8)}, "(batch, T, 4)"),
    ({"spikes": np.full((1, 5, 4), 3, dtype=np.uint8)}, "other than 0 and 1"),
    ({"data": np.zeros((1, 5, 4), dtype=np.uint8)}, "no array 'spikes'"),
])
def test_bad_input_spikes_exit_2_and_write_nothing(tmp_path: Path, capsys, arrays,
                                                   fragment: str) -> None:
    model = write_model(tmp_path / "m.nir")
    assert main(["compile", str(model), "--target", "reference", "-o", str(tmp_path / "a")]) == 0
    np.savez(tmp_path / "in.npz", **arrays)
    code, _, err = run(capsys, "simulate", str(tmp_path / "a"), "--input",
                       str(tmp_path / "in.npz"), "-o", str(tmp_path / "out.npz"))
    assert code == 2 and fragment in err
    assert not (tmp_path / "out.npz").exists()


def test_debug_flag_shows_the_traceback(tmp_path: Path, capsys) -> None:
    code, _, err = run(capsys, "--debug", "info", str(tmp_path / "missing"))
    assert code == 2 and "Traceback" in err


def test_info_names_explicit_receptors(tmp_path: Path, capsys) -> None:
    import neurocc
    from neurocc.compiler.graph import Graph, Population, Projection

    pops = {"in": Population("in", "input", (2,)),
            "h": Population("h", "lif_cur_exp", (2,), {"tau_mem_s": 1e-2, "tau_syn_exc_s": 5e-3,
                                                         "tau_syn_inh_s": 5e-3,
                                                         "v_threshold": 1.0}, "to_value")}
    projs = {"e": Projection("e", "in", "h", np.eye(2), receptor="excitatory"),
             "i": Projection("i", "in", "h", -np.eye(2), receptor="inhibitory")}
    neurocc.compile(Graph(1e-3, pops, projs, ("in",), ("h",)), out=tmp_path / "a")
    assert main(["info", str(tmp_path / "a")]) == 0
    out = capsys.readouterr().out
    assert "projection e: in -> h (2, 2) receptor excitatory" in out
    assert "projection i: in -> h (2, 2) receptor inhibitory" in out


def test_frontend_can_be_named(tmp_path: Path, capsys) -> None:
    model = write_model(tmp_path / "m.bin")  # NIR content under a suffix no frontend claims
    assert main(["compile", str(model), "--target", "reference", "-o", str(tmp_path / "a")]) == 2
    assert "has suffix '.bin', which no frontend reads" in capsys.readouterr().err
    assert main(["compile", str(model), "--frontend", "nir", "--target", "reference",
                 "-o", str(tmp_path / "a")]) == 0


def test_a_flag_shared_by_families_gives_each_familys_meaning(capsys) -> None:
    """``--progress`` is a compile option of three families with different bars: its help
    names every one of them, not only the first family's."""
    with pytest.raises(SystemExit):
        main(["compile", "--help"])
    out = " ".join(capsys.readouterr().out.split())
    start = out.index("--progress, --no-progress")
    text = out[start:out.index("options of family", start)]
    for family in ("crossbar:", "loihi:", "spinnaker:"):
        assert family in text
    assert "arrays built" in text and "synapse tables" in text


def test_compile_shows_the_family_bar_unless_quiet(tmp_path: Path, capsys) -> None:
    """On the command line a family with a ``progress`` option shows its compile bar by
    default (tqdm on stderr); ``--quiet`` turns it off; the artifact's bytes are the same."""
    model = write_model(tmp_path / "m.nir")
    code, _, err = run(capsys, "compile", str(model), "--target", "loihi2",
                       "-o", str(tmp_path / "bar"))
    assert code == 0 and "quantize" in err and "%|" in err
    code, _, err = run(capsys, "compile", str(model), "--target", "loihi2",
                       "-o", str(tmp_path / "quiet"), "--quiet")
    assert code == 0 and "%|" not in err
    for name in ("manifest.json", "graph.npz", "loihi.npz"):
        assert (tmp_path / "bar" / name).read_bytes() == (tmp_path / "quiet" / name).read_bytes()

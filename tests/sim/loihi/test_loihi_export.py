"""The Lava export: stock processes, and a standalone script that reproduces the engine."""

import subprocess
import sys

import numpy as np
import pytest
import random_artifacts as ra
from lava_helpers import LAVA_WARNINGS, require_lava

from neurocc.backends.loihi.lava_export import build_lava_network, write_lava_script
from neurocc.backends.loihi.section import pop_key, proj_key
from neurocc.sim.loihi import run_artifact

require_lava()
pytestmark = [LAVA_WARNINGS, pytest.mark.lava]

# runs the script as `python net.py ...` but with every `import neurocc` failing
BLOCK_NEUROCC = ("import runpy, sys; sys.modules['neurocc'] = None; sys.argv = sys.argv[1:]; "
                 "runpy.run_path(sys.argv[0], run_name='__main__')")


def export_recipe() -> ra.NetworkRecipe:
    """Two inputs, Sparse, DelayDense, Dense and DelaySparse, fan-in, two outputs."""
    return ra.NetworkRecipe({"a": 6, "b": 5, "h": 9, "out": 4}, ("a", "b"), ("out", "h"),
                            (ra.Recipe("a", "h", process="Sparse", density=0.5),
                             ra.Recipe("b", "h", process="DelayDense", max_delay=3),
                             ra.Recipe("h", "out", sign=ra.EXCITATORY),
                             ra.Recipe("h", "h", density=0.3),
                             ra.Recipe("a", "out", process="DelaySparse", max_delay=4,
                                       density=0.6)))


def test_build_uses_stock_processes():
    from lava.proc.dense.process import DelayDense, Dense
    from lava.proc.io.source import RingBuffer
    from lava.proc.lif.process import LIF
    from lava.proc.sparse.process import DelaySparse, Sparse

    artifact = ra.build_artifact(export_recipe(), seed=1)
    net = build_lava_network(artifact, np.zeros((11, 5), dtype=np.uint8))
    assert {type(p) for p in net.sources.values()} == {RingBuffer}
    assert {type(p) for p in net.lifs.values()} == {LIF}
    assert [type(p) for p in net.projections.values()] == [Sparse, DelayDense, Dense, Dense,
                                                            DelaySparse]
    arrays = artifact.sections["loihi"]
    assert net.lifs["h"].du.get() == arrays[pop_key("h", "du")]
    np.testing.assert_array_equal(net.projections["p2"].weights.get(),
                                  arrays[proj_key("p2", "weight")])
    assert net.sources["b"].data.shape == (5, 5)
    # DelaySparse: the delays are a CSR matrix in the weights' sparsity
    weights, delays = (net.projections["p4"].weights.get(), net.projections["p4"].delays.get())
    np.testing.assert_array_equal(weights.indices, arrays[proj_key("p4", "weight/indices")])
    np.testing.assert_array_equal(delays.indptr, arrays[proj_key("p4", "weight/indptr")])
    np.testing.assert_array_equal(delays.data, arrays[proj_key("p4", "delay/data")])
    assert len(set(delays.data)) > 1


def test_script_reproduces_the_engine(tmp_path):
    recipe = export_recipe()
    artifact = ra.build_artifact(recipe, seed=2)
    script = write_lava_script(artifact, tmp_path / "net.py")
    assert (tmp_path / "net_params.npz").is_file()
    assert "neurocc" not in "".join(line for line in script.read_text().splitlines()
                                    if line.startswith(("import", "from")))
    spikes = ra.random_spikes(np.random.default_rng(2), 2, 50, 11, 0.3)
    np.savez(tmp_path / "IN.npz", spikes=spikes)
    done = subprocess.run([sys.executable, "-c", BLOCK_NEUROCC, str(script), "--input",
                           str(tmp_path / "IN.npz"), "-o", str(tmp_path / "OUT.npz")],
                          capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stderr
    engine = run_artifact(artifact, spikes)
    with np.load(tmp_path / "OUT.npz") as out:
        np.testing.assert_array_equal(out["spikes"], engine.output)
        assert out["spikes"].shape == (2, 50, 4 + 9)
        for name, value in engine.spikes.items():
            np.testing.assert_array_equal(out[f"spikes/{name}"], value, err_msg=name)
    assert engine.spikes["h"].any()  # the comparison saw activity

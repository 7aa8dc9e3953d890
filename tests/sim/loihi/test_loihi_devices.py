"""The engine's ``device`` option: the PyTorch products give the CPU engine's results.

Without a GPU the PyTorch code runs on its CPU device (``device="torch-cpu"``), the same
code as on CUDA; the CUDA test runs where PyTorch sees a GPU and is skipped elsewhere.
"""

import subprocess
import sys

import numpy as np
import pytest
import random_artifacts as ra
import scipy.sparse as sp
from test_loihi_engine import case, same_results

import neurocc
from neurocc.compiler.errors import NeuroccError, SimulationError
from neurocc.sim.loihi import devices, run_artifact, synapses
from neurocc.sim.loihi.synapses import _pre_major

torch = pytest.importorskip("torch")

TOPOLOGIES = {"ff": ra.feed_forward(), "recurrent": ra.recurrent(), "delayed": ra.delayed(),
              "sparse": ra.sparse_fan_in()}


@pytest.mark.parametrize("name", list(TOPOLOGIES))
def test_torch_products_equal_the_cpu_engine(name):
    artifact, spikes = case(TOPOLOGIES[name])
    cpu = run_artifact(artifact, spikes, record_states=True)
    assert cpu.counters["spikes"] > 0  # the comparison sees activity
    same_results(cpu, run_artifact(artifact, spikes, record_states=True, device="torch-cpu"))


def test_torch_sparse_blocks_and_float64_equal_the_cpu_engine(monkeypatch):
    # every block stored as CSR (the sparse PyTorch product), and float32 judged inexact so
    # every projection runs in float64
    artifact, spikes = case(ra.delayed(), rate=0.3)
    cpu = run_artifact(artifact, spikes, record_states=True)
    monkeypatch.setattr(synapses, "SPARSE_BLOCK_MAX_DENSITY", 2.0)
    monkeypatch.setattr(devices, "FLOAT32_EXACT", -1)
    same_results(cpu, run_artifact(artifact, spikes, record_states=True, device="torch-cpu"))


def test_float_type_follows_the_largest_partial_sum():
    # target 0 sums |3| + |-5| = 8, target 1 sums 4: the bound is 8
    block = _pre_major(0, sp.csr_array(np.array([[3.0, -5.0], [0.0, 4.0]])))
    assert devices.exact_float(block, f32_exact=8, f64_exact=100) is np.float32
    assert devices.exact_float(block, f32_exact=7, f64_exact=100) is np.float64
    assert devices.exact_float(block, f32_exact=7, f64_exact=7) is None
    assert devices.exact_float(block) is np.float32  # 8 <= 2**24


def test_a_projection_beyond_float64_stays_on_the_cpu(monkeypatch):
    artifact, spikes = case(ra.recurrent())
    monkeypatch.setattr(devices, "FLOAT64_EXACT", -1)
    monkeypatch.setattr(devices, "FLOAT32_EXACT", -1)
    net = devices.on_device(_compiled(artifact), "cpu")
    assert not any(isinstance(p, devices.TorchProjection) for p in net.values())
    same_results(run_artifact(artifact, spikes), run_artifact(artifact, spikes,
                                                             device="torch-cpu"))


def _compiled(artifact):
    from neurocc.sim.loihi import fixed_point as fx
    from neurocc.sim.loihi.network import read_network
    net = read_network(artifact)
    arith = fx.arithmetic_of(net.target)
    return {n: synapses.compile_projection(s, arith) for n, s in net.projections.items()}


def test_device_option_reaches_the_engine_through_simulate():
    artifact, spikes = case(ra.feed_forward())
    cpu = neurocc.simulate(artifact, spikes)
    same_results(cpu, neurocc.simulate(artifact, spikes, device="torch-cpu"))
    with pytest.raises(NeuroccError, match="option 'device'"):
        neurocc.simulate(artifact, spikes, device="tpu")


@pytest.mark.skipif(torch.cuda.is_available(), reason="a CUDA device is present")
def test_cuda_asked_for_without_a_gpu_is_a_clear_error():
    artifact, spikes = case(ra.feed_forward())
    with pytest.raises(SimulationError, match="no CUDA device"):
        run_artifact(artifact, spikes, device="cuda")
    assert devices.torch_device("auto") is None  # auto falls back to the CPU engine


def test_missing_pytorch_is_a_clear_error(monkeypatch):
    real = devices.importlib.import_module

    def no_torch(name, *args):
        if name == "torch":
            raise ImportError("No module named 'torch'")
        return real(name, *args)

    monkeypatch.setattr(devices.importlib, "import_module", no_torch)
    with pytest.raises(SimulationError, match="needs PyTorch"):
        devices.torch_device("cuda")
    assert devices.torch_device("auto") is None


def test_cpu_engine_does_not_import_pytorch():
    code = ("import sys, numpy as np, random_artifacts as ra\n"
            "from neurocc.sim.loihi import run_artifact\n"
            "art = ra.build_artifact(ra.delayed(), 0)\n"
            "run_artifact(art, np.zeros((1, 5, 10), np.uint8))\n"
            "assert 'torch' not in sys.modules, 'PyTorch imported'\n")
    env_path = str(__import__("pathlib").Path(__file__).parent)
    done = subprocess.run([sys.executable, "-c", code], cwd=env_path, capture_output=True,
                          text=True, check=False)
    assert done.returncode == 0, done.stderr[-2000:]


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
@pytest.mark.parametrize("name", list(TOPOLOGIES))
def test_cuda_products_equal_the_cpu_engine(name):
    artifact, spikes = case(TOPOLOGIES[name], batch=8)
    same_results(run_artifact(artifact, spikes, record_states=True),
                run_artifact(artifact, spikes, record_states=True, device="cuda"))

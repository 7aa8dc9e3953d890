"""Our NeuroBench metrics equal the neurobench 2.3.0 package's on the same model and input.

An snnTorch model (two Linear layers, some weights zero, Leaky neurons) is wrapped by
neurobench (``SNNTorchModel`` + ``Benchmark``) and also converted through our torch
frontend and run on the float reference engine; the metrics must agree.
"""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")
snn = pytest.importorskip("snntorch")
pytest.importorskip("neurobench")

from neurobench.benchmarks import Benchmark  # noqa: E402
from neurobench.metrics.static import ConnectionSparsity, Footprint  # noqa: E402
from neurobench.metrics.workload import ActivationSparsity, SynapticOperations  # noqa: E402
from neurobench.models import SNNTorchModel  # noqa: E402

import neurocc  # noqa: E402
from neurocc.workload import neurobench_metrics  # noqa: E402

N_IN, N_HID, N_OUT, STEPS, BATCH = 12, 9, 4, 30, 5


def snntorch_model() -> torch.nn.Module:
    torch.manual_seed(3)
    fc1 = torch.nn.Linear(N_IN, N_HID, bias=True)
    fc2 = torch.nn.Linear(N_HID, N_OUT, bias=False)
    with torch.no_grad():
        fc1.weight.mul_(4.0)
        fc1.weight[fc1.weight.abs() < 0.15] = 0.0  # some pruned connections
        fc2.weight.mul_(6.0)
        fc2.weight[0, :3] = 0.0
    return torch.nn.Sequential(
        fc1, snn.Leaky(beta=0.8, init_hidden=True, reset_mechanism="zero"),
        fc2, snn.Leaky(beta=0.7, init_hidden=True, reset_mechanism="zero", output=True))


def input_spikes() -> np.ndarray:
    rng = np.random.default_rng(5)
    return (rng.random((BATCH, STEPS, N_IN)) < 0.5).astype(np.uint8)


def neurobench_results(net: torch.nn.Module, spikes: np.ndarray) -> dict:
    data = torch.tensor(spikes, dtype=torch.float32)
    labels = torch.zeros(BATCH, dtype=torch.long)
    loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(data, labels),
                                         batch_size=BATCH)
    bench = Benchmark(SNNTorchModel(net), loader, [], [],
                      [[Footprint, ConnectionSparsity], [ActivationSparsity, SynapticOperations]])
    return bench.run(quiet=True)


def test_metrics_equal_neurobench() -> None:
    net, spikes = snntorch_model(), input_spikes()
    neuron_buffer_bytes = sum(b.numel() * b.element_size() for layer in (net[1], net[3])
                              for b in layer.buffers())  # snnTorch's beta, threshold, ...
    graph = neurocc.load(net, input_shape=(N_IN,), dt_s=1e-3)  # before neurobench runs it
    theirs = neurobench_results(net, spikes)
    result = neurocc.simulate(graph, spikes, engine="reference")
    ours = neurobench_metrics(graph, result, n_inferences=BATCH)

    assert theirs["ActivationSparsity"] < 0.95  # the network is active: a real comparison
    assert ours["footprint_bytes"] == theirs["Footprint"] - neuron_buffer_bytes
    assert ours["connection_sparsity"] == theirs["ConnectionSparsity"] > 0
    assert ours["activation_sparsity"] == pytest.approx(theirs["ActivationSparsity"], abs=1e-12)
    ops = theirs["SynapticOperations"]
    assert ours["synaptic_operations"]["effective_acs"] == ops["Effective_ACs"]
    assert ours["synaptic_operations"]["effective_macs"] == ops["Effective_MACs"] == 0
    assert ours["synaptic_operations"]["dense"] == ops["Dense"]

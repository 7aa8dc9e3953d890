"""Train the shipped digits model with sinabs and export it to NIR.

A 64 → 100 → 10 network of leaky integrate-and-fire neurons (no biases) reads 8×8 digits as
Bernoulli spike trains and answers with the output neuron that spikes most. It is trained with
backpropagation through time (sinabs' surrogate gradient), then written as
``digits_lif.nir`` with LIF parameters that make the file mean exactly what sinabs computes
under forward Euler at ``DT_S``, plus the encoded test set as ``digits_test.npz``.

Run from the repository root: ``.venv/bin/python examples/digits/train.py`` (``--out-dir``
writes elsewhere). Same code, same seeds, same files: the outputs are byte-identical from run
to run (the .npz gets a fixed zip timestamp; h5py writes no times into the .nir).
"""

from __future__ import annotations

import argparse
import io
import itertools
import sys
import zipfile
from pathlib import Path

import nir
import numpy as np
import sinabs
import sinabs.activation
import sinabs.layers
import torch
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parent))
from encoding import N_PIXELS, load_split, rate_encode

HERE = Path(__file__).resolve().parent
NIR_NAME = "digits_lif.nir"
TEST_NAME = "digits_test.npz"

# Data and encoder.
SPLIT_SEED = 0  # the stratified train/test split
TEST_ENCODE_SEED = 1  # the shipped test spikes
TRAIN_ENCODE_SEED = 1000  # epoch e of training draws fresh spikes with seed 1000 + e
N_STEPS = 25  # time steps per sample: enough for counts to separate the classes
MAX_RATE = 0.5  # spike probability per step of a full-intensity pixel

# Network: sinabs LIF with v = alpha*v + I, alpha = exp(-1/tau_mem_steps), reset to 0.
N_HIDDEN = 100
N_CLASSES = 10
TAU_MEM_STEPS = 10.0  # membrane time constant in time steps (sinabs' unit)
V_THRESHOLD = 1.0
V_RESET = 0.0  # the Loihi target resets to zero, so the model maps exactly

# Training.
TORCH_SEED = 0
N_EPOCHS = 30
BATCH_SIZE = 64
LEARNING_RATE = 2e-3

# Export: NIR has no time step, so the file states the one its parameters assume.
DT_S = 1e-3
FIXED_ZIP_TIME = (1980, 1, 1, 0, 0, 0)  # earliest zip date: no wall-clock time in the .npz


def make_model(dtype: torch.dtype = torch.float32) -> nn.Sequential:
    """The 64 → N_HIDDEN → 10 LIF network (linear layers without bias)."""

    def lif() -> sinabs.layers.LIF:
        neuron = sinabs.layers.LIF(
            tau_mem=torch.tensor(TAU_MEM_STEPS, dtype=dtype),
            spike_threshold=torch.tensor(V_THRESHOLD, dtype=dtype),
            spike_fn=sinabs.activation.SingleSpike,
            reset_fn=sinabs.activation.MembraneReset(reset_value=V_RESET),
            norm_input=False,
        )
        # A fixed time constant: sinabs makes tau_mem a trainable parameter by default.
        neuron.tau_mem.requires_grad_(False)
        return neuron

    return nn.Sequential(
        nn.Linear(N_PIXELS, N_HIDDEN, bias=False, dtype=dtype),
        lif(),
        nn.Linear(N_HIDDEN, N_CLASSES, bias=False, dtype=dtype),
        lif(),
    )


def spike_counts(model: nn.Module, spikes: torch.Tensor) -> torch.Tensor:
    """Output spike counts (batch, classes) for input spikes (batch, steps, 64)."""
    sinabs.reset_states(model)  # every sample starts from v = 0
    dtype = model[0].weight.dtype
    for layer in model:
        # SingleSpike emits float32 spikes; 0/1 cast exactly, so a float64 run stays float64.
        spikes = layer(spikes.to(dtype))
    return spikes.sum(dim=1)


def predict(counts: np.ndarray) -> np.ndarray:
    """The deployed decision: most output spikes; np.argmax breaks ties by lowest index."""
    return np.argmax(counts, axis=1)


def train(model: nn.Module, x_train: np.ndarray, y_train: np.ndarray) -> None:
    """BPTT with Adam; cross-entropy on output spike counts, fresh spike draws per epoch."""
    weights = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.Adam(weights, lr=LEARNING_RATE)
    labels = torch.from_numpy(y_train)
    generator = torch.Generator().manual_seed(TORCH_SEED)
    for epoch in range(N_EPOCHS):
        spikes = torch.from_numpy(
            rate_encode(x_train, N_STEPS, TRAIN_ENCODE_SEED + epoch, MAX_RATE)
        ).float()
        order = torch.randperm(len(labels), generator=generator)
        total_loss = 0.0
        for start in range(0, len(order), BATCH_SIZE):
            batch = order[start : start + BATCH_SIZE]
            loss = nn.functional.cross_entropy(spike_counts(model, spikes[batch]), labels[batch])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            total_loss += loss.item() * len(batch)
        print(f"epoch {epoch + 1:2d}/{N_EPOCHS}: loss {total_loss / len(labels):.4f}")


def lif_node_for_euler(neuron: sinabs.layers.LIF, size: int) -> nir.LIF:
    """A NIR LIF that, under forward Euler at DT_S, computes this layer's ``v = alpha*v + I``.

    Euler gives ``v += dt/tau * (v_leak - v + r*I)``; with ``tau_s = dt/(1 - alpha)`` the decay
    is ``1 - dt/tau_s = alpha`` and with ``r = tau_s/dt`` the input gain is ``dt*r/tau_s = 1``.
    ``alpha`` is the one sinabs really uses: it keeps ``tau_mem`` in float32, so alpha is
    ``exp(-1/tau_mem)`` rounded to float32, not the float64 value of ``exp(-1/TAU_MEM_STEPS)``.
    """
    alpha = float(neuron.alpha_mem_calculated.detach())
    tau_s = DT_S / (1.0 - alpha)
    return nir.LIF(
        tau=np.full(size, tau_s),
        r=np.full(size, tau_s / DT_S),
        v_leak=np.zeros(size),
        v_threshold=np.full(size, V_THRESHOLD),
        v_reset=np.full(size, V_RESET),
    )


def build_graph(model: nn.Sequential, metadata: dict) -> nir.NIRGraph:
    """The trained network as a NIR graph, with LIF parameters for Euler at DT_S.

    Built from the weights rather than with ``sinabs.to_nir``: under nir 1.0.8 that export
    fails type checking (the input is typed (steps, 64) and scalar LIF parameters are typed
    as shape ()), and its LIF would read tau in time steps with r = 1 in any case.
    """
    fc1, lif1, fc2, lif2 = model

    def affine(layer: nn.Linear) -> nir.Affine:
        weight = layer.weight.detach().numpy().copy()
        return nir.Affine(weight=weight, bias=np.zeros(weight.shape[0], dtype=weight.dtype))

    nodes = {
        "input": nir.Input(input_type={"input": np.array([N_PIXELS])}),
        "fc1": affine(fc1),
        "lif1": lif_node_for_euler(lif1, N_HIDDEN),
        "fc2": affine(fc2),
        "lif2": lif_node_for_euler(lif2, N_CLASSES),
        "output": nir.Output(output_type={"output": np.array([N_CLASSES])}),
    }
    names = list(nodes)
    edges = list(itertools.pairwise(names))
    return nir.NIRGraph(nodes=nodes, edges=edges, metadata=metadata)


def sinabs_counts(model: nn.Sequential, spikes: np.ndarray) -> np.ndarray:
    """Output spike counts of the trained model, re-run in float64 (as the tests do)."""
    model64 = make_model(torch.float64)
    for layer64, layer in zip(model64, model, strict=True):
        if isinstance(layer, nn.Linear):
            layer64.weight.data = layer.weight.detach().double()
    with torch.no_grad():
        return spike_counts(model64, torch.from_numpy(spikes).double()).numpy()


def euler_counts(graph: nir.NIRGraph, spikes: np.ndarray) -> np.ndarray:
    """Output spike counts of the NIR graph under forward Euler at DT_S (numpy, float64)."""
    layers = [(graph.nodes["fc1"], graph.nodes["lif1"]), (graph.nodes["fc2"], graph.nodes["lif2"])]
    v = [np.zeros((len(spikes), lif.tau.size)) for _, lif in layers]
    counts = np.zeros((len(spikes), N_CLASSES))
    for step in range(spikes.shape[1]):
        z = spikes[:, step].astype(np.float64)
        for i, (fc, lif) in enumerate(layers):
            current = z @ fc.weight.T.astype(np.float64) + fc.bias
            v[i] = v[i] + DT_S / lif.tau * (lif.v_leak - v[i] + lif.r * current)
            z = (v[i] > lif.v_threshold).astype(np.float64)
            v[i] = np.where(z > 0, lif.v_reset, v[i])
        counts += z
    return counts


def save_npz(path: Path, **arrays: np.ndarray) -> None:
    """np.savez_compressed, but with a fixed zip timestamp so the bytes are reproducible."""
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, array in arrays.items():
            info = zipfile.ZipInfo(f"{name}.npy", date_time=FIXED_ZIP_TIME)
            info.compress_type = zipfile.ZIP_DEFLATED
            buffer = io.BytesIO()
            np.lib.format.write_array(buffer, np.ascontiguousarray(array), allow_pickle=False)
            archive.writestr(info, buffer.getvalue())


def graph_metadata(test_accuracy: float) -> dict:
    """What the file needs beyond NIR: the time step, the encoder, the recorded accuracy."""
    return {
        "dt": DT_S,
        "description": (
            f"digits 8x8 (sklearn load_digits) classifier: 64 -> {N_HIDDEN} LIF -> "
            f"{N_CLASSES} LIF, no bias, trained with sinabs (tau_mem = {TAU_MEM_STEPS} steps); "
            "LIF parameters mean sinabs' v = alpha*v + I under forward Euler at dt (seconds); "
            "reset to v_reset = 0; decision = most output spikes, ties to the lowest index"
        ),
        "source": "examples/digits/train.py",
        "encoder": "bernoulli rate code, p = max_rate * pixel / 16 per step",
        "encoder_n_steps": N_STEPS,
        "encoder_max_rate": MAX_RATE,
        "encoder_seed": TEST_ENCODE_SEED,
        "split_seed": SPLIT_SEED,
        "test_accuracy": test_accuracy,
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out-dir", type=Path, default=HERE, help="where to write the files")
    out_dir = parser.parse_args(argv).out_dir
    torch.manual_seed(TORCH_SEED)
    torch.use_deterministic_algorithms(True)
    torch.set_num_threads(1)  # a fixed reduction order: same weights on every run
    x_train, y_train, x_test, y_test = load_split(SPLIT_SEED)
    model = make_model()
    train(model, x_train, y_train)

    test_spikes = rate_encode(x_test, N_STEPS, TEST_ENCODE_SEED, MAX_RATE)
    counts = sinabs_counts(model, test_spikes)
    accuracy = float(np.mean(predict(counts) == y_test))
    graph = build_graph(model, graph_metadata(accuracy))
    if not np.array_equal(euler_counts(graph, test_spikes), counts):
        # Then the file would not mean what sinabs computes: never ship that.
        raise RuntimeError("the NIR graph under Euler and sinabs disagree on the test set")
    print(f"test accuracy {accuracy:.4f} (sinabs float64 = NIR under Euler, same spike counts)")
    out_dir.mkdir(parents=True, exist_ok=True)
    nir.write(out_dir / NIR_NAME, graph)
    save_npz(out_dir / TEST_NAME, spikes=test_spikes, labels=y_test)
    print(f"wrote {NIR_NAME} and {TEST_NAME} to {out_dir}")


if __name__ == "__main__":
    main()

"""The exact Loihi engine's synaptic products on a PyTorch device (CUDA), exact per projection.

``run_artifact(..., device=...)``: ``"cpu"`` (the default) runs every product in numpy and
the compiled kernels; ``"cuda"`` runs the products of each projection as PyTorch tensors on
the GPU (dense matmul, or a sparse (COO) x dense product for a sparse block), ``"auto"`` does
so when PyTorch sees a CUDA device and stays on the CPU otherwise, and ``"torch-cpu"`` runs
the same PyTorch code on the CPU device (how the tests check it without a GPU). The LIF
update, the input windows and the counters stay on the CPU in every mode, so spikes,
states and counters are those of the CPU engine.

Exactness. Per (row, target) the product sums integer weights of binary events. Every
partial sum, in any order, is bounded by ``B = max over targets of sum |w|`` over its
sources (the fan-in times the largest weight at most); float32 holds every integer up to
2**24 and float64 up to 2**53, so a projection runs in float32 when ``B <= 2**24``, in
float64 when ``B <= 2**53`` and on the CPU path otherwise (:func:`exact_float`). The sums
come back as int64 and take the same ``weight_exp`` shift and int32 wrap as on the CPU.

PyTorch is imported only when a device other than ``"cpu"`` is asked for.
"""

from __future__ import annotations

import importlib
import typing
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import scipy.sparse as sp

from neurocc.backends.loihi.family import LoihiEngineOptions
from neurocc.compiler.errors import SimulationError
from neurocc.sim.loihi import fixed_point as fx
from neurocc.sim.loihi.synapses import FLOAT32_EXACT, CompiledProjection, WeightBlock

if TYPE_CHECKING:
    from neurocc.backends.loihi.section import ProjectionSpec

DEVICES: tuple[str, ...] = typing.get_args(
    typing.get_type_hints(LoihiEngineOptions)["device"])  # cpu, cuda, auto, torch-cpu
FLOAT64_EXACT = 1 << 53  # float64 represents every integer of magnitude <= 2**53


def _torch() -> Any:
    """The PyTorch module, or a SimulationError saying how to get it."""
    try:
        return importlib.import_module("torch")
    except ImportError as exc:
        raise SimulationError("engine option 'device'", "needs PyTorch, which is not "
                              "installed.", "Install the pinned PyTorch build "
                              "(requirements.txt) or run with device='cpu'.") from exc


def torch_device(device: str) -> str | None:
    """The PyTorch device for ``device`` (an engine option), None for the CPU engine."""
    if device not in DEVICES:
        raise SimulationError("engine option 'device'", f"is {device!r}; expected one of "
                              f"{list(DEVICES)}.", "Use 'cpu' (default), 'cuda' or 'auto'.")
    if device == "cpu":
        return None
    if device == "torch-cpu":
        _torch()
        return "cpu"
    if device == "auto":
        try:
            torch = importlib.import_module("torch")
        except ImportError:
            return None
        return "cuda" if torch.cuda.is_available() else None
    if not _torch().cuda.is_available():
        raise SimulationError("engine option 'device'", "is 'cuda', but PyTorch finds no CUDA "
                              "device (a CPU-only build, no GPU, or no driver).",
                              "Run with device='cpu' (the default) or device='auto', which "
                              "falls back to the CPU.")
    return "cuda"


def exact_float(block: WeightBlock, *, f32_exact: int | None = None,
                f64_exact: int | None = None) -> type | None:
    """float32 or float64 when every partial sum of ``block``'s products is an exact integer
    in it (module docstring), None when neither is. The limits default to 2**24 and 2**53."""
    f32_exact = FLOAT32_EXACT if f32_exact is None else f32_exact
    f64_exact = FLOAT64_EXACT if f64_exact is None else f64_exact
    if block.csr_t is not None:  # (pre, post): a target's sources are a column
        bound = int(abs(block.csr_t).sum(axis=0).max()) if block.csr_t.nnz else 0
    else:
        dense = np.asarray(block.dense_t)
        bound = int(np.abs(dense).sum(axis=0).max()) if dense.size else 0
    if bound <= f32_exact:
        return np.float32
    return np.float64 if bound <= f64_exact else None


@dataclass(frozen=True, eq=False)
class _TorchBlock:
    """One delay block's weights as a (post, pre) tensor on the device: sparse COO or dense."""

    delay: int
    weight: Any  # a PyTorch tensor
    dtype: Any


class TorchProjection:
    """A projection whose products run on a PyTorch device; the same ``deliver`` as
    :class:`~neurocc.sim.loihi.synapses.CompiledProjection`."""

    def __init__(self, compiled: CompiledProjection, device: str) -> None:
        torch = _torch()
        self.compiled = compiled
        self.device = device
        self.blocks = []
        for block in compiled.blocks:
            dtype = exact_float(block)
            if dtype is None:
                raise ValueError("a block beyond float64's exact range")  # callers check first
            tdtype = torch.float32 if dtype is np.float32 else torch.float64
            if block.csr_t is not None:  # COO (stable in PyTorch; CSR tensors are beta)
                post_major = sp.coo_array(block.csr_t.T)
                coords = np.stack([post_major.row, post_major.col]).astype(np.int64)
                weight = torch.sparse_coo_tensor(
                    torch.from_numpy(coords), torch.from_numpy(post_major.data.astype(dtype)),
                    size=post_major.shape, check_invariants=True).coalesce().to(device)
            else:
                weight = torch.from_numpy(np.ascontiguousarray(
                    np.asarray(block.dense_t).T, dtype=dtype)).to(device)
            self.blocks.append(_TorchBlock(block.delay, weight, tdtype))

    @property
    def spec(self) -> ProjectionSpec:
        return self.compiled.spec

    @property
    def synapses_per_pre(self) -> np.ndarray:
        return self.compiled.synapses_per_pre

    def deliver(self, events: np.ndarray, t0: int, steps: int, window: np.ndarray,
                offset: int) -> None:
        """As ``CompiledProjection.deliver``: the sums on the device, then the shift and the
        int32 wrap, added into the CPU window."""
        torch = _torch()
        batch, _, pre = events.shape
        chunk = np.ascontiguousarray(events[:, t0:t0 + steps])
        rows = torch.from_numpy(chunk.reshape(batch * steps, pre))
        rows = rows.to(self.device)
        for block in self.blocks:
            spikes = rows.to(block.dtype)
            if block.weight.is_sparse:
                sums = (block.weight @ spikes.T.contiguous()).T  # (post, pre) x (pre, rows)
            else:
                sums = spikes @ block.weight.T
            exact = sums.to(torch.int64).cpu().numpy()
            values = fx.wrap_int32(fx.apply_weight_exp(exact, self.spec.weight_exp))
            first = offset + 1 + block.delay
            window[:, first:first + steps] += values.reshape(batch, steps, -1)


def on_device(compiled: dict[str, CompiledProjection], device: str | None
              ) -> dict[str, CompiledProjection | TorchProjection]:
    """Each projection on ``device`` where its products are exact in a float type there (every
    block, see :func:`exact_float`); the others, and all with ``device`` None, on the CPU."""
    if device is None:
        return dict(compiled)
    return {name: TorchProjection(proj, device)
            if all(exact_float(block) is not None for block in proj.blocks) else proj
            for name, proj in compiled.items()}

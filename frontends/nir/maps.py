"""The synaptic NIR nodes as linear maps over C-order flattened signals.

Each lowering takes the node dict and the shape of the signal that reaches it
and returns a :class:`Step`: the matrix (out_size, in_size), the output shape,
an optional bias (in the output domain), optional per-element delays (steps)
and a JSON-able record of the node's hyper-parameters, from which the writer
re-creates it. Convolutions and pooling follow PyTorch (``conv2d``,
``avg_pool2d`` with ``count_include_pad=True``); their matrices are CSR.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, TypeAlias

import numpy as np
import scipy.sparse as sp

from neurocc.compiler.errors import FrontendError

Matrix: TypeAlias = Any  # np.ndarray | sp.csr_array (scipy ships no types: compiler/graph.py)
Shape = tuple[int, ...]

# Plausibility limits on numbers read from a file: a corrupted file can hold any value, and
# lowering allocates matrices from shapes (an identity of MAX_SIGNAL_SIZE takes ~200 MB).
MAX_SIGNAL_SIZE = 2**24  # values in one signal (a population, a map's output); chips hold fewer
MAX_WHOLE_NUMBER = 2**31 - 1  # a dimension, stride, padding, dilation or group count
SHOWN_VALUES = 6  # of a bad parameter, quoted in the message


@dataclass(frozen=True)
class Step:
    """One synaptic node lowered against the shape of its input signal."""

    matrix: Matrix
    out_shape: Shape
    record: dict[str, Any]
    bias: np.ndarray | None = None
    delay_steps: np.ndarray | None = None  # per element of the signal, integer steps
    weighted: bool = False  # carries trained weights (names the projection)


@dataclass(frozen=True)
class Context:
    """Where the node is (for messages) and the time step delays are rounded to."""

    where: str
    dt_s: float


def floats(node: Mapping[str, Any], key: str, ctx: Context) -> np.ndarray:
    """A parameter as a float array; NaN, infinity or non-numbers are user errors."""
    try:
        with np.errstate(over="ignore", invalid="ignore"):  # too large: inf, refused below
            value = np.asarray(node[key], dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise FrontendError(ctx.where, f"parameter '{key}' is not numeric ({exc}).",
                            "Store numbers in this parameter.") from exc
    if not np.all(np.isfinite(value)):
        raise FrontendError(ctx.where, f"parameter '{key}' holds NaN or infinite values.",
                            "Check the trained model; NIR stores finite floats.")
    return value


def _shown(array: np.ndarray) -> str:
    flat = array.reshape(-1)
    text = ", ".join(str(v) for v in flat[:SHOWN_VALUES])
    return f"[{text}{', ...' if flat.size > SHOWN_VALUES else ''}]"


def whole_numbers(value: Any, key: str, ctx: Context) -> np.ndarray:
    """``value`` as int64, if every entry is a whole number of plausible size."""
    array = np.asarray(value)
    valid = array.dtype.kind in "iuf"
    if valid:
        with np.errstate(all="ignore"):
            valid = bool(np.all(np.isfinite(array) & (array == np.round(array))
                                & (np.abs(array) <= MAX_WHOLE_NUMBER)))
    if not valid:
        raise FrontendError(ctx.where, f"parameter '{key}' = {_shown(array)} is not made of "
                            f"whole numbers up to {MAX_WHOLE_NUMBER}.", "Give whole numbers.")
    return array.astype(np.int64)


def integer(node: Mapping[str, Any], key: str, ctx: Context) -> int:
    """A parameter holding one whole number (a one-element array counts)."""
    array = whole_numbers(node[key], key, ctx)
    if array.size != 1:
        raise FrontendError(ctx.where, f"parameter '{key}' has {array.size} values.",
                            "Give one whole number.")
    return int(array.reshape(-1)[0])


def check_signal(shape: Shape, ctx: Context) -> Shape:
    """``shape`` if it is a plausible signal: positive dims, at most MAX_SIGNAL_SIZE values."""
    if min(shape, default=1) < 1 or math.prod(shape) > MAX_SIGNAL_SIZE:
        raise FrontendError(ctx.where, f"gives a signal of shape {list(shape)}; a signal has "
                            f"positive dimensions and at most {MAX_SIGNAL_SIZE} values.",
                            "Check the shapes stored in the file.")
    return shape


def signal_shape(node: Mapping[str, Any], key: str, ctx: Context) -> Shape:
    """A shape parameter (Input, Output, Flatten's input_type), checked as a signal."""
    dims = whole_numbers(np.atleast_1d(np.asarray(node[key])), key, ctx).reshape(-1)
    return check_signal(tuple(int(d) for d in dims), ctx)


def size_of(shape: Shape) -> int:
    return int(np.prod(shape, dtype=np.int64))


def check_size(got: Shape, expected: Shape, ctx: Context) -> None:
    """Reshaping in C order is free; only a different element count is an error."""
    if size_of(got) != size_of(expected):
        raise FrontendError(ctx.where, f"receives a signal of shape {list(got)} "
                            f"({size_of(got)} values) but expects shape {list(expected)} "
                            f"({size_of(expected)} values).", "Fix the shapes or the edges.")


def identity(size: int) -> sp.csr_array:
    return sp.csr_array(sp.identity(size, dtype=np.float64, format="csr"))


def _base(name_type: str, in_shape: Shape, out_shape: Shape, **extra: Any) -> dict[str, Any]:
    return {"type": name_type, "in_shape": list(in_shape), "out_shape": list(out_shape), **extra}


# -- dense and elementwise maps ---------------------------------------------------
def _weight2d(node: Mapping[str, Any], in_shape: Shape, ctx: Context) -> np.ndarray:
    weight = floats(node, "weight", ctx)
    if weight.ndim != 2:
        raise FrontendError(ctx.where, f"has a weight of shape {list(weight.shape)}; only 2-D "
                            "(out, in) weights are supported.", "Flatten the extra dimensions.")
    check_size(in_shape, (weight.shape[1],), ctx)
    return weight


def lower_affine(node: Mapping[str, Any], in_shape: Shape, ctx: Context) -> Step:
    weight = _weight2d(node, in_shape, ctx)
    bias = floats(node, "bias", ctx)
    if bias.size != weight.shape[0]:
        raise FrontendError(ctx.where, f"has {bias.size} biases for {weight.shape[0]} outputs.",
                            "Give one bias per output.")
    out = (weight.shape[0],)
    return Step(weight, out, _base("Affine", in_shape, out), bias.reshape(-1), weighted=True)


def lower_linear(node: Mapping[str, Any], in_shape: Shape, ctx: Context) -> Step:
    weight = _weight2d(node, in_shape, ctx)
    out = (weight.shape[0],)
    return Step(weight, out, _base("Linear", in_shape, out), weighted=True)


def lower_scale(node: Mapping[str, Any], in_shape: Shape, ctx: Context) -> Step:
    scale = floats(node, "scale", ctx)
    check_size(in_shape, scale.shape, ctx)
    matrix = sp.csr_array(sp.diags(scale.reshape(-1), format="csr"))
    return Step(matrix, scale.shape, _base("Scale", in_shape, scale.shape), weighted=True)


def lower_delay(node: Mapping[str, Any], in_shape: Shape, ctx: Context) -> Step:
    delay_s = floats(node, "delay", ctx)
    check_size(in_shape, delay_s.shape, ctx)
    if np.any(delay_s < 0):
        raise FrontendError(ctx.where, f"has a negative delay ({delay_s.min():g} s).",
                            "Delays are >= 0 seconds.")
    steps = np.round(delay_s.reshape(-1) / ctx.dt_s).astype(np.int64)
    shape = delay_s.shape
    return Step(identity(size_of(shape)), shape, _base("Delay", in_shape, shape), delay_steps=steps)


def lower_passthrough(node: Mapping[str, Any], in_shape: Shape, ctx: Context) -> Step:
    shape = signal_shape(node, "shape", ctx)
    check_size(in_shape, shape, ctx)
    return Step(identity(size_of(shape)), shape, _base("Passthrough", in_shape, shape))


def flatten_shape(shape: Shape, start_dim: int, end_dim: int) -> Shape:
    """NIR Flatten (dimensions exclude the batch): merge dims start..end inclusive."""
    ndim = len(shape)
    start, end = start_dim % max(ndim, 1), end_dim % max(ndim, 1)
    return (*shape[:start], size_of(shape[start:end + 1]), *shape[end + 1:])


def lower_flatten(node: Mapping[str, Any], in_shape: Shape, ctx: Context) -> Step:
    declared = node.get("input_type")
    shape = in_shape
    if declared is not None and np.size(declared) > 0:
        shape = signal_shape(node, "input_type", ctx)
        check_size(in_shape, shape, ctx)
    start, end = integer(node, "start_dim", ctx), integer(node, "end_dim", ctx)
    if not (-len(shape) <= start < len(shape) and -len(shape) <= end < len(shape)):
        raise FrontendError(ctx.where, f"flattens dims {start}..{end} of a signal of shape "
                            f"{list(shape)}.", "NIR Flatten dims exclude the batch dimension.")
    out = flatten_shape(shape, start, end)
    record = _base("Flatten", shape, out, start_dim=start, end_dim=end)
    return Step(identity(size_of(out)), out, record)


# -- convolution and pooling ---------------------------------------------------------
def _per_dim(value: Any, ndim: int, key: str, ctx: Context) -> tuple[int, ...]:
    array = whole_numbers(np.atleast_1d(np.asarray(value)), key, ctx)
    if array.size == 1:
        array = np.repeat(array, ndim)
    if array.shape != (ndim,):
        raise FrontendError(ctx.where, f"parameter '{key}' has {array.size} values for "
                            f"{ndim} spatial dims.", f"Give 1 or {ndim} values.")
    return tuple(int(v) for v in array)


def conv_padding(padding: Any, kernel: Shape, stride: Shape, dilation: Shape,
                 ctx: Context) -> tuple[tuple[int, int], ...]:
    """(before, after) per spatial dim, as torch pads ('same' puts the odd pixel after)."""
    if isinstance(padding, str):
        if padding == "valid":
            return tuple((0, 0) for _ in kernel)
        if padding != "same":
            raise FrontendError(ctx.where, f"has padding '{padding}'.",
                                "Use an integer, 'same' or 'valid'.")
        if any(s != 1 for s in stride):
            raise FrontendError(ctx.where, f"uses padding 'same' with stride {list(stride)}.",
                                "PyTorch allows 'same' only with stride 1; give integers.")
        totals = [d * (k - 1) for d, k in zip(dilation, kernel, strict=True)]
        return tuple((t // 2, t - t // 2) for t in totals)
    pads = _per_dim(padding, len(kernel), "padding", ctx)
    return tuple((p, p) for p in pads)


@dataclass(frozen=True)
class ConvGeometry:
    """A convolution's shapes: which kernel entry joins which output and input element."""

    kernel_shape: Shape  # (C_out, C_in / groups, *K)
    in_shape: Shape  # (C_in, *N)
    stride: Shape
    padding: tuple[tuple[int, int], ...]
    dilation: Shape
    groups: int

    @property
    def out_shape(self) -> Shape:
        spatial = [
            (n + pb + pa - d * (k - 1) - 1) // s + 1
            for n, (pb, pa), d, k, s in zip(self.in_shape[1:], self.padding, self.dilation,
                                             self.kernel_shape[2:], self.stride, strict=True)
        ]
        return (self.kernel_shape[0], *spatial)

    def synapses(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(row, col, flat kernel index) of every synapse, rows and cols C-order flat."""
        c_out, c_group, *kernel = self.kernel_shape
        spatial_in, spatial_out = self.in_shape[1:], self.out_shape[1:]
        offsets = np.indices(kernel).reshape(len(kernel), -1).T  # (K, nd)
        outs = np.indices(spatial_out).reshape(len(kernel), -1).T  # (O, nd)
        pad_before = np.array([p[0] for p in self.padding])
        pos = (outs[None] * np.array(self.stride) - pad_before
               + offsets[:, None] * np.array(self.dilation))  # (K, O, nd)
        valid = np.all((pos >= 0) & (pos < np.array(spatial_in)), axis=-1)
        k_idx, o_idx = np.nonzero(valid)
        in_flat = np.ravel_multi_index(tuple(pos[k_idx, o_idx].T), spatial_in)
        co, cg = np.divmod(np.arange(c_out * c_group), c_group)
        ci = (co // (c_out // self.groups)) * c_group + cg
        n_in, n_out, n_k = size_of(spatial_in), size_of(spatial_out), len(offsets)
        rows = (co[:, None] * n_out + o_idx[None]).reshape(-1)
        cols = (ci[:, None] * n_in + in_flat[None]).reshape(-1)
        kidx = ((co * c_group + cg)[:, None] * n_k + k_idx[None]).reshape(-1)
        return rows, cols, kidx

    def matrix(self, kernel: np.ndarray) -> sp.csr_array:
        rows, cols, kidx = self.synapses()
        shape = (size_of(self.out_shape), size_of(self.in_shape))
        matrix = sp.csr_array((kernel.reshape(-1)[kidx], (rows, cols)), shape=shape)
        matrix.sort_indices()
        return matrix


def _conv_geometry(node: Mapping[str, Any], kernel: np.ndarray, in_shape: Shape,
                   ctx: Context) -> ConvGeometry:
    ndim = kernel.ndim - 2
    stride = _per_dim(node["stride"], ndim, "stride", ctx)
    dilation = _per_dim(node["dilation"], ndim, "dilation", ctx)
    groups = integer(node, "groups", ctx)
    c_out, c_group = kernel.shape[:2]
    declared = node.get("input_shape")
    spatial = in_shape[1:] if declared is None else _per_dim(declared, ndim, "input_shape", ctx)
    shape = (c_group * groups, *spatial)
    check_size(in_shape, shape, ctx)
    if len(shape) != ndim + 1 or groups < 1 or c_out % groups or min(stride + dilation) < 1:
        raise FrontendError(ctx.where, f"cannot apply to a signal of shape {list(in_shape)} "
                            f"(kernel {list(kernel.shape)}, groups {groups}, stride "
                            f"{list(stride)}, dilation {list(dilation)}).",
                            "Give input_shape, positive strides and groups dividing C_out.")
    padding = conv_padding(node["padding"], kernel.shape[2:], stride, dilation, ctx)
    geometry = ConvGeometry(kernel.shape, shape, stride, padding, dilation, groups)
    if min(geometry.out_shape) < 1:
        raise FrontendError(ctx.where, f"gives an empty output {list(geometry.out_shape)} for "
                            f"input {list(shape)}.", "Check kernel size, padding and stride.")
    check_signal(geometry.out_shape, ctx)
    return geometry


def _padding_record(padding: Any) -> Any:
    return padding if isinstance(padding, str) else np.atleast_1d(padding).astype(int).tolist()


def lower_conv(node: Mapping[str, Any], in_shape: Shape, ctx: Context) -> Step:
    kernel, bias = floats(node, "weight", ctx), floats(node, "bias", ctx)
    if kernel.ndim != {"Conv1d": 3, "Conv2d": 4}[node["type"]]:
        raise FrontendError(ctx.where, f"has a weight of shape {list(kernel.shape)}.",
                            "Conv1d takes (C_out, C_in, K), Conv2d (C_out, C_in, KH, KW).")
    geometry = _conv_geometry(node, kernel, in_shape, ctx)
    out = geometry.out_shape
    if bias.size not in (1, out[0]):
        raise FrontendError(ctx.where, f"has {bias.size} biases for {out[0]} channels.",
                            "Give one bias per output channel.")
    per_neuron = np.repeat(np.broadcast_to(bias.reshape(-1), (out[0],)), size_of(out[1:]))
    record = _base(node["type"], geometry.in_shape, out, kernel_shape=list(kernel.shape),
                   stride=list(geometry.stride), padding=_padding_record(node["padding"]),
                   dilation=list(geometry.dilation), groups=geometry.groups)
    return Step(geometry.matrix(kernel), out, record, per_neuron, weighted=True)


def pool_geometry(record: Mapping[str, Any], in_shape: Shape) -> ConvGeometry:
    """Pooling as a grouped convolution with a kernel of ones (one group per channel)."""
    channels = in_shape[0]
    kernel = tuple(record["kernel_size"])
    padding = tuple((p, p) for p in record["padding"])
    return ConvGeometry((channels, 1, *kernel), in_shape, tuple(record["stride"]), padding,
                        (1,) * len(kernel), channels)


def pool_matrix(record: Mapping[str, Any], in_shape: Shape) -> sp.csr_array:
    geometry = pool_geometry(record, in_shape)
    window = size_of(geometry.kernel_shape[2:])
    # AvgPool2d = SumPool2d then Scale(1/|window|), padding counted (torch's default).
    value = 1.0 / window if record["type"] == "AvgPool2d" else 1.0
    return geometry.matrix(np.full(geometry.kernel_shape, value))


def lower_pool(node: Mapping[str, Any], in_shape: Shape, ctx: Context) -> Step:
    kernel = _per_dim(node["kernel_size"], 2, "kernel_size", ctx)
    stride = _per_dim(node["stride"], 2, "stride", ctx)
    padding = _per_dim(node["padding"], 2, "padding", ctx)
    if len(in_shape) != 3 or min(kernel + stride) < 1 or min(padding) < 0:
        raise FrontendError(ctx.where, f"cannot pool a signal of shape {list(in_shape)} with "
                            f"kernel {list(kernel)}, stride {list(stride)}, padding "
                            f"{list(padding)}.", "Pooling needs a (C, H, W) signal; a Flatten "
                            "before it, or a missing input_shape upstream, loses that shape.")
    record = {"type": node["type"], "kernel_size": list(kernel), "stride": list(stride),
              "padding": list(padding)}
    geometry = pool_geometry(record, in_shape)
    out = geometry.out_shape
    if min(out) < 1:
        raise FrontendError(ctx.where, f"gives an empty output {list(out)}.",
                            "Check kernel size, padding and stride.")
    check_signal(out, ctx)
    full = {**_base(node["type"], in_shape, out), **record}
    return Step(pool_matrix(record, in_shape), out, full)


SYNAPTIC_LOWERINGS: dict[str, Callable[[Mapping[str, Any], Shape, Context], Step]] = {
    "Affine": lower_affine,
    "Linear": lower_linear,
    "Scale": lower_scale,
    "Conv1d": lower_conv,
    "Conv2d": lower_conv,
    "SumPool2d": lower_pool,
    "AvgPool2d": lower_pool,
    "Flatten": lower_flatten,
    "Delay": lower_delay,
    "Passthrough": lower_passthrough,
}

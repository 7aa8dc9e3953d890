"""The layers between neurons: linear maps and layout changes, one rule per class.

Each map is lowered by the NIR frontend's own lowerings (``frontends/nir/maps``:
PyTorch semantics for convolution and pooling, CSR matrices), fed a node dict
built from the layer's attributes, so both frontends agree by construction. A
rule's ``need`` is the layout its input must have (``walk.BATCH_TIME``,
``walk.SQUEEZED`` or ``None`` for either), which also tells the layout of the
model's input: the first layer that needs one decides it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from neurocc.compiler.errors import FrontendError
from neurocc.frontends.nir.maps import lower_affine, lower_pool
from neurocc.frontends.nir.maps import lower_conv as conv_step
from neurocc.frontends.nir.maps import lower_flatten as flatten_step
from neurocc.frontends.sinabs.torchlib import array
from neurocc.frontends.sinabs.walk import BATCH_TIME, SQUEEZED, Walk

Need = Callable[[Any], int | None]
Lower = Callable[[Walk, Any, str], None]


def _any_layout(layer: Any) -> int | None:
    return None


def _batch_time(layer: Any) -> int | None:
    return BATCH_TIME


def _squeezed(layer: Any) -> int | None:
    return SQUEEZED


@dataclass(frozen=True)
class LayerRule:
    """How one layer class lowers, and which input layout it needs."""

    lower: Lower
    need: Need = _any_layout


# -- weighted maps --------------------------------------------------------------------
def _bias(layer: Any, n_out: int) -> np.ndarray:
    return np.zeros(n_out) if layer.bias is None else array(layer.bias)


def lower_linear(walk: Walk, layer: Any, path: str) -> None:
    if len(walk.shape) != 1:
        raise FrontendError(walk.where(path, layer), f"receives a signal of shape "
                            f"{list(walk.shape)} per step; the frontend lowers nn.Linear on a "
                            "flat signal only.", "Put an nn.Flatten() before it.")
    weight = array(layer.weight)
    step = lower_affine({"weight": weight, "bias": _bias(layer, weight.shape[0])}, walk.shape,
                        walk.ctx(path, layer))
    walk.push(path, layer, replace(step, record={**step.record, "type": "Linear",
                                                  "bias": layer.bias is not None}))


def lower_conv(walk: Walk, layer: Any, path: str) -> None:
    if layer.padding_mode != "zeros":
        raise FrontendError(walk.where(path, layer), f"pads with mode '{layer.padding_mode}'.",
                            "Only zero padding (padding_mode='zeros') is a linear map of the "
                            "spikes the graph can hold; use it.")
    weight = array(layer.weight)
    node = {"type": f"Conv{weight.ndim - 2}d", "weight": weight,
            "bias": _bias(layer, weight.shape[0]), "stride": layer.stride,
            "padding": layer.padding, "dilation": layer.dilation, "groups": layer.groups}
    walk.push(path, layer, _conv_step(walk, layer, path, node))


def _conv_step(walk: Walk, layer: Any, path: str, node: dict[str, Any]) -> Any:
    needed = {"Conv1d": 2, "Conv2d": 3}[node["type"]]
    if len(walk.shape) != needed:
        raise FrontendError(walk.where(path, layer), f"receives a signal of shape "
                            f"{list(walk.shape)} per step; it needs {needed} dimensions "
                            "(channels first).", "Check input_shape and the layers before it.")
    return conv_step(node, walk.shape, walk.ctx(path, layer))


# -- pooling ------------------------------------------------------------------------------
def _refuse_pool_option(walk: Walk, layer: Any, path: str, option: str, value: Any,
                        why: str) -> None:
    raise FrontendError(walk.where(path, layer), f"has {option}={value!r}: {why}",
                        f"Build it without {option} (the default), or pad explicitly.")


def lower_avg_pool(walk: Walk, layer: Any, path: str) -> None:
    padding = np.atleast_1d(layer.padding)
    if layer.ceil_mode:
        _refuse_pool_option(walk, layer, path, "ceil_mode", True,
                            "partial windows at the edge are not supported.")
    if not layer.count_include_pad and np.any(padding > 0):
        _refuse_pool_option(walk, layer, path, "count_include_pad", False,
                            "edge windows would divide by fewer pixels than the kernel has.")
    if layer.divisor_override is not None:
        _refuse_pool_option(walk, layer, path, "divisor_override", layer.divisor_override,
                            "the divisor is the kernel area in the graph.")
    stride = layer.kernel_size if layer.stride is None else layer.stride
    node = {"type": "AvgPool2d", "kernel_size": layer.kernel_size, "stride": stride,
            "padding": layer.padding}
    walk.push(path, layer, lower_pool(node, walk.shape, walk.ctx(path, layer)))


def lower_sum_pool(walk: Walk, layer: Any, path: str) -> None:
    if float(layer.norm_type) != 1.0:
        _refuse_pool_option(walk, layer, path, "norm_type", layer.norm_type,
                            "only p = 1 (a sum) is linear.")
    if layer.ceil_mode:
        _refuse_pool_option(walk, layer, path, "ceil_mode", True,
                            "partial windows at the edge are not supported.")
    stride = layer.kernel_size if layer.stride is None else layer.stride
    node = {"type": "SumPool2d", "kernel_size": layer.kernel_size, "stride": stride,
            "padding": 0}
    walk.push(path, layer, lower_pool(node, walk.shape, walk.ctx(path, layer)))


# -- layout -------------------------------------------------------------------------------
def _flatten_dims(layer: Any, leading: int, ndim: int) -> tuple[int, int]:
    """nn.Flatten's dims counted over the whole tensor (leading dims + per-step dims)."""
    full = leading + ndim
    return layer.start_dim % full, layer.end_dim % full


def flatten_need(layer: Any) -> int | None:
    """nn.Flatten(0, 1) merges batch and time; start_dim 1 is per step only when squeezed."""
    if (layer.start_dim, layer.end_dim) == (0, 1):
        return BATCH_TIME
    return SQUEEZED if layer.start_dim == 1 else None


def lower_flatten(walk: Walk, layer: Any, path: str) -> None:
    start, end = _flatten_dims(layer, walk.leading, len(walk.shape))
    if walk.leading == BATCH_TIME and (start, end) == (0, 1):
        walk.leading = SQUEEZED  # the same as sinabs' FlattenTime
        return
    if start < walk.leading:
        raise FrontendError(walk.where(path, layer), f"flattens dims {layer.start_dim}.."
                            f"{layer.end_dim} of a {walk.leading + len(walk.shape)}-D tensor, "
                            "which merges the batch or time dimension with the features.",
                            "Flatten only the per-step dims (nn.Flatten() after FlattenTime).")
    node = {"start_dim": start - walk.leading, "end_dim": end - walk.leading}
    walk.push(path, layer, flatten_step(node, walk.shape, walk.ctx(path, layer)))


def lower_flatten_time(walk: Walk, layer: Any, path: str) -> None:
    walk.expect_layout(BATCH_TIME, path, layer, "FlattenTime merges batch and time: it "
                       "belongs before the layers that take (batch*time, ...) input.")
    walk.leading = SQUEEZED


def lower_unflatten_time(walk: Walk, layer: Any, path: str) -> None:
    walk.expect_layout(SQUEEZED, path, layer, "UnflattenTime splits batch*time: put it after "
                       "a FlattenTime.")
    walk.leading = BATCH_TIME


def lower_identity(walk: Walk, layer: Any, path: str) -> None:
    """nn.Identity, and dropout, which is the identity at inference."""


def layer_rules(nn: Any, sl: Any) -> dict[type, LayerRule]:
    """The table of map and layout layers, keyed by exact class (``nn``: torch.nn)."""
    return {
        nn.Linear: LayerRule(lower_linear),
        nn.Conv1d: LayerRule(lower_conv, _squeezed),
        nn.Conv2d: LayerRule(lower_conv, _squeezed),
        nn.AvgPool2d: LayerRule(lower_avg_pool, _squeezed),
        sl.SumPool2d: LayerRule(lower_sum_pool, _squeezed),
        nn.Flatten: LayerRule(lower_flatten, flatten_need),
        sl.FlattenTime: LayerRule(lower_flatten_time, _batch_time),
        sl.UnflattenTime: LayerRule(lower_unflatten_time, _squeezed),
        nn.Dropout: LayerRule(lower_identity),
        nn.Dropout1d: LayerRule(lower_identity),
        nn.Dropout2d: LayerRule(lower_identity),
        nn.Identity: LayerRule(lower_identity),
    }

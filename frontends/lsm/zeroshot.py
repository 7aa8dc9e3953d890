"""Zero-shot LSM on resistive memory: reservoir weights drawn from the device, not programmed.

The co-design of Lin et al., "Resistive memory-based zero-shot liquid state
machine for multimodal event data learning" (Nat. Comput. Sci. 5, 37-47, 2025):
the reservoir's weights are fixed and random, so instead of programming chosen
values into resistive cells (slow, and never exact), every cell gets one
switching pulse without verify and keeps whatever conductance the stochastic
switching gives it (Wang et al., Nat. Mach. Intell. 5, 104-113, 2023, use the
randomness of dielectric breakdown the same way). Only the digital readout is
trained (:func:`~neurocc.frontends.lsm.train_readout`).

One synapse is one differential pair of switched cells, and its weight is::

    w = scale * (G+ - G-) / (sqrt(2) * sigma_G)        G+, G- ~ switching distribution

so ``w`` has mean 0 and, for an untruncated normal law, standard deviation
``scale`` (``input_scale`` for input synapses, ``recurrent_scale`` for the
reservoir's own). The switching distribution is the target file's (device kind
``rram``: ``switching_set_mean_us`` / ``switching_set_std_us``, or ``reset``),
a normal law clipped to the cell's range ``[g_min_us, g_max_us]``
(:func:`neurocc.sim.crossbar.devices.switched`). The clipping makes the real
weight law differ from a Gaussian: that difference is what the example measures
against :func:`gaussian_reservoir`, the software reservoir of the paper (the
same structure and scales with ``w ~ Normal(0, scale^2)``).

The structure (which synapses exist, neurons, delays, readout) comes from
:func:`~neurocc.frontends.lsm.build_lsm`; the recipe's E/I signs and magnitude
law are replaced, as in the paper (its reservoir has zero-mean random weights).
The conductances are not stored: :func:`formed_conductances` re-draws them
from the recipe in ``graph.metadata["lsm_zeroshot"]`` (same device seed, same
cells), which is what a crossbar backend needs to place them.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import numpy as np

from neurocc.backends import load_target
from neurocc.compiler.errors import FrontendError
from neurocc.compiler.graph import Graph, Projection
from neurocc.frontends.lsm.build import INPUT_PROJECTION, RECURRENT, build_lsm
from neurocc.frontends.lsm.parameters import LsmParameters
from neurocc.sim.crossbar.devices import Device, switched

METADATA_KEY = "lsm_zeroshot"  # graph.metadata[...]: the device recipe of a zero-shot reservoir
DEVICE_PROJECTIONS = (INPUT_PROJECTION, RECURRENT)  # the projections whose cells are switched
PULSES = ("set", "reset")


def switching_device(target: str | Path, pulse: str) -> tuple[Device, float]:
    """The target's device model and the spread (µS) of one ``pulse`` without verify."""
    if pulse not in PULSES:
        raise FrontendError(f"pulse '{pulse}'", "is not a switching pulse.",
                            f"Use one of {list(PULSES)}.")
    spec = load_target(target)
    key = f"switching_{pulse}_std_us"
    if spec.family != "crossbar" or key not in spec.entries:
        raise FrontendError(f"target '{spec.name}'", "does not describe the switching "
                            f"randomness of its cells (no device key '{key}').",
                            "Use a resistive crossbar target whose device kind is 'rram' "
                            "(rram256k).")
    return Device.of(spec), float(spec.entries[key].value)


def _scale(name: str, value: Any) -> float:
    if not (isinstance(value, int | float) and math.isfinite(value) and value >= 0):
        raise FrontendError(name, f"is {value!r}; expected a weight scale >= 0.",
                            "The standard deviation of the weights, for example 3.0.")
    return float(value)


def _with_weights(graph: Graph, draw: Callable[[str, int], np.ndarray],
                  metadata: Mapping[str, Any]) -> Graph:
    """``graph`` with the stored weights of the device projections replaced by ``draw(name,
    count)`` (in CSR order), and ``metadata`` added to the graph's."""
    projections = dict(graph.projections)
    for name in DEVICE_PROJECTIONS:
        old = projections[name]
        weight = old.weight.copy()
        weight.data = draw(name, len(weight.data))
        projections[name] = Projection(old.name, old.source, old.target, weight,
                                       old.delay_steps, old.metadata, old.receptor)
    return graph.replace(projections=projections, metadata={**graph.metadata, **metadata})


def _device_rng(device_seed: int) -> dict[str, np.random.Generator]:
    """One stream per device projection, so each array's cells are drawn independently."""
    streams = np.random.SeedSequence(device_seed).spawn(len(DEVICE_PROJECTIONS))
    return {name: np.random.default_rng(s) for name, s in zip(DEVICE_PROJECTIONS, streams,
                                                                strict=True)}


def _pairs(device: Device, pulse: str, device_seed: int, counts: Mapping[str, int]
           ) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    rngs = _device_rng(device_seed)
    return {name: (switched(device, pulse, (counts[name],), rngs[name]),
                   switched(device, pulse, (counts[name],), rngs[name]))
            for name in DEVICE_PROJECTIONS}


def zeroshot_reservoir(params: LsmParameters, target: str | Path = "rram256k", *,
                       input_scale: float, recurrent_scale: float, pulse: str = "set",
                       device_seed: int | None = None) -> Graph:
    """The reservoir of ``params`` with weights ``scale * (G+ - G-) / (sqrt(2) sigma_G)``, every
    cell switched by one ``pulse`` of ``target``'s device; ``device_seed`` (default
    ``params.seed``) names the physical array."""
    scales = {INPUT_PROJECTION: _scale("input_scale", input_scale),
              RECURRENT: _scale("recurrent_scale", recurrent_scale)}
    device, sigma_us = switching_device(target, pulse)
    seed = params.seed if device_seed is None else device_seed
    if not (isinstance(seed, int) and not isinstance(seed, bool) and seed >= 0):
        raise FrontendError("device_seed", f"is {seed!r}; expected an integer >= 0.",
                            "One seed names one physical array, for example 0.")
    graph = build_lsm(params)
    counts = {name: len(graph.projections[name].weight.data) for name in DEVICE_PROJECTIONS}
    pairs = _pairs(device, pulse, seed, counts)
    unit = math.sqrt(2.0) * sigma_us

    def draw(name: str, count: int) -> np.ndarray:
        g_plus, g_minus = pairs[name]
        return scales[name] * (g_plus - g_minus) / unit

    recipe = {"target": str(target), "pulse": pulse, "device_seed": seed,
              "input_scale": scales[INPUT_PROJECTION], "recurrent_scale": scales[RECURRENT]}
    return _with_weights(graph, draw, {METADATA_KEY: recipe})


def gaussian_reservoir(params: LsmParameters, *, input_scale: float,
                       recurrent_scale: float) -> Graph:
    """The software reservoir of the same structure: ``w ~ Normal(0, scale^2)`` (seeded by
    ``params.seed``)."""
    scales = {INPUT_PROJECTION: _scale("input_scale", input_scale),
              RECURRENT: _scale("recurrent_scale", recurrent_scale)}
    rngs = _device_rng(params.seed)
    recipe = {"software": "gaussian", "input_scale": scales[INPUT_PROJECTION],
              "recurrent_scale": scales[RECURRENT]}
    return _with_weights(build_lsm(params),
                         lambda name, count: scales[name] * rngs[name].standard_normal(count),
                         {METADATA_KEY: recipe})


def formed_conductances(graph: Graph) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """``{projection: (G+, G-)}`` in µS, aligned with the projection's CSR ``data``: the
    cells :func:`zeroshot_reservoir` switched, re-drawn from the recipe in the metadata."""
    recipe = graph.metadata.get(METADATA_KEY)
    if not isinstance(recipe, Mapping) or "pulse" not in recipe:
        raise FrontendError("graph", "is not a zero-shot reservoir (no device recipe in "
                            f"metadata['{METADATA_KEY}']).",
                            "Build it with neurocc.frontends.lsm.zeroshot_reservoir(...).")
    device, _ = switching_device(recipe["target"], recipe["pulse"])
    counts = {name: len(graph.projections[name].weight.data) for name in DEVICE_PROJECTIONS}
    return _pairs(device, recipe["pulse"], int(recipe["device_seed"]), counts)

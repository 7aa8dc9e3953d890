"""The one check of input spikes shared by the API, the exact engines and the Lava export."""

from __future__ import annotations

from typing import Any

import numpy as np

from neurocc.compiler.errors import SimulationError


def check_spikes(spikes: Any, n_inputs: int) -> np.ndarray:
    """``spikes`` as uint8 (batch, T, n_inputs) of 0/1, or a SimulationError saying what."""
    array = np.asarray(spikes)
    expected = f"expected 0/1 spikes of shape (batch, T, {n_inputs})"
    if array.ndim != 3 or array.shape[2] != n_inputs or 0 in array.shape[:2]:
        raise SimulationError("input spikes", f"have shape {array.shape}; {expected}.",
                              "One row per time step, one column per input neuron (the input "
                              "populations concatenated in the graph's input order).")
    if array.dtype.kind not in "biuf" or not np.isin(array, (0, 1)).all():
        raise SimulationError("input spikes", f"hold values other than 0 and 1; {expected}.",
                              "Binarise the input (for example `spikes > 0`).")
    return array.astype(np.uint8)

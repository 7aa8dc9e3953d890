"""What every standalone exported script shares: its parameters file and its input.

An exporter (``neurocc export TOOL DIR -o net.py``) writes ``net.py`` and, beside it,
``net_params.npz``: a JSON description under ``description`` and the arrays it names. The
script reads both with :func:`script_load_params` and its input with
:func:`script_read_input`; these two depend only on numpy and are copied verbatim into every
script (:data:`SHARED_SOURCE`), next to the exporter's own functions.
"""

from __future__ import annotations

import inspect
import json
from pathlib import Path
from typing import Any

import numpy as np

from neurocc.compiler.errors import SimulationError

PARAMS_SUFFIX = "_params.npz"
DESCRIPTION_KEY = "description"

SCRIPT_IMPORTS = '''
import argparse
import json
import pathlib

import numpy as np

'''


# ---------------------------------------------------------------------------------------------
# Self-contained part (numpy only): copied into every exported script.
# ---------------------------------------------------------------------------------------------
def script_load_params(path):
    """The description (JSON under ``description``) and the arrays of a parameters file."""
    with np.load(path, allow_pickle=False) as data:
        arrays = {key: data[key] for key in data.files}
    return json.loads(str(arrays.pop("description"))), arrays  # neurocc's DESCRIPTION_KEY


def script_read_input(path, desc):
    """``spikes`` (batch, T, n_in) of an input npz, checked against the input populations."""
    with np.load(path, allow_pickle=False) as data:
        spikes = np.asarray(data["spikes"])
    sizes = {p["name"]: p["size"] for p in desc["populations"]}
    n_in = sum(sizes[name] for name in desc["inputs"])
    if spikes.ndim != 3 or spikes.shape[2] != n_in:
        raise SystemExit(f"input spikes have shape {spikes.shape}; expected (batch, T, {n_in})")
    return spikes


SHARED_SOURCE = "\n\n".join(inspect.getsource(f) for f in (script_load_params,
                                                           script_read_input))


# ---------------------------------------------------------------------------------------------
# neurocc side
# ---------------------------------------------------------------------------------------------
def params_path(script: Path) -> Path:
    """``<stem>_params.npz`` beside ``script``, which must be a ``.py`` path."""
    if script.suffix != ".py":
        raise SimulationError(str(script), "is not a .py path.", "Name the script like net.py.")
    return script.with_name(script.stem + PARAMS_SUFFIX)


def write_script(script: Path, head: str, functions: str, main: str, desc: dict[str, Any],
                 arrays: dict[str, np.ndarray]) -> Path:
    """Write ``script`` (head, the shared functions, ``functions``, main) and its parameters."""
    params = params_path(script)
    script.parent.mkdir(parents=True, exist_ok=True)
    np.savez(params, **{DESCRIPTION_KEY: np.array(json.dumps(desc))}, **arrays)
    script.write_text(head + SCRIPT_IMPORTS + "\n" + SHARED_SOURCE + "\n\n" + functions
                      + "\n" + main)
    return script

"""EGRU parameters as numpy arrays (:class:`EgruWeights`), read from the layouts they come in.

Two state-dict layouts are read (tensors or arrays; torch is never imported here):

- ``neurocc``: :class:`neurocc.frontends.egru.torch_model.Egru`, the module this frontend
  ships for training. ``weight_input`` (3H, C) and ``weight_recurrent`` (3H, H) stack the
  gates in the order update, reset, candidate; ``bias`` (3H) the same;
  ``bias_candidate_recurrent`` (H); ``c_threshold`` (H); optional ``readout.weight`` (K, H)
  and ``readout.bias`` (K).
- ``evnn``: EvNN's ``EGRU`` layer. ``kernel`` (C, 3H) and ``recurrent_kernel`` (H, 3H) stack
  ``[z | r | g]``, where EvNN's ``z`` is the gate that *keeps* the cell
  (``c = z*c + (1 - z)*g``); ``bias`` and ``recurrent_bias`` (3H); ``thr`` (H). Our update gate
  weights the candidate, ``u = 1 - z = sigmoid(-a_z)``, so the update block is negated
  (exact). The update and reset gates see ``bias + recurrent_bias`` (one bias each); the
  candidate keeps its recurrent bias apart, inside the reset gate's product. EvNN clamps
  ``thr`` to [0, 1] before every forward pass, so the reader clamps it too. EvNN's zoneout
  (a state dict does not record it) must have been 0 for the import to mean the same.
"""

from __future__ import annotations

import dataclasses
import io
import json
import os
import zipfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from neurocc.compiler.errors import FrontendError

WHERE = "EGRU weights"
GATES = ("update", "reset", "candidate")  # the blocks of a stacked (3H, ...) tensor, in order
N_GATES = len(GATES)
METADATA_KEY = "metadata"  # the .npz entry holding JSON metadata
FIXED_ZIP_TIME = (1980, 1, 1, 0, 0, 0)  # no wall-clock time in a saved .npz: same bytes


@dataclass(frozen=True, eq=False)
class EgruWeights:
    """One EGRU layer and an optional linear readout, as float64 arrays (read-only copies).

    With C inputs, H units and K readout outputs: ``input_<gate>`` (H, C) act on the input
    spikes, ``recurrent_<gate>`` (H, H) on the previous step's output ``y`` (the recurrent
    candidate term is the one the reset gate scales), biases and ``c_threshold`` are (H,),
    ``readout_weight`` (K, H) and ``readout_bias`` (K,) are both given or both ``None``.
    Shapes, finiteness and the pairing are checked on construction (``FrontendError``).
    """

    input_update: np.ndarray
    input_reset: np.ndarray
    input_candidate: np.ndarray
    recurrent_update: np.ndarray
    recurrent_reset: np.ndarray
    recurrent_candidate: np.ndarray
    bias_update: np.ndarray
    bias_reset: np.ndarray
    bias_candidate: np.ndarray
    bias_candidate_recurrent: np.ndarray
    c_threshold: np.ndarray
    readout_weight: np.ndarray | None = None
    readout_bias: np.ndarray | None = None

    def __post_init__(self) -> None:
        for name, value in self._given().items():
            object.__setattr__(self, name, _frozen_float(name, value))
        _check_shapes(self)

    def _given(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in dataclasses.fields(self)
                if getattr(self, f.name) is not None}

    @property
    def n_inputs(self) -> int:
        return int(self.input_update.shape[1])

    @property
    def n_units(self) -> int:
        return int(self.c_threshold.shape[0])

    @property
    def n_outputs(self) -> int:
        """Readout size K, 0 without a readout."""
        return 0 if self.readout_weight is None else int(self.readout_weight.shape[0])

    def arrays(self) -> dict[str, np.ndarray]:
        """Every given array by field name (the form :meth:`save` writes)."""
        return self._given()

    @classmethod
    def from_state_dict(cls, state_dict: Mapping[str, Any], *, prefix: str = ""
                        ) -> EgruWeights:
        """Read a ``neurocc`` or ``evnn`` state dict (see the module docstring); keys are
        looked up under ``prefix`` (for example ``"rnn."`` inside a larger model)."""
        entries = {key[len(prefix):]: value for key, value in state_dict.items()
                   if isinstance(key, str) and key.startswith(prefix)}
        for marker, reader in LAYOUTS.items():
            if marker in entries:
                return reader(entries)
        raise FrontendError(WHERE, f"the state dict has none of the keys "
                            f"{[prefix + m for m in LAYOUTS]} (keys: {sorted(state_dict)[:8]}).",
                            "Pass the state dict of neurocc's Egru module or of EvNN's EGRU "
                            "layer; inside a larger model give prefix='<name>.'.")

    def save(self, path: str | os.PathLike[str], metadata: Mapping[str, Any] | None = None
             ) -> None:
        """Write an ``.npz`` (deflated, fixed timestamps: same weights, same bytes). Each
        array is stored as float32 where that is exact (trained float32 weights), else
        float64; :meth:`load` widens them back."""
        entries = {name: _narrowest(value) for name, value in self.arrays().items()}
        entries[METADATA_KEY] = np.array(json.dumps(dict(metadata or {}), sort_keys=True))
        with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
            for name, array in entries.items():
                _write_member(archive, name, array)

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> tuple[EgruWeights, dict[str, Any]]:
        """The weights and metadata a :meth:`save` wrote."""
        where = f"{WHERE} file {path}"
        if not Path(path).is_file():
            raise FrontendError(where, "does not exist.", "Give the .npz EgruWeights.save "
                                "wrote (examples/egru/train.py writes one).")
        with np.load(path, allow_pickle=False) as data:
            entries = {name: data[name] for name in data.files}
        metadata = json.loads(str(entries.pop(METADATA_KEY, "{}")))
        known = {f.name for f in dataclasses.fields(cls)}
        if unknown := sorted(set(entries) - known):
            raise FrontendError(where, f"holds arrays {unknown} that EgruWeights lacks.",
                                f"Expected {sorted(known)}.")
        return cls(**_require(entries, [f.name for f in dataclasses.fields(cls)
                                        if f.default is dataclasses.MISSING], where),
                   **{k: v for k, v in entries.items() if k.startswith("readout")}), metadata


# -- checks ------------------------------------------------------------------------------------
def _frozen_float(name: str, value: Any) -> np.ndarray:
    try:
        array = np.array(_numpy(value), dtype=np.float64)
    except (TypeError, ValueError) as exc:  # ragged lists, strings, objects
        raise FrontendError(WHERE, f"'{name}' is not a numeric array ({exc}).",
                            "Give numpy arrays or tensors.") from exc
    if not np.all(np.isfinite(array)):
        raise FrontendError(WHERE, f"'{name}' holds NaN or infinite values.",
                            "Check the trained model's parameters.")
    array.flags.writeable = False
    return array


def _expected_shapes(w: EgruWeights) -> dict[str, tuple[int, ...]]:
    h, c = w.n_units, w.n_inputs
    shapes: dict[str, tuple[int, ...]] = {}
    for gate in GATES:
        shapes |= {f"input_{gate}": (h, c), f"recurrent_{gate}": (h, h), f"bias_{gate}": (h,)}
    shapes |= {"bias_candidate_recurrent": (h,), "c_threshold": (h,)}
    if w.readout_weight is not None:
        shapes |= {"readout_weight": (w.n_outputs, h), "readout_bias": (w.n_outputs,)}
    return shapes


def _check_shapes(w: EgruWeights) -> None:
    if w.c_threshold.ndim != 1 or w.input_update.ndim != 2:
        raise FrontendError(WHERE, f"c_threshold has shape {w.c_threshold.shape} and "
                            f"input_update {w.input_update.shape}; expected (H,) and (H, C).",
                            "Give one threshold per unit and (units, inputs) weights.")
    if (w.readout_weight is None) != (w.readout_bias is None):
        raise FrontendError(WHERE, "has only one of readout_weight and readout_bias.",
                            "Give both (a linear readout) or neither (no readout).")
    for name, shape in _expected_shapes(w).items():
        if getattr(w, name).shape != shape:
            raise FrontendError(WHERE, f"'{name}' has shape {getattr(w, name).shape}, expected "
                                f"{shape} for {w.n_units} units and {w.n_inputs} inputs.",
                                "Weights are (target, source): transpose if needed.")


# -- state-dict layouts --------------------------------------------------------------------------
def _numpy(value: Any) -> np.ndarray:
    """A torch tensor (without importing torch) or anything array-like, as numpy."""
    if hasattr(value, "detach"):
        value = value.detach().cpu().numpy()
    return np.asarray(value)


def _require(entries: Mapping[str, Any], keys: list[str], where: str = WHERE
             ) -> dict[str, np.ndarray]:
    missing = [key for key in keys if key not in entries]
    if missing:
        raise FrontendError(where, f"lacks {missing}.", f"It holds {sorted(entries)}.")
    return {key: np.asarray(_numpy(entries[key]), dtype=np.float64) for key in keys}


def _blocks(name: str, array: np.ndarray, n_units: int, axis: int) -> list[np.ndarray]:
    """The update, reset, candidate blocks of a stacked tensor, each as (H, ...) rows."""
    if array.ndim < 1 or array.shape[axis] != N_GATES * n_units:
        raise FrontendError(WHERE, f"'{name}' has shape {array.shape}; axis {axis} must be "
                            f"3 x {n_units} units (update, reset, candidate stacked).",
                            "Check that the state dict belongs to one EGRU layer.")
    return [np.moveaxis(block, axis, 0) for block in np.split(array, N_GATES, axis=axis)]


def _readout(entries: Mapping[str, Any]) -> dict[str, np.ndarray]:
    if "readout.weight" not in entries:
        return {}
    arrays = _require(entries, ["readout.weight", "readout.bias"])
    return {"readout_weight": arrays["readout.weight"], "readout_bias": arrays["readout.bias"]}


def _n_units(thresholds: np.ndarray, key: str) -> int:
    if thresholds.ndim != 1:
        raise FrontendError(WHERE, f"'{key}' has shape {thresholds.shape}, expected (H,).",
                            "One threshold per unit.")
    return int(thresholds.shape[0])


def _gate_fields(prefix: str, blocks: list[np.ndarray]) -> dict[str, np.ndarray]:
    return {f"{prefix}_{gate}": block for gate, block in zip(GATES, blocks, strict=True)}


def _from_neurocc(entries: Mapping[str, Any]) -> EgruWeights:
    a = _require(entries, ["weight_input", "weight_recurrent", "bias",
                           "bias_candidate_recurrent", "c_threshold"])
    h = _n_units(a["c_threshold"], "c_threshold")
    fields = {**_gate_fields("input", _blocks("weight_input", a["weight_input"], h, 0)),
              **_gate_fields("recurrent", _blocks("weight_recurrent", a["weight_recurrent"], h,
                                                  0)),
              **_gate_fields("bias", _blocks("bias", a["bias"], h, 0))}
    return EgruWeights(**fields, bias_candidate_recurrent=a["bias_candidate_recurrent"],
                       c_threshold=a["c_threshold"], **_readout(entries))


def _from_evnn(entries: Mapping[str, Any]) -> EgruWeights:
    a = _require(entries, ["kernel", "recurrent_kernel", "bias", "recurrent_bias", "thr"])
    h = _n_units(a["thr"], "thr")
    w_z, w_r, w_g = _blocks("kernel", a["kernel"], h, 1)
    r_z, r_r, r_g = _blocks("recurrent_kernel", a["recurrent_kernel"], h, 1)
    b_z, b_r, b_g = _blocks("bias", a["bias"], h, 0)
    rb_z, rb_r, rb_g = _blocks("recurrent_bias", a["recurrent_bias"], h, 0)
    # EvNN's z keeps the cell; our update gate u = 1 - z = sigmoid(-a_z) weights the candidate.
    return EgruWeights(-w_z, w_r, w_g, -r_z, r_r, r_g, -(b_z + rb_z), b_r + rb_r, b_g, rb_g,
                       np.clip(a["thr"], 0.0, 1.0))


# The key that identifies each layout -> its reader.
LAYOUTS: dict[str, Callable[[Mapping[str, Any]], EgruWeights]] = {
    "weight_input": _from_neurocc,
    "kernel": _from_evnn,
}


# -- .npz ----------------------------------------------------------------------------------------
def _narrowest(array: np.ndarray) -> np.ndarray:
    narrow = array.astype(np.float32)
    return narrow if np.array_equal(narrow.astype(np.float64), array) else array


def _write_member(archive: zipfile.ZipFile, name: str, array: np.ndarray) -> None:
    info = zipfile.ZipInfo(f"{name}.npy", date_time=FIXED_ZIP_TIME)
    info.compress_type = zipfile.ZIP_DEFLATED
    buffer = io.BytesIO()
    np.lib.format.write_array(buffer, array, allow_pickle=False)
    archive.writestr(info, buffer.getvalue())

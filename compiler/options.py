"""Typed options: one frozen dataclass per family or pass, checked and documented in one place.

A field's type is ``bool``, ``int``, ``float``, ``str``, a ``Literal`` of
strings (choices), or ``numpy.ndarray`` (an array argument; the CLI reads it
from the ``spikes`` array of an ``.npz`` file). ``field(metadata={"help":
...})`` documents it; the help appears in ``--help``, ``neurocc passes`` and
``docs/support.md``. :func:`build_options` accepts Python values (the API) or
strings (the CLI, ``--pass NAME:key=value``) and refuses unknown names and
wrong types with an error naming the option and what it accepts. An array
option given as text or a path is read from that ``.npz`` file's ``spikes``
array (:func:`read_spikes_file`), so ``--pass reset.convert:data=calib.npz`` works.
"""

from __future__ import annotations

import dataclasses
import os
import typing
import zipfile
from collections.abc import Mapping
from typing import Any

import numpy as np

from neurocc.compiler.errors import NeuroccError, SimulationError

TRUE_WORDS, FALSE_WORDS = ("true", "yes", "1", "on"), ("false", "no", "0", "off")


@dataclasses.dataclass(frozen=True)
class OptionInfo:
    """One option as the CLI and the docs show it."""

    name: str
    kind: str  # bool, int, float, str, choice, array
    default: Any
    help: str
    choices: tuple[str, ...] = ()

    @property
    def flag(self) -> str:
        return "--" + self.name.replace("_", "-")

    def describe(self) -> str:
        kind = "|".join(self.choices) if self.choices else self.kind
        default = "none" if self.default is None else self.default
        return f"{self.name} ({kind}, default {default}): {self.help}"


def _kind(annotation: Any) -> tuple[str, tuple[str, ...]]:
    args = [a for a in typing.get_args(annotation) if a is not type(None)]
    origin = typing.get_origin(annotation)
    if origin is typing.Literal:
        return "choice", tuple(str(a) for a in typing.get_args(annotation))
    if args and origin is not typing.Literal and len(args) == 1:
        return _kind(args[0])
    if annotation is np.ndarray:
        return "array", ()
    for kind in (bool, int, float, str):
        if annotation is kind:
            return kind.__name__, ()
    raise TypeError(f"option type {annotation!r} is not supported")


def describe_options(options_type: type) -> list[OptionInfo]:
    """The fields of an options dataclass as :class:`OptionInfo` records, in order."""
    hints = typing.get_type_hints(options_type)
    found = []
    for item in dataclasses.fields(options_type):
        kind, choices = _kind(hints[item.name])
        default = None if item.default is dataclasses.MISSING else item.default
        found.append(OptionInfo(item.name, kind, default, item.metadata.get("help", ""), choices))
    return found


def read_spikes_file(path: str | os.PathLike[str]) -> np.ndarray:
    """The ``spikes`` array of an ``.npz`` file, or a clear error."""
    try:  # our own handle: np.load leaves its file open when the archive is damaged
        with open(path, "rb") as handle, np.load(handle, allow_pickle=False) as data:
            if "spikes" not in data.files:
                raise SimulationError(str(path), f"has no array 'spikes' (found {data.files}).",
                                      "Save the input as np.savez(path, spikes=array).")
            return data["spikes"]
    except (OSError, ValueError, zipfile.BadZipFile) as exc:
        raise SimulationError(str(path), f"cannot be read as an .npz file ({exc}).",
                              "Give an .npz file with an array 'spikes' (batch, T, n_in).") from exc


def _bad(owner: str, info: OptionInfo, value: Any) -> NeuroccError:
    expected = f"one of {list(info.choices)}" if info.choices else f"a {info.kind}"
    return NeuroccError(f"{owner}: option '{info.name}'", f"is {value!r}; expected {expected}.",
                        f"Option help: {info.help}")


def _coerce(owner: str, info: OptionInfo, value: Any) -> Any:
    if value is None:
        return None
    if info.kind == "array":
        if isinstance(value, str | os.PathLike):
            return read_spikes_file(value)
        return np.asarray(value)
    if isinstance(value, str) and info.kind in ("bool", "int", "float"):
        return _parse_text(owner, info, value)
    if info.kind == "choice":
        if value not in info.choices:
            raise _bad(owner, info, value)
        return value
    expected = {"bool": (bool,), "int": (int,), "float": (int, float), "str": (str,)}[info.kind]
    if not isinstance(value, expected) or (info.kind != "bool" and isinstance(value, bool)):
        raise _bad(owner, info, value)
    if info.kind == "float" and isinstance(value, int | float):
        return float(value)
    return value


def _parse_text(owner: str, info: OptionInfo, text: str) -> Any:
    if info.kind == "bool":
        if text.lower() in TRUE_WORDS + FALSE_WORDS:
            return text.lower() in TRUE_WORDS
        raise _bad(owner, info, text)
    try:
        return int(text) if info.kind == "int" else float(text)
    except ValueError as exc:
        raise _bad(owner, info, text) from exc


def build_options(options_type: type, values: Mapping[str, Any], owner: str) -> Any:
    """An instance of ``options_type`` from ``values``; ``owner`` names it in errors."""
    infos = {info.name: info for info in describe_options(options_type)}
    unknown = sorted(set(values) - set(infos))
    if unknown:
        raise NeuroccError(f"{owner}: option '{unknown[0]}'", "is not an option here.",
                           f"Options: {', '.join(infos) or 'none'}.")
    return options_type(**{name: _coerce(owner, infos[name], value)
                            for name, value in values.items()})


def options_record(options: Any) -> dict[str, Any]:
    """The options as JSON-able values for the history (arrays by shape and dtype). A field
    whose metadata says ``"record": False`` (how the compile is shown, such as a progress
    bar, not what it computes) is left out, so it cannot change the artifact's bytes."""
    record = {}
    for item in dataclasses.fields(options):
        if not item.metadata.get("record", True):
            continue
        value = getattr(options, item.name)
        if isinstance(value, np.ndarray):
            value = {"array_shape": list(value.shape), "dtype": str(value.dtype)}
        record[item.name] = value
    return record

"""Quantities with units in a network spec: ``20 ms``, ``1e-3 s``, ``-65 mV``, ``0.5``.

A small table, not a units library: the graph knows two physical dimensions.
Times are in seconds in the graph and must carry a unit in the spec.
Voltages (and weights and biases, which add to the membrane) are in the
model's own units: a bare number is taken as it is; a voltage with a unit is
converted to the spec's ``voltage_unit`` (``mV`` makes ``-65 mV`` -> -65.0 and
``0.01 V`` -> 10.0), and is refused when the spec names none. Plain numbers
(``r``, ``w_in``, probabilities) take no unit.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

TIME, VOLTAGE, NUMBER = "time", "voltage", "number"
UNITS: dict[str, tuple[str, float]] = {  # symbol -> (dimension, value in the SI unit)
    "s": (TIME, 1.0), "ms": (TIME, 1e-3), "us": (TIME, 1e-6), "µs": (TIME, 1e-6),
    "ns": (TIME, 1e-9),
    "V": (VOLTAGE, 1.0), "mV": (VOLTAGE, 1e-3), "uV": (VOLTAGE, 1e-6), "µV": (VOLTAGE, 1e-6),
}
QUANTITY = re.compile(r"^\s*([-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)\s*([A-Za-zµ]+)?\s*$")


class UnitError(ValueError):
    """A value that is not a quantity of the expected dimension (the caller adds the line)."""

    def __init__(self, what: str, hint: str) -> None:
        super().__init__(what)
        self.what, self.hint = what, hint


@dataclass(frozen=True)
class Quantity:
    """A parsed value: its number and unit symbol (``""`` for a bare number)."""

    number: float
    unit: str


def parse(value: object) -> Quantity:
    """``20 ms`` -> Quantity(20.0, "ms"); a YAML number -> Quantity(number, "")."""
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise UnitError(f"is {value!r}, not a number or a quantity like '20 ms'.",
                        "Write a number, or a number and a unit.")
    if not isinstance(value, str):
        return Quantity(float(value), "")
    match = QUANTITY.match(value)
    if match is None:
        raise UnitError(f"is {value!r}, not a number with an optional unit.",
                        "Write it as '20 ms', '-65 mV' or '0.5'.")
    unit = match.group(2) or ""
    if unit and unit not in UNITS:
        raise UnitError(f"has the unknown unit '{unit}'.",
                        f"Known units: {', '.join(UNITS)}.")
    return Quantity(float(match.group(1)), unit)


def to_seconds(value: object) -> float:
    """A time in seconds; a bare number or a voltage is an error."""
    quantity = parse(value)
    if not quantity.unit:
        raise UnitError(f"is {value!r}, a number without a unit, where a time is expected.",
                        "Times carry their unit: for example '20 ms' or '1e-3 s'.")
    return _finite(quantity.number * _scale(quantity, TIME), value)


def to_model_voltage(value: object, voltage_unit: str | None) -> float:
    """A voltage in model units: a bare number as is, a voltage converted to
    ``voltage_unit`` (an error when it is None)."""
    quantity = parse(value)
    if not quantity.unit:
        return _finite(quantity.number, value)
    scale = _scale(quantity, VOLTAGE)
    if voltage_unit is None:
        raise UnitError(f"is {value!r}, a voltage with a unit, but the spec names no "
                        "voltage_unit.", "Write a bare number in model units, or add "
                        "'voltage_unit: mV' at the top of the spec.")
    return _finite(quantity.number * scale / UNITS[voltage_unit][1], value)


def to_number(value: object) -> float:
    """A plain number: any unit is an error."""
    quantity = parse(value)
    if quantity.unit:
        raise UnitError(f"is {value!r}, but this value takes no unit.",
                        "Write a bare number.")
    return _finite(quantity.number, value)


def _scale(quantity: Quantity, dimension: str) -> float:
    found, scale = UNITS[quantity.unit]
    if found != dimension:
        raise UnitError(f"is a {found} ('{quantity.number:g} {quantity.unit}') where a "
                        f"{dimension} is expected.", _example(dimension))
    return scale


def _example(dimension: str) -> str:
    return {TIME: "Write a time, for example '20 ms'.",
            VOLTAGE: "Write a voltage: a bare number in model units, or for example '-65 mV' "
                     "with a voltage_unit."}.get(dimension, "Write a bare number.")


def _finite(number: float, value: object) -> float:
    if not math.isfinite(number):
        raise UnitError(f"is {value!r}, which is not finite.", "Write a finite number.")
    return number


def convert(value: object, dimension: str, voltage_unit: str | None) -> float:
    """``value`` as a float of ``dimension`` (seconds, model voltage, or plain number)."""
    if dimension == TIME:
        return to_seconds(value)
    if dimension == VOLTAGE:
        return to_model_voltage(value, voltage_unit)
    return to_number(value)

"""Typed options: values and CLI text are checked against the dataclass, errors name the option."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import pytest

from neurocc.compiler.errors import NeuroccError
from neurocc.compiler.options import build_options, describe_options, options_record


@dataclass(frozen=True)
class Example:
    mode: Literal["a", "b"] = field(default="a", metadata={"help": "the mode"})
    count: int = field(default=3, metadata={"help": "how many"})
    scale: float | None = None
    flag: bool = False
    data: np.ndarray | None = None


def test_describe_reads_kinds_choices_defaults_and_help() -> None:
    infos = {i.name: i for i in describe_options(Example)}
    assert infos["mode"].choices == ("a", "b") and infos["mode"].help == "the mode"
    assert [infos[n].kind for n in ("count", "scale", "flag", "data")] == [
        "int", "float", "bool", "array"]
    assert infos["count"].default == 3 and infos["count"].flag == "--count"


def test_text_values_are_parsed_by_type() -> None:
    built = build_options(Example, {"mode": "b", "count": "7", "scale": "0.5", "flag": "yes"},
                          "test")
    assert (built.mode, built.count, built.scale, built.flag) == ("b", 7, 0.5, True)
    assert build_options(Example, {"scale": 2}, "test").scale == 2.0


@pytest.mark.parametrize("values, message", [
    ({"colour": "red"}, "option 'colour'.*not an option.*Options: mode, count"),
    ({"mode": "c"}, "option 'mode'.*'c'.*one of \\['a', 'b'\\]"),
    ({"count": "seven"}, "option 'count'.*'seven'.*a int"),
    ({"count": 2.5}, "option 'count'.*2.5"),
    ({"flag": "maybe"}, "option 'flag'.*'maybe'"),
    ({"count": True}, "option 'count'.*True"),
])
def test_bad_options_name_the_option_and_what_it_takes(values, message) -> None:
    with pytest.raises(NeuroccError, match=message):
        build_options(Example, values, "test")


def test_record_is_json_able_and_shows_arrays_by_shape() -> None:
    built = build_options(Example, {"data": np.zeros((2, 3), np.uint8)}, "test")
    assert options_record(built)["data"] == {"array_shape": [2, 3], "dtype": "uint8"}

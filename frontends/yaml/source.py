"""Read a spec file into a tree of values that remember their line (for error messages).

``yaml.compose`` (the safe loader's node graph, before construction) gives
every node its position; scalars are then built by the safe constructor, so
the values are those ``yaml.safe_load`` would give. Two things safe_load hides
are refused here: a repeated key in one mapping (safe_load keeps the last one
silently) and tabs in indentation (YAML forbids them; PyYAML's own message does
not say so).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from neurocc.compiler.errors import FrontendError

MAX_SPEC_BYTES = 16 * 2**20  # a spec is written by hand; arrays belong in .npz files


@dataclass(frozen=True, eq=False)
class Node:
    """One value of the spec with its 1-based line. ``value`` is a scalar (str, int, float,
    bool, None), a ``dict[str, Node]`` or a ``list[Node]``; a mapping keeps the line of each
    key in ``key_lines``."""

    value: Any
    line: int
    key_lines: dict[str, int]

    @property
    def is_mapping(self) -> bool:
        return isinstance(self.value, dict)

    @property
    def is_list(self) -> bool:
        return isinstance(self.value, list)

    def items(self) -> Iterator[tuple[str, Node]]:
        yield from self.value.items()


@dataclass(frozen=True)
class SpecText:
    """The file as read: its label for messages, text, hash and directory."""

    label: str
    text: str
    sha256: str
    directory: Path


def located(label: str, line: int, key: str | None = None) -> str:
    """``"net.yaml line 12: key 'tau'"``: the ``where`` of every error about the spec."""
    return f"{label} line {line}" + (f": key '{key}'" if key is not None else "")


def read_text(path: Path) -> SpecText:
    label = path.name
    try:
        size = path.stat().st_size
        if size > MAX_SPEC_BYTES:
            raise FrontendError(label, f"is {size:,} bytes, more than the limit of "
                                f"{MAX_SPEC_BYTES:,} for a network spec.", "Keep weight "
                                "arrays in .npz files (connect: {rule: from_npz}).")
        raw = path.read_bytes()
    except OSError as exc:
        raise FrontendError(str(path), f"cannot be read ({exc.strerror or exc}).",
                            "Check the path.") from exc
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise FrontendError(label, f"is not UTF-8 text (byte {exc.start}).",
                            "Save the spec as UTF-8.") from exc
    return SpecText(label, text, hashlib.sha256(raw).hexdigest(), path.resolve().parent)


def _check_tabs(spec: SpecText) -> None:
    for number, line in enumerate(spec.text.splitlines(), start=1):
        indent = line[:len(line) - len(line.lstrip(" \t"))]
        if "\t" in indent:
            raise FrontendError(located(spec.label, number), "indents with a tab character; "
                                "YAML forbids tabs in indentation.",
                                "Indent with spaces (set your editor to insert spaces).")


def parse(spec: SpecText) -> Node:
    """The spec's tree (see :class:`Node`), or a FrontendError naming the line."""
    _check_tabs(spec)
    loader = yaml.SafeLoader(spec.text)
    try:
        root = loader.get_single_node()
        if root is None:
            raise FrontendError(spec.label, "is empty.", "Start with 'kind: network'.")
        return _convert(loader, root, spec.label)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = located(spec.label, mark.line + 1) if mark is not None else spec.label
        problem = getattr(exc, "problem", None) or str(exc)
        raise FrontendError(where, f"is not valid YAML: {problem}.",
                            "Check the indentation and the ':' after each key.") from exc
    finally:
        loader.dispose()


def _convert(loader: yaml.SafeLoader, node: yaml.Node, label: str) -> Node:
    line = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        return _mapping(loader, node, label)
    if isinstance(node, yaml.SequenceNode):
        return Node([_convert(loader, item, label) for item in node.value], line, {})
    return Node(loader.construct_object(node, deep=True), line, {})


def _mapping(loader: yaml.SafeLoader, node: yaml.MappingNode, label: str) -> Node:
    values: dict[str, Node] = {}
    lines: dict[str, int] = {}
    for key_node, value_node in node.value:
        key_line = key_node.start_mark.line + 1
        key = loader.construct_object(key_node, deep=True) \
            if isinstance(key_node, yaml.ScalarNode) else None
        if not isinstance(key, str):
            raise FrontendError(located(label, key_line), f"has the key {key!r}, not a name.",
                                "Keys are names such as 'tau' or 'populations'.")
        if key in values:
            raise FrontendError(located(label, key_line, key), f"appears twice in one mapping "
                                f"(first at line {lines[key]}).", "Keep one of them.")
        values[key], lines[key] = _convert(loader, value_node, label), key_line
    return Node(values, node.start_mark.line + 1, lines)

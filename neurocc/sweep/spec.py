"""The sweep file (``kind: sweep``): which models, targets, pipelines, bit widths and device
seeds to combine, and the labelled input set every combination is judged on.

Example (paths are relative to the sweep file)::

    kind: sweep
    models: [../digits/digits_lif.nir]      # or {path: ..., name: ..., frontend: ...}
    targets: [reference, loihi2, spinnaker2]
    pipelines:                               # each a list of passes; default: [[]]
      - []
      - [prune.magnitude:fraction=0.5]
    weight_bits: [null, 6, 4]                # null: the target file's own width
    device_seeds: [0, 1, 2]                  # families whose engine draws device randomness
    input: {path: ../digits/digits_test.npz, spikes: spikes, labels: labels, samples: 100}

Every combination is one task (:mod:`neurocc.sweep.task`). Axes a target cannot vary
(bit widths on a family without a weight-width key, seeds on a deterministic engine)
collapse to one task with the value recorded as empty, so no two tasks do the same work.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from neurocc.compiler.errors import NeuroccError
from neurocc.frontends import FRONTENDS
from neurocc.frontends.yaml.source import Node, located, parse, read_text

SWEEP_KIND = "sweep"
TOP_KEYS = ("kind", "name", "description", "models", "targets", "pipelines", "weight_bits",
            "device_seeds", "input", "align")
INPUT_KEYS = ("path", "spikes", "labels", "samples")
MODEL_KEYS = ("path", "name", "frontend")


class SweepError(NeuroccError):
    """A sweep file that cannot be run as written."""


@dataclass(frozen=True)
class ModelEntry:
    name: str
    path: Path
    frontend: str | None


@dataclass(frozen=True)
class InputEntry:
    path: Path
    spikes_key: str
    labels_key: str
    samples: int | None


@dataclass(frozen=True)
class SweepSpec:
    """A validated sweep file."""

    label: str
    name: str
    models: tuple[ModelEntry, ...]
    targets: tuple[str, ...]
    pipelines: tuple[tuple[str, ...], ...]
    weight_bits: tuple[int | None, ...]
    device_seeds: tuple[int | None, ...]
    data: InputEntry
    align: bool


def read_sweep(path: str | Path) -> SweepSpec:
    """The sweep file at ``path``, validated; errors name the line and key."""
    text = read_text(Path(path))
    if not text.text.strip():
        raise SweepError(text.label, "is empty.", "Start with 'kind: sweep'.")
    root = parse(text)
    top = _mapping(root, text.label, "the sweep file", TOP_KEYS)
    _check_kind(top, root, text.label)
    base = text.directory
    return SweepSpec(
        label=text.label,
        name=str(_scalar(top, "name", text.label, str, Path(path).stem)),
        models=tuple(_model(node, text.label, base) for node in
                     _items(top, "models", text.label, required=True)),
        targets=tuple(_target(node, text.label, base) for node in
                      _items(top, "targets", text.label, required=True)),
        pipelines=_pipelines(top, text.label),
        weight_bits=_ints(top, "weight_bits", text.label, minimum=1),
        device_seeds=_ints(top, "device_seeds", text.label, minimum=0),
        data=_input(top, root, text.label, base),
        align=bool(_scalar(top, "align", text.label, bool, True)),
    )


def _mapping(node: Node, label: str, what: str, allowed: tuple[str, ...]) -> dict[str, Node]:
    if not node.is_mapping:
        raise SweepError(located(label, node.line), f"{what} must be a mapping of keys to "
                         f"values, got {node.value!r}.", f"Keys: {', '.join(allowed)}.")
    for key in node.value:
        if key not in allowed:
            raise SweepError(located(label, node.key_lines.get(key, node.line), key),
                             f"is not a key of {what}.", f"Known keys: {', '.join(allowed)}.")
    return dict(node.value)


def _check_kind(top: dict[str, Node], root: Node, label: str) -> None:
    kind = top.get("kind")
    if kind is None or kind.value != SWEEP_KIND:
        found = "no 'kind'" if kind is None else f"kind {kind.value!r}"
        raise SweepError(located(label, root.line if kind is None else kind.line),
                         f"has {found}; a sweep file starts with 'kind: {SWEEP_KIND}'.",
                         "Add 'kind: sweep' at the top (a network spec is 'kind: network').")


def _scalar(top: dict[str, Node], key: str, label: str, kind: type, default: Any) -> Any:
    node = top.get(key)
    if node is None:
        return default
    if not isinstance(node.value, kind) or (kind is int and isinstance(node.value, bool)):
        raise SweepError(located(label, node.line, key), f"is {node.value!r}, expected a "
                         f"{kind.__name__}.", f"Write '{key}: <{kind.__name__}>'.")
    return node.value


def _items(top: dict[str, Node], key: str, label: str, required: bool = False) -> list[Node]:
    node = top.get(key)
    if node is None:
        if required:
            raise SweepError(label, f"has no '{key}' list.", f"Add '{key}: [...]'.")
        return []
    if not node.is_list or not node.value:
        raise SweepError(located(label, node.line, key), "must be a non-empty list.",
                         f"Write '{key}: [a, b]' or one '- item' per line.")
    return list(node.value)


def _path_entry(node: Node, label: str, what: str, allowed: tuple[str, ...], base: Path,
                missing: SweepError, files_only: bool) -> tuple[dict[str, Node], Path]:
    """An entry given as a path or as a mapping with a ``path`` (relative to the sweep file):
    its fields and the resolved path, which must exist (be a file, with ``files_only``)."""
    fields = ({"path": node} if isinstance(node.value, str)
              else _mapping(node, label, what, allowed))
    path_node = fields.get("path")
    if path_node is None or not isinstance(path_node.value, str):
        raise missing
    path = (base / path_node.value).resolve()
    if not (path.is_file() if files_only else path.exists()):
        found = "is not a file" if files_only else "does not exist"
        raise SweepError(located(label, path_node.line, "path"), f"'{path_node.value}' "
                         f"{found} (looked at {path}).", "Paths are relative to the sweep file.")
    return fields, path


def _model(node: Node, label: str, base: Path) -> ModelEntry:
    missing = SweepError(located(label, node.line, "path"), "a model needs a file path.",
                         "Write '- path/to/model.nir' or '- {path: ..., name: ...}'.")
    fields, path = _path_entry(node, label, "a model entry", MODEL_KEYS, base, missing,
                               files_only=False)
    frontend = fields["frontend"].value if "frontend" in fields else None
    if frontend is not None and frontend not in FRONTENDS:
        raise SweepError(located(label, fields["frontend"].line, "frontend"),
                         f"'{frontend}' is not a frontend.",
                         f"Known frontends: {', '.join(sorted(FRONTENDS))}.")
    name = fields["name"].value if "name" in fields else path.stem
    return ModelEntry(str(name), path, frontend)


def _target(node: Node, label: str, base: Path) -> str:
    from neurocc.backends import resolve_target

    if not isinstance(node.value, str):
        raise SweepError(located(label, node.line, "targets"), f"entry {node.value!r} is not "
                         "a target name or file.", "See `neurocc targets`.")
    value = node.value
    if value.endswith((".yaml", ".yml")):
        value = str((base / value).resolve())
    try:
        resolve_target(value)
    except NeuroccError as exc:
        raise SweepError(located(label, node.line, "targets"), exc.what, exc.hint) from exc
    return value


def _pipelines(top: dict[str, Node], label: str) -> tuple[tuple[str, ...], ...]:
    from neurocc.compiler.passes import get_pass, parse_pass_spec

    found = []
    for node in _items(top, "pipelines", label) or [Node([], 0, {})]:
        if not node.is_list or not all(isinstance(p.value, str) for p in node.value):
            raise SweepError(located(label, node.line, "pipelines"), "each pipeline must be a "
                             "list of pass specs.", "Write '- [prune.magnitude:fraction=0.5]' "
                             "or '- []' for no passes.")
        for step in node.value:
            try:
                get_pass(parse_pass_spec(step.value)[0])
            except NeuroccError as exc:
                raise SweepError(located(label, step.line, "pipelines"),
                                 f"{exc.where}: {exc.what}", exc.hint) from exc
        found.append(tuple(step.value for step in node.value))
    return tuple(found)


def _ints(top: dict[str, Node], key: str, label: str, minimum: int) -> tuple[int | None, ...]:
    values: list[int | None] = []
    for node in _items(top, key, label) or [Node(None, 0, {})]:
        value = node.value
        if value is not None and (not isinstance(value, int) or isinstance(value, bool)
                                  or value < minimum):
            raise SweepError(located(label, node.line, key), f"entry {value!r} is not an "
                             f"integer >= {minimum}.", "Use null for the target's own value.")
        values.append(value)
    return tuple(values)


def _input(top: dict[str, Node], root: Node, label: str, base: Path) -> InputEntry:
    node = top.get("input")
    if node is None:
        raise SweepError(located(label, root.line), "has no 'input'.",
                         "Add 'input: {path: test.npz, spikes: spikes, labels: labels}'.")
    missing = SweepError(located(label, node.line, "input"), "needs a 'path' to an .npz file.",
                         "Write 'input: {path: test.npz}'.")
    fields, path = _path_entry(node, label, "the input", INPUT_KEYS, base, missing,
                               files_only=True)
    samples = fields["samples"].value if "samples" in fields else None
    if samples is not None and (not isinstance(samples, int) or samples < 1):
        raise SweepError(located(label, fields["samples"].line, "samples"), f"is {samples!r}.",
                         "Give a positive number of samples, or leave it out for all.")
    return InputEntry(path, str(fields["spikes"].value) if "spikes" in fields else "spikes",
                      str(fields["labels"].value) if "labels" in fields else "labels", samples)

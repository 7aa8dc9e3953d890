"""Pipeline files: a list of passes with options, checked before anything runs.

A pipeline file is YAML::

    target: loihi2            # optional: the target (or family) the pipeline is meant for
    passes:
      - prune.schedule: {fraction: 0.5, steps: 3, data: calib.npz}
      - reset.convert:
          data: calib.npz
      - prune:method=magnitude,sparsity=0.2   # the --pass spelling also works

Each item is a ``NAME: {options}`` mapping with one key or a ``--pass``
string. A top-level list is read as ``passes``. Relative file paths in
options (``data: calib.npz``) are read relative to the pipeline file. Every
pass name and option is checked when the file is loaded; an error names the
file, the line and the key.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from neurocc.compiler.errors import NeuroccError
from neurocc.compiler.options import build_options, describe_options
from neurocc.compiler.passes import ALIASES, get_pass, load_builtin_passes, parse_pass_spec

TOP_KEYS = ("target", "passes")
FORMAT_HINT = ("Write `passes:` as a list of `- NAME: {key: value}` items or `- NAME:key=value` "
               "strings (see `neurocc passes`).")


def _where(path: Path, node: yaml.Node, what: str) -> str:
    return f"{path} line {node.start_mark.line + 1}: {what}"


def _plain(node: yaml.Node) -> Any:
    """The Python value of a composed node (as ``yaml.safe_load`` would give it)."""
    return yaml.SafeLoader("").construct_object(node, deep=True)


def _resolve_paths(name: str, options: dict[str, Any], base: Path) -> dict[str, Any]:
    """Array options given as relative paths, relative to the pipeline file's folder."""
    arrays = {i.name for i in describe_options(get_pass(name).options) if i.kind == "array"}
    return {k: str(base / v) if k in arrays and isinstance(v, str) and not Path(v).is_absolute()
            else v for k, v in options.items()}


def _step(path: Path, node: yaml.Node, index: int) -> tuple[str, dict[str, Any]]:
    where = _where(path, node, f"passes[{index}]")
    if isinstance(node, yaml.ScalarNode):
        name, options = parse_pass_spec(str(_plain(node)))
        options_node: yaml.Node = node
    elif isinstance(node, yaml.MappingNode) and len(node.value) == 1:
        key_node, options_node = node.value[0]
        name = str(_plain(key_node))
        raw = _plain(options_node)
        if raw is None:
            raw = {}
        if not isinstance(raw, Mapping):
            raise NeuroccError(_where(path, options_node, f"pass '{name}'"), "has options "
                               f"{raw!r}; expected a mapping of option: value.", FORMAT_HINT)
        options = {str(k): v for k, v in raw.items()}
    else:
        raise NeuroccError(where, "is neither a one-key mapping NAME: {options} nor a string.",
                           FORMAT_HINT)
    if name in ALIASES:
        name, options = ALIASES[name](options)
    try:
        spec = get_pass(name)
        options = _resolve_paths(name, options, path.parent)
        chosen = build_options(spec.options, options, f"pass '{name}'")
    except NeuroccError as exc:
        raise NeuroccError(_where(path, options_node, exc.where), exc.what, exc.hint) from exc
    return name, {f.name: getattr(chosen, f.name) for f in dataclasses.fields(chosen)
                  if f.name in options}


def load_pipeline(path: str | Path, target: str | None = None,
                  family: str | None = None) -> list[tuple[str, dict[str, Any]]]:
    """The checked steps of a pipeline file, as (pass name, options) pairs.

    With ``target`` (and its ``family``), a file whose ``target`` key names
    neither is refused.
    """
    path = Path(path)
    load_builtin_passes()
    if not path.is_file():
        raise NeuroccError(str(path), "pipeline file does not exist.",
                           "Give the path of a pipeline .yaml file.")
    try:
        root = yaml.compose(path.read_text())
    except (OSError, yaml.YAMLError) as exc:
        raise NeuroccError(str(path), f"cannot be read as YAML ({exc}).", FORMAT_HINT) from exc
    if root is None:
        raise NeuroccError(str(path), "is empty.", FORMAT_HINT)
    steps_node: yaml.Node | None = root
    if isinstance(root, yaml.MappingNode):
        keys = {str(_plain(k)): (k, v) for k, v in root.value}
        unknown = [k for k in keys if k not in TOP_KEYS]
        if unknown:
            raise NeuroccError(_where(path, keys[unknown[0]][0], f"key '{unknown[0]}'"),
                               "is not a pipeline key.", f"Keys: {', '.join(TOP_KEYS)}.")
        if "target" in keys:
            wanted = _plain(keys["target"][1])
            if target is not None and wanted not in (target, family):
                raise NeuroccError(_where(path, keys["target"][1], "key 'target'"),
                                   f"is {wanted!r}, but the compile target is '{target}' "
                                   f"(family '{family}').",
                                   "Use the pipeline written for this target, or change its "
                                   "'target'.")
        steps_node = keys.get("passes", (None, None))[1]
    if not isinstance(steps_node, yaml.SequenceNode):
        node = steps_node if steps_node is not None else root
        raise NeuroccError(_where(path, node, "passes"), "is missing or not a list.",
                           FORMAT_HINT)
    return [_step(path, node, i) for i, node in enumerate(steps_node.value)]

"""Compiler passes: small pure functions on the graph, registered by name, run in order.

A pass is ``function(graph, options) -> (graph, effect)``: it never changes its
input, returns a new graph (verified on construction) and a JSON-able dict of
what it measurably did. :func:`run_pass` records the pass in the graph's
history with its options, its effect, and the facts it provides; a pass runs
only when every fact it requires was provided by an earlier pass (or by the
caller). Options are a frozen dataclass per pass (``compiler.options``), so
``neurocc compile ... --pass NAME:key=value`` and the API check them the same
way. Register a pass with :func:`register_pass` in a module listed in
:data:`BUILTIN_PASS_MODULES`; ``neurocc passes`` lists them.

Target facts: passes never import backends. The caller (``compile_graph``)
hands :func:`run_pass` the target's facts as ``{key: value}`` (the target
file's entries, e.g. ``delay_max_steps``); an option field whose metadata
names a fact (``field(metadata={"target_fact": "delay_max_steps"})``) takes
that value when the user does not give the option, and the history record
lists which options came from the target (``from_target``).
"""

from __future__ import annotations

import dataclasses
import importlib
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from neurocc.compiler.errors import NeuroccError
from neurocc.compiler.graph import Graph
from neurocc.compiler.options import build_options, describe_options, options_record

PassFunction = Callable[[Graph, Any], tuple[Graph, dict[str, Any]]]
BUILTIN_PASS_MODULES = ("neurocc.compiler.passes.prune", "neurocc.compiler.passes.structured",
                        "neurocc.compiler.passes.schedule", "neurocc.compiler.passes.reset",
                        "neurocc.compiler.passes.delays")
TARGET_FACT = "target_fact"  # option metadata key: the target fact that gives its default
SPEC_HELP = "Write a pass as NAME or NAME:key=value,key=value (see `neurocc passes`)."


@dataclass(frozen=True)
class Pass:
    """A registered pass: its function, options type, facts required and provided."""

    name: str
    function: PassFunction
    options: type
    description: str
    requires: tuple[str, ...] = ()
    provides: tuple[str, ...] = ()


PASSES: dict[str, Pass] = {}
# A short spelling and how it expands: ``prune:method=magnitude,sparsity=0.8`` is
# ``prune.magnitude:fraction=0.8``. ``expand(options) -> (pass name, options)``.
Expand = Callable[[dict[str, Any]], tuple[str, dict[str, Any]]]
ALIASES: dict[str, Expand] = {}
ALIAS_HELP: dict[str, str] = {}


def register_alias(name: str, expand: Expand, description: str) -> None:
    """Let ``name`` (not itself a pass) stand for the pass ``expand(options)`` chooses."""
    ALIASES[name] = expand
    ALIAS_HELP[name] = description


def register_pass(name: str, options: type, description: str, requires: Iterable[str] = (),
                  provides: Iterable[str] = ()) -> Callable[[PassFunction], PassFunction]:
    """Decorator: register ``function(graph, options) -> (graph, effect)`` under ``name``."""

    def decorate(function: PassFunction) -> PassFunction:
        describe_options(options)  # an unsupported option type fails at import, not at use
        PASSES[name] = Pass(name, function, options, description, tuple(requires),
                            tuple(provides))
        return function

    return decorate


def load_builtin_passes() -> dict[str, Pass]:
    """Import the modules that register the built-in passes; the registry."""
    for module in BUILTIN_PASS_MODULES:
        importlib.import_module(module)
    return PASSES


def get_pass(name: str) -> Pass:
    passes = load_builtin_passes()
    if name not in passes:
        known = sorted(passes) + [f"{a} (short form)" for a in sorted(ALIASES)]
        raise NeuroccError(f"pass '{name}'", "is not a registered pass.",
                           f"Known passes: {', '.join(known) or 'none'}.")
    return passes[name]


def parse_pass_spec(text: str) -> tuple[str, dict[str, str]]:
    """``"NAME:key=value,key=value"`` as (NAME, {key: value}) (values stay text)."""
    name, _, rest = text.partition(":")
    options: dict[str, str] = {}
    for item in filter(None, rest.split(",")):
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise NeuroccError(f"--pass {text}", f"option '{item}' is not key=value.", SPEC_HELP)
        options[key.strip()] = value.strip()
    if not name.strip():
        raise NeuroccError(f"--pass {text}", "names no pass.", SPEC_HELP)
    return name.strip(), options


def provided_facts(graph: Graph) -> set[str]:
    """The facts the passes in ``graph.history`` provided."""
    return {fact for record in graph.history for fact in record.details.get("provides", ())}


def target_defaults(options_type: type, given: Mapping[str, Any],
                    target: Mapping[str, Any] | None) -> dict[str, Any]:
    """The options not in ``given`` whose field names a fact ``target`` has, with its value."""
    found = {}
    for item in dataclasses.fields(options_type):
        fact = item.metadata.get(TARGET_FACT)
        if fact and item.name not in given and target and fact in target:
            found[item.name] = target[fact]
    return found


def run_pass(graph: Graph, name: str, options: Mapping[str, Any] | None = None,
             available: Iterable[str] = (), target: Mapping[str, Any] | None = None) -> Graph:
    """Run one pass with ``options`` (values or text) and record it in the history.

    ``target``: the target's facts, which fill options that name one (see above).
    """
    load_builtin_passes()
    if name in ALIASES:
        name, options = ALIASES[name](dict(options or {}))
    spec = get_pass(name)
    missing = [f for f in spec.requires if f not in provided_facts(graph) | set(available)]
    if missing:
        raise NeuroccError(f"pass '{name}'", f"requires {missing}, which no earlier pass "
                           "provides.", "Run the passes that provide them first.")
    from_target = target_defaults(spec.options, options or {}, target)
    chosen = build_options(spec.options, {**from_target, **(options or {})}, f"pass '{name}'")
    result, effect = spec.function(graph, chosen)
    extra = {"from_target": sorted(from_target)} if from_target else {}
    return result.with_record(name, options=options_record(chosen), effect=effect,
                              provides=list(spec.provides), **extra)


def run_pipeline(graph: Graph, steps: Sequence[str | tuple[str, Mapping[str, Any]]],
                 available: Iterable[str] = (), target: Mapping[str, Any] | None = None
                 ) -> Graph:
    """Run passes in order; a step is a spec string or (name, options)."""
    for step in steps:
        name, options = parse_pass_spec(step) if isinstance(step, str) else step
        graph = run_pass(graph, name, options, available, target)
    return graph

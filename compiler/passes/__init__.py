"""Compiler passes: small pure functions ``Graph -> Graph``, registered by name.

A pass never changes its input graph; it returns a new (verified) graph with
one more record in ``graph.history``. :func:`run_pipeline` runs an explicit
list of pass names, checking that what each pass requires was provided by an
earlier one.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from neurocc.compiler.errors import NeuroccError
from neurocc.compiler.graph import Graph

PassFunction = Callable[..., Graph]


@dataclass(frozen=True)
class Pass:
    """A registered pass: its function and the facts it requires and provides."""

    name: str
    function: PassFunction
    requires: tuple[str, ...] = ()
    provides: tuple[str, ...] = ()


PASSES: dict[str, Pass] = {}


def register_pass(name: str, requires: Iterable[str] = (), provides: Iterable[str] = ()
                  ) -> Callable[[PassFunction], PassFunction]:
    """Decorator: register ``function(graph, **options) -> Graph`` under ``name``."""

    def decorate(function: PassFunction) -> PassFunction:
        PASSES[name] = Pass(name, function, tuple(requires), tuple(provides))
        return function

    return decorate


def run_pipeline(graph: Graph, names: Iterable[str], **options: Any) -> Graph:
    """Run the named passes in order; each receives ``options`` it declares as keywords."""
    provided: set[str] = set()
    for name in names:
        if name not in PASSES:
            raise NeuroccError(f"pass '{name}'", "is not a registered pass.",
                               f"Known passes: {', '.join(sorted(PASSES))}.")
        spec = PASSES[name]
        missing = [fact for fact in spec.requires if fact not in provided]
        if missing:
            raise NeuroccError(f"pass '{name}'", f"requires {missing}, which no earlier pass "
                               "provides.", "Reorder the pipeline.")
        graph = spec.function(graph, **options)
        provided.update(spec.provides)
    return graph

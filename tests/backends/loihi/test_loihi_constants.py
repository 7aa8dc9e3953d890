"""Hardware facts are data: no stray numeric constants in the Loihi backend's code."""

from __future__ import annotations

import ast
from pathlib import Path

import neurocc.backends.loihi as loihi

ALLOWED = {0, 1, -1, 2}


def stray_numbers(source: str) -> list[tuple[int, object]]:
    """Numbers outside {0, 1, -1, 2} that are not the value of a module-level constant."""
    tree = ast.parse(source)
    named: set[int] = set()
    for node in tree.body:
        if isinstance(node, ast.Assign | ast.AnnAssign):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            if all(isinstance(t, ast.Name) and t.id.isupper() for t in targets):
                named |= {id(n) for n in ast.walk(node)}
    found = []
    for node in ast.walk(tree):
        if (isinstance(node, ast.Constant) and isinstance(node.value, int | float)
                and not isinstance(node.value, bool) and id(node) not in named
                and node.value not in ALLOWED and -node.value not in ALLOWED):
            found.append((node.lineno, node.value))
    return found


def test_the_checker_catches_a_stray_number() -> None:
    assert stray_numbers("LIMIT = 4096\nx = LIMIT * 2\n") == []
    assert stray_numbers("def f(v):\n    return v * 4096\n") == [(2, 4096)]
    assert stray_numbers("y = 0.5\n") == [(1, 0.5)]


def test_backend_code_has_no_stray_numeric_constants() -> None:
    files = sorted(Path(loihi.__file__).parent.glob("*.py"))
    assert len(files) >= 6
    offenders = {f.name: stray_numbers(f.read_text()) for f in files}
    assert {k: v for k, v in offenders.items() if v} == {}

"""Hardware facts are data: no stray numeric constants in the Loihi backend's code, and none
but implementation constants in the exact engine (its numbers come from the target)."""

from __future__ import annotations

import ast
from pathlib import Path

import neurocc.backends.loihi as loihi
import neurocc.sim.loihi as engine

ALLOWED = {0, 1, -1, 2}
# The engine's own constants: none is a hardware number (docs/loihi.md, "The exact engine")
ENGINE_CONSTANTS = {
    "CHUNK_ELEMENTS",  # input-window memory per chunk of steps
    "FLOAT32_EXACT", "EVENT_DRIVEN_MAX_DENSITY", "SPARSE_BLOCK_MAX_DENSITY",  # product paths
    "REGISTER_BITS", "INT64_SIGN_SHIFT",  # numpy int32 / int64 representation
    "MIN_NUM_WEIGHT_BITS",  # a weight keeps at least one bit
    "FLOAT64_EXACT",  # the device path's float64 bound (an IEEE fact, like FLOAT32_EXACT)
    "TOUCH_AHEAD", "TOUCH_STRIDE",  # the gather kernel's read-ahead (implementation choice)
}


def _named(tree: ast.Module) -> tuple[set[int], set[str]]:
    """Nodes inside UPPER_CASE assignments (module or class level), and the module names."""
    nodes: set[int] = set()
    names: set[str] = set()
    bodies = [(tree.body, True)] + [(n.body, False) for n in ast.walk(tree)
                                    if isinstance(n, ast.ClassDef)]
    for body, module_level in bodies:
        for node in body:
            if isinstance(node, ast.Assign | ast.AnnAssign):
                targets = node.targets if isinstance(node, ast.Assign) else [node.target]
                if all(isinstance(t, ast.Name) and t.id.isupper() for t in targets):
                    nodes |= {id(n) for n in ast.walk(node)}
                    if module_level and _has_number(node):
                        names |= {t.id for t in targets if isinstance(t, ast.Name)}
    return nodes, names


def _has_number(node: ast.AST) -> bool:
    return any(isinstance(n, ast.Constant) and isinstance(n.value, int | float)
               and not isinstance(n.value, bool) for n in ast.walk(node))


def stray_numbers(source: str) -> list[tuple[int, object]]:
    """Numbers outside {0, 1, -1, 2} that are not the value of a named (UPPER) constant."""
    tree = ast.parse(source)
    named, _ = _named(tree)
    found = []
    for node in ast.walk(tree):
        if (isinstance(node, ast.Constant) and isinstance(node.value, int | float)
                and not isinstance(node.value, bool) and id(node) not in named
                and node.value not in ALLOWED and -node.value not in ALLOWED):
            found.append((node.lineno, node.value))
    return found


def numeric_constants(source: str) -> set[str]:
    """Module-level UPPER_CASE names whose value holds a number."""
    return _named(ast.parse(source))[1]


def test_the_checker_catches_a_stray_number() -> None:
    assert stray_numbers("LIMIT = 4096\nx = LIMIT * 2\n") == []
    assert stray_numbers("def f(v):\n    return v * 4096\n") == [(2, 4096)]
    assert stray_numbers("y = 0.5\n") == [(1, 0.5)]
    assert stray_numbers("class Mode:\n    THREE = 3\n") == []
    assert numeric_constants("UV_BITS = 24\nKEYS = ('a',)\nclass C:\n    X = 5\n") == {"UV_BITS"}


def test_backend_code_has_no_stray_numeric_constants() -> None:
    files = sorted(Path(loihi.__file__).parent.glob("*.py"))
    assert len(files) >= 7
    offenders = {f.name: stray_numbers(f.read_text()) for f in files}
    assert {k: v for k, v in offenders.items() if v} == {}


def test_engine_names_no_hardware_number() -> None:
    """Every hardware number of the exact engine comes from the artifact's target."""
    files = sorted(Path(engine.__file__).parent.glob("*.py"))
    assert len(files) >= 5
    offenders = {f.name: stray_numbers(f.read_text()) for f in files}
    assert {k: v for k, v in offenders.items() if v} == {}
    named = {f.name: numeric_constants(f.read_text()) - ENGINE_CONSTANTS for f in files}
    assert {k: v for k, v in named.items() if v} == {}

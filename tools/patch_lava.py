"""Make lava-nc 0.10.0 importable on Python 3.11 (idempotent).

lava-nc 0.10.0 declares Python <3.11. On 3.11, ``dataclasses`` rejects the
mutable defaults in ``lava/magma/compiler/var_model.py`` (``x: ByteEncoder =
ByteEncoder()``), so ``import lava`` fails. This rewrites those defaults as
``field(default_factory=ByteEncoder)``; nothing else in Lava is touched.
Run with the interpreter of the environment that holds Lava.
"""

from __future__ import annotations

import importlib.util
import re
import sys
from pathlib import Path

_MUTABLE_DEFAULT = re.compile(r"^(\s+\w+: ByteEncoder) = ByteEncoder\(\)$", re.MULTILINE)
_DATACLASS_IMPORT = "from dataclasses import dataclass, InitVar\n"
_FIELD_IMPORT = "from dataclasses import field as _neurocc_field\n"


def patch(path: Path) -> bool:
    """Rewrite the mutable defaults in ``path``; return True when the file changed."""
    text = path.read_text()
    new_text = _MUTABLE_DEFAULT.sub(r"\1 = _neurocc_field(default_factory=ByteEncoder)", text)
    if new_text == text:
        return False
    if _FIELD_IMPORT not in new_text:
        # after Lava's own dataclasses import, which follows `from __future__`
        new_text = new_text.replace(_DATACLASS_IMPORT, _DATACLASS_IMPORT + _FIELD_IMPORT, 1)
    path.write_text(new_text)
    return True


def main() -> int:
    spec = importlib.util.find_spec("lava")
    if spec is None or not spec.submodule_search_locations:
        print("patch_lava: lava is not installed in this environment", file=sys.stderr)
        return 1
    package_dir = Path(next(iter(spec.submodule_search_locations)))
    target = package_dir / "magma" / "compiler" / "var_model.py"
    changed = patch(target)
    print(f"patch_lava: {target} {'patched' if changed else 'already patched'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""A built wheel installs every module under the `neurocc` namespace and nothing else.

An editable install hides a subpackage missing from pyproject's explicit list;
this builds the real wheel and imports every module from it.
"""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SOURCE_DIRS = ("neurocc", "compiler", "frontends", "backends", "sim")

IMPORT_ALL = """
import importlib, pkgutil, sys
import neurocc
assert neurocc.__file__.startswith(sys.argv[1]), neurocc.__file__
names = [m.name for m in pkgutil.walk_packages(neurocc.__path__, "neurocc.")]
for name in names:
    importlib.import_module(name)
print(len(names))
"""


def _source_modules() -> int:
    # walk_packages lists every module but the top package itself
    return sum(1 for d in SOURCE_DIRS for _ in (ROOT / d).rglob("*.py")) - 1


def test_wheel_holds_and_imports_every_module(tmp_path: Path) -> None:
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation",
                    "-q", "-w", str(tmp_path), str(ROOT)], check=True, capture_output=True)
    wheel = next(tmp_path.glob("neurocc-*.whl"))
    tops = {name.split("/")[0] for name in zipfile.ZipFile(wheel).namelist()}
    assert {t for t in tops if not t.endswith(".dist-info")} == {"neurocc"}
    site = tmp_path / "site"
    zipfile.ZipFile(wheel).extractall(site)
    done = subprocess.run([sys.executable, "-c", IMPORT_ALL, str(site)], capture_output=True,
                          text=True, cwd=tmp_path, env={"PYTHONPATH": str(site)})
    assert done.returncode == 0, done.stderr
    assert int(done.stdout.strip()) == _source_modules()

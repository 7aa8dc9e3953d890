"""Run mypy over the installed layout of the package (``neurocc.compiler`` is ``compiler/``).

setuptools maps the top-level folders into one namespace (``package-dir`` in
pyproject.toml), which mypy cannot follow from the source tree. This script
lays the same layout out as symbolic links in a temporary folder and checks
``-p neurocc`` there with the ``[tool.mypy]`` settings of pyproject.toml.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def package_dirs() -> dict[str, Path]:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    mapping = config["tool"]["setuptools"]["package-dir"]
    return {name: ROOT / folder for name, folder in mapping.items()}


def lay_out(into: Path) -> None:
    dirs = package_dirs()
    top = into / "neurocc"
    top.mkdir()
    for item in dirs.pop("neurocc").iterdir():
        if item.suffix in (".py", ".typed"):
            (top / item.name).symlink_to(item)
    for name, folder in dirs.items():
        (into / name.replace(".", "/")).symlink_to(folder, target_is_directory=True)


def main() -> int:
    with tempfile.TemporaryDirectory(prefix="neurocc-typecheck-") as tmp:
        lay_out(Path(tmp))
        command = [sys.executable, "-m", "mypy", "--config-file", str(ROOT / "pyproject.toml"),
                   "-p", "neurocc"]
        return subprocess.call(command, cwd=tmp, env={"MYPYPATH": tmp, "PATH": ""})


if __name__ == "__main__":
    sys.exit(main())

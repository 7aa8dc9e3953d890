"""sPyNNaker's own mapping of an artifact's PyNN export, on a virtual board (no chip).

:func:`spynnaker_mapping` writes the artifact's PyNN script (``pynn_export.py``) into a
working folder with a ``spynnaker.cfg`` that selects a virtual SpiNN-5 board, and runs
``spynnaker_driver.py`` in the separate sPyNNaker environment (``make spynnaker`` builds
``build/spynnaker-venv``: sPyNNaker 1!7.4.1 needs numpy 2, neurocc pins numpy 1.26). The
driver builds the network with the script's own functions and runs one sample, which on a
virtual board maps it with sPyNNaker's default pipeline (splitter partitioner, application
placer, application router, zoned keys, merged tables, then the compressor the cfg names;
the ``PairCompressor`` on a virtual board), and skips loading and running.

Returned (a dict, JSON-able): ``cores`` (the network's placements; sPyNNaker's own
monitor and gatherer cores are ``system_cores``), ``chips`` (with any placement),
``routing_entries_max`` and ``routing_entries_total`` after compression
(``..._uncompressed`` before), ``mapping_s`` (sPyNNaker's ``_do_mapping``) and
``compression_s``, and the driver's full record under ``detail``. The cfg asks for
``router_table_compress_as_far_as_possible = True``, as neurocc's router compresses until
no pair merges; sPyNNaker's default stops once a table fits its router.
"""

from __future__ import annotations

import json
import os
import subprocess
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from neurocc.backends.artifact import Artifact
from neurocc.backends.spinnaker.pynn_export import write_pynn_script
from neurocc.compiler.errors import VerificationError

# the checkout `make spynnaker` ran in (an editable install); elsewhere the working folder
REPO = next((p for p in Path(__file__).resolve().parents if (p / "Makefile").is_file()),
            Path.cwd())
SPYNNAKER_PYTHON = REPO / "build" / "spynnaker-venv" / "bin" / "python"
DRIVER = Path(__file__).with_name("spynnaker_driver.py")
VIRTUAL_BOARD_CFG = """[Machine]
virtual_board = True
version = 5

[Mapping]
router_table_compress_as_far_as_possible = True
"""
SYSTEM_PREFIX = "SYSTEM:"  # sPyNNaker's labels of its own cores (extra monitors, gatherers)


def spynnaker_python() -> Path:
    """The sPyNNaker environment's Python (``NEUROCC_SPYNNAKER_PYTHON`` overrides it)."""
    return Path(os.environ.get("NEUROCC_SPYNNAKER_PYTHON", SPYNNAKER_PYTHON))


def spynnaker_available() -> bool:
    return spynnaker_python().is_file()


def spynnaker_mapping(artifact: Artifact, spikes: np.ndarray | None = None,
                      workdir: str | Path | None = None, timeout_s: float | None = None
                      ) -> dict[str, Any]:
    """Map ``artifact``'s PyNN export with sPyNNaker on a virtual board; see the module doc.

    ``spikes`` (batch, T, n_in): the first sample feeds the spike sources (default: one
    tick in which every input spikes; the mapping does not depend on it). ``workdir``:
    where the script, cfg and sPyNNaker's reports go (default: a temporary folder, removed
    afterwards; sPyNNaker's output goes to ``spynnaker.log`` there). ``timeout_s``: stop
    sPyNNaker after that long (default: no limit).
    """
    python = spynnaker_python()
    if not python.is_file():
        raise VerificationError("sPyNNaker", f"has no environment at {python}.",
                                "Run `make spynnaker` (a separate venv with sPyNNaker "
                                "1!7.4.1), or set NEUROCC_SPYNNAKER_PYTHON.")
    if spikes is None:
        spikes = np.ones((1, 1, artifact.graph.n_inputs), dtype=np.uint8)
    if workdir is None:
        with tempfile.TemporaryDirectory(prefix="neurocc-spynnaker-") as tmp:
            return _map_in(artifact, spikes, Path(tmp), python, timeout_s)
    return _map_in(artifact, spikes, Path(workdir), python, timeout_s)


def _map_in(artifact: Artifact, spikes: np.ndarray, folder: Path, python: Path,
            timeout_s: float | None) -> dict[str, Any]:
    folder.mkdir(parents=True, exist_ok=True)
    script = write_pynn_script(artifact, folder / "net.py")
    np.savez(folder / "IN.npz", spikes=np.asarray(spikes[:1], dtype=np.uint8))
    (folder / "spynnaker.cfg").write_text(VIRTUAL_BOARD_CFG)
    (folder / ".spynnaker.cfg").write_text(VIRTUAL_BOARD_CFG)  # HOME's, see the env below
    env = {**os.environ, "HOME": str(folder)}
    done = subprocess.run([str(python), str(DRIVER), str(script), "--input",
                           str(folder / "IN.npz"), "-o", str(folder / "mapping.json")],
                          cwd=folder, env=env, capture_output=True, text=True,
                          timeout=timeout_s, check=False)
    log = folder / "spynnaker.log"
    log.write_text(done.stdout + done.stderr)
    if done.returncode != 0:
        last = (done.stderr.strip() or done.stdout.strip() or "no output").splitlines()[-1]
        raise VerificationError("sPyNNaker mapping", f"failed (exit {done.returncode}): {last}",
                                f"Read {log} and sPyNNaker's reports under {folder}/reports "
                                "(pass workdir= to keep them).")
    detail = json.loads((folder / "mapping.json").read_text())
    after, before = detail["routing_compressed"], detail["routing_uncompressed"]
    placed = detail["placements"]["per_vertex"]
    system = sum(n for label, n in placed.items() if label.startswith(SYSTEM_PREFIX))
    return {"cores": detail["placements"]["cores"] - system, "system_cores": system,
            "chips": detail["placements"]["chips"],
            "routing_entries_max": after["max_per_chip"],
            "routing_entries_total": after["total"],
            "routing_entries_max_uncompressed": before["max_per_chip"],
            "routing_entries_total_uncompressed": before["total"],
            "mapping_s": detail["timings"].get("mapping_s", 0.0),
            "compression_s": detail["timings"].get("compression_s", 0.0),
            "detail": detail}

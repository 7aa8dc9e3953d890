"""Which reset a NIR file means, decided from the version string it stores.

NIR <= 1.0.5 subtracted the threshold on a spike; 1.0.6 added ``v_reset`` and
resets to it. nir 1.0.8's reader fills ``v_reset = 0`` into legacy files, so
the presence of ``v_reset`` says nothing: only the version string decides.
"""

from __future__ import annotations

import re

from neurocc.compiler.errors import FrontendError
from neurocc.compiler.neurons import RESET_SUBTRACT, RESET_TO_VALUE

FIRST_TO_VALUE_VERSION = (1, 0, 6)  # PR#129: v_reset added, reset-to-value semantics
LEGACY_WRITE_VERSION = "1.0.5"  # the newest version whose reset subtracts the threshold
_VERSION_RE = re.compile(r"^\s*(\d+)\.(\d+)(?:\.(\d+))?")


def parse_version(text: str, where: str) -> tuple[int, int, int]:
    """``"1.0.6rc1"`` -> ``(1, 0, 6)``: the leading numeric release."""
    match = _VERSION_RE.match(text)
    if match is None:
        raise FrontendError(where, f"stores the NIR version {text!r}, which is not a version "
                            "number like '1.0.8'.", "Rewrite the file with nir.write.")
    major, minor, patch = match.groups()
    return int(major), int(minor), int(patch or 0)


def reset_semantics(version: str, where: str) -> str:
    """The graph reset mode a file of ``version`` means for its spiking neurons."""
    if parse_version(version, where) >= FIRST_TO_VALUE_VERSION:
        return RESET_TO_VALUE
    return RESET_SUBTRACT

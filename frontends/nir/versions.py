"""Which reset a NIR file means, decided from the version string it stores.

NIR <= 1.0.5 subtracted the threshold on a spike; 1.0.6 added ``v_reset`` and
resets to it. nir 1.0.8's reader fills ``v_reset = 0`` into legacy files, so
the presence of ``v_reset`` says nothing: only the version string decides.

A version newer than :data:`NEWEST_KNOWN_VERSION` is refused unless the caller
allows it: 1.0.6 showed that a release can change what an unchanged file
means, so reading a newer file with older semantics must be a choice, not a
silent default. A string that is not a version number is always refused.
"""

from __future__ import annotations

import re

from neurocc.compiler.errors import FrontendError
from neurocc.compiler.neurons import RESET_SUBTRACT, RESET_TO_VALUE

FIRST_TO_VALUE_VERSION = (1, 0, 6)  # PR#129: v_reset added, reset-to-value semantics
NEWEST_KNOWN_VERSION = (1, 0, 8)  # the newest NIR release whose semantics this reader implements
LEGACY_WRITE_VERSION = "1.0.5"  # the newest version whose reset subtracts the threshold
SHOWN_VERSION_CHARS = 40  # of a garbage version string, quoted in the message
# A release as PEP 440 spells NIR's: "1.0.8", "0.2", "1.0.6rc1", "1.0.7.dev3+g1a2b3c".
_VERSION_RE = re.compile(r"(\d+)\.(\d+)(?:\.(\d+))?(?:(?:a|b|rc)\d+)?(?:\.post\d+)?"
                         r"(?:\.dev\d+)?(?:\+[0-9A-Za-z.]+)?")


def _text(release: tuple[int, int, int]) -> str:
    return ".".join(map(str, release))


NEWEST_KNOWN = _text(NEWEST_KNOWN_VERSION)


def parse_version(text: str, where: str) -> tuple[int, int, int]:
    """``"1.0.6rc1"`` -> ``(1, 0, 6)``: the numeric release of a whole version string."""
    match = _VERSION_RE.fullmatch(text.strip())
    if match is None:
        shown = text if len(text) <= SHOWN_VERSION_CHARS else text[:SHOWN_VERSION_CHARS] + "..."
        raise FrontendError(where, f"stores the NIR version {shown!r}, which is not a version "
                            "number like '1.0.8'.", "Rewrite the file with nir.write.")
    major, minor, patch = match.groups()
    return int(major), int(minor), int(patch or 0)


def newer_version_read_as(version: str, where: str, allow_newer: bool) -> str | None:
    """None for a known version; for a newer one, the version whose semantics apply.

    Raises unless ``allow_newer``: the caller must accept reading it as
    :data:`NEWEST_KNOWN_VERSION`.
    """
    if parse_version(version, where) <= NEWEST_KNOWN_VERSION:
        return None
    if not allow_newer:
        raise FrontendError(where, f"stores NIR version {version.strip()!r}, newer than "
                            f"{NEWEST_KNOWN}, the newest whose semantics this reader implements "
                            "(a release can change what a file means: 1.0.6 changed the reset).",
                            "Update neurocc, or accept reading it as NIR "
                            f"{NEWEST_KNOWN}: read_nir(path, allow_newer_version=True) (also "
                            "neurocc.load); the graph metadata then records "
                            f"'nir_version_read_as': '{NEWEST_KNOWN}'.")
    return NEWEST_KNOWN


def reset_semantics(version: str, where: str) -> str:
    """The graph reset mode a file of ``version`` means for its spiking neurons."""
    if parse_version(version, where) >= FIRST_TO_VALUE_VERSION:
        return RESET_TO_VALUE
    return RESET_SUBTRACT

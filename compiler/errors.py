"""The one exception family of neurocc.

Every error a user can cause is a :class:`NeuroccError`. Its message says
where (file, node or population), what was found, the limit or the expected
value, and what to do next; the CLI prints it as one paragraph and exits 2.
"""

from __future__ import annotations


class NeuroccError(Exception):
    """Base class: a problem with the user's input, model or target."""

    def __init__(self, where: str, what: str, hint: str = "") -> None:
        self.where = where
        self.what = what
        self.hint = hint
        text = f"{where}: {what}"
        if hint:
            text += f" {hint}"
        super().__init__(text)


class GraphError(NeuroccError):
    """The intermediate graph is malformed (shapes, values, cycles, models)."""


class FrontendError(NeuroccError):
    """A model file or object cannot be read or lowered to the graph."""


class TargetError(NeuroccError):
    """A target file is missing, malformed, or names an unknown target."""


class MappingError(NeuroccError):
    """The graph does not fit the target: names the population, the limit and the value."""


class ArtifactError(NeuroccError):
    """An artifact directory is missing, damaged, or of another format version."""


class SimulationError(NeuroccError):
    """Inputs for a simulation do not match the artifact, or an engine cannot run it."""


class VerificationError(NeuroccError):
    """A reference run (for example Lava) could not be carried out."""

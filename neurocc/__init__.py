"""neurocc: compile trained spiking networks to neuromorphic targets.

The Python API mirrors the CLI: :func:`load` a model into a graph,
:func:`compile` it for a target into an artifact, :func:`simulate` the
artifact on a batch of input spikes::

    import neurocc
    graph = neurocc.load("examples/digits/digits_lif.nir")
    artifact = neurocc.compile(graph, "loihi2", out="out/")
    result = neurocc.simulate(artifact, spikes, engine="exact")
    result.output  # (batch, T, n_out) spikes of the output population
"""

from neurocc.api import compile, simulate
from neurocc.backends.artifact import Artifact, read_artifact
from neurocc.compiler.errors import NeuroccError
from neurocc.compiler.graph import Graph
from neurocc.frontends import load

__version__ = "0.1.0"
__all__ = ["Artifact", "Graph", "NeuroccError", "compile", "load", "read_artifact", "simulate"]

"""neurocc: compile trained spiking networks to neuromorphic targets.

The Python API mirrors the CLI: :func:`load` a model into a graph,
:func:`compile` it for a target into an artifact, :func:`simulate` the
artifact on a batch of input spikes.
"""

__version__ = "0.1.0"

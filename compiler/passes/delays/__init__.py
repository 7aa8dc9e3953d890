"""Delay passes: learn per-synapse delays (``delays.learn``), fit them to a target
(``delays.legalize``).

Importing this package registers both passes; PyTorch is imported only when
``delays.learn`` runs, so ``neurocc passes`` and compiles without delay
learning stay fast.
"""

from neurocc.compiler.passes.delays import learn, legalize

__all__ = ["learn", "legalize"]

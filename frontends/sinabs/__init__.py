"""torch frontend: sinabs (and snnTorch) models in memory -> Graph (docs section).

Placeholder docstring; the full text is written with the docs.
"""

from neurocc.frontends.sinabs.reader import read_module
from neurocc.frontends.sinabs.snntorch import read_snntorch

__all__ = ["read_module", "read_snntorch"]

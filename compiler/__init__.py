"""The intermediate graph, its verification, and the compiler passes."""

from neurocc.compiler.errors import NeuroccError
from neurocc.compiler.graph import Graph, PassRecord, Population, Projection

__all__ = ["Graph", "NeuroccError", "PassRecord", "Population", "Projection"]

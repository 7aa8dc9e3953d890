"""The keys of the ``crossbar`` artifact section: one owner, so writer and engine agree.

Per array ``i`` (in ``layout["tiles"]`` order): ``tile/i/codes``, the signed slice digits
(slices, rows, cols) of ``mapping.digits``; the engine programs conductances from them.
"""

from __future__ import annotations

SECTION = "crossbar"
INPUT_MODEL = "input"
# The neuron models the digital periphery runs (the float reference's rules, after the ADC).
MODELS = ("lif", "cubalif", "lif_cur_exp", "if", "li", "integrator", "threshold", "output")


def tile_key(index: int) -> str:
    return f"tile/{index}/codes"

"""One tick of a spiking (LIF or IF) core, fused into one compiled pass over its neurons.

Per neuron ``i`` of batch row ``b`` (steps 1-4 of the package docstring; every add wraps at
``state_bits``, every product ``a * b >> bits`` is rounded by the run's mode):

1. ``arrived_k = slot[k] << shift_k`` (``shift_k`` = the type's ring-buffer shift plus the
   word shift), and the slot is zeroed; an exponential synapse adds
   ``mul(arrived_k, init_k, decay_bits)`` to its current ``I_k``, which is then its input;
2. ``drive = I_0 - I_1 + bias``; leaky: ``alpha = drive + v_leak``,
   ``V' = alpha - mul(exp_tc, alpha - V, fraction_bits)``; IF: ``V' = V + drive``; a
   refractory neuron (timer > 0) keeps V and counts down instead;
3. spike when ``V >= v_threshold``: reset to ``v_reset`` or subtract ``v_subtract``, timer
   to ``t_refract``;
4. exponential synapses decay: ``I_k = mul(I_k, decay_k, decay_bits)``.

Stochastic rounding takes its random words from arrays the engine draws beforehand with
numpy's PCG64, in the order the products happen population-wide: step 1's (batch, types,
size), step 2's (batch, size) (leaky only), step 4's (batch, types, size).
"""

from __future__ import annotations

import numpy as np
from numba import njit

from neurocc.backends.spinnaker.section import POP_KEYS
from neurocc.sim.spinnaker.synapses import rounded, wrap

# rows of the stacked parameter array: the section's POP_KEYS, in their order
BIAS, V_LEAK, EXP_TC, V_THRESHOLD, V_RESET, V_SUBTRACT, T_REFRACT = (POP_KEYS.index(k) for k in (
    "bias", "v_leak", "exp_tc", "v_threshold", "v_reset", "v_subtract", "t_refract"))
NO_RESET, TO_VALUE, SUBTRACT = 0, 1, 2  # reset modes, as the kernel takes them
RESETS = {"to_value": TO_VALUE, "subtract": SUBTRACT}  # anything else: NO_RESET


@njit(cache=True)
def lif_tick(v: np.ndarray, refract: np.ndarray, current: np.ndarray, slot: np.ndarray,
             shift: np.ndarray, params: np.ndarray, synapse: np.ndarray, leaky: bool,
             exp_synapse: bool, reset: int, mode: int, fraction_bits: int, decay_bits: int,
             state_bits: int, draws_in: np.ndarray, draws_tc: np.ndarray,
             draws_decay: np.ndarray, spiked: np.ndarray) -> None:
    """Steps 1-4 for every neuron, in place. ``v, refract`` (batch, size); ``current`` and
    ``slot`` (batch, types, size); ``params`` (len(POP_KEYS), size); ``synapse`` (2, types,
    size): init then decay (exponential synapses only); ``spiked`` (batch, size) out."""
    batch, types, size = slot.shape
    syn = np.zeros(types, np.int64)
    for b in range(batch):
        for i in range(size):
            for k in range(types):
                arrived = np.int64(slot[b, k, i]) << shift[k]
                slot[b, k, i] = 0
                if exp_synapse:
                    draw = draws_in[b, k, i] if draws_in.size else 0
                    current[b, k, i] = wrap(current[b, k, i] + rounded(
                        arrived * synapse[0, k, i], decay_bits, mode, draw), state_bits)
                    syn[k] = current[b, k, i]
                else:
                    syn[k] = arrived
            drive = wrap(syn[0] - syn[1] + params[BIAS, i], state_bits)
            if leaky:
                alpha = wrap(drive + params[V_LEAK, i], state_bits)
                draw = draws_tc[b, i] if draws_tc.size else 0
                leak = rounded(params[EXP_TC, i] * wrap(alpha - v[b, i], state_bits),
                               fraction_bits, mode, draw)
                updated = wrap(alpha - leak, state_bits)
            else:
                updated = wrap(v[b, i] + drive, state_bits)
            if refract[b, i] > 0:
                refract[b, i] -= 1
            else:
                v[b, i] = updated
            fired = v[b, i] >= params[V_THRESHOLD, i]
            if fired:
                if reset == TO_VALUE:
                    v[b, i] = params[V_RESET, i]
                elif reset == SUBTRACT:
                    v[b, i] = v[b, i] - params[V_SUBTRACT, i]
                refract[b, i] = params[T_REFRACT, i]
            spiked[b, i] = fired
            if exp_synapse:
                for k in range(types):
                    draw = draws_decay[b, k, i] if draws_decay.size else 0
                    current[b, k, i] = rounded(current[b, k, i] * synapse[1, k, i],
                                               decay_bits, mode, draw)

"""The exact SpiNNaker engine: sPyNNaker's s16.15 LIF tick, vectorized over a batch.

``run_artifact(artifact, spikes)`` runs a SpiNNaker-family artifact. Every hardware number
(fraction bits, state and weight widths, decay format) comes from the artifact's resolved
target; every integer parameter from its ``spinnaker`` section. The tick (timer interrupt
``t``) follows ``shared/reference/spinnaker.md`` §2.5, for each population:

1. ring-buffer transfer of slot ``t mod S``: a delta synapse takes ``slot << r`` as this
   tick's input; an exponential one adds ``(slot << r) * init >> 32`` to its current; the
   slot is zeroed;
2. ``I = exc - inh + bias``; leaky: ``alpha = I + v_leak; V = alpha - exp_TC * (alpha - V)``;
   IF: ``V = V + I`` (every add wraps at 32 bits, every product is rounded by the artifact's
   ``rounding`` option: floor as the ARM ``smull >> 15``, nearest, or stochastic with
   ``rounding_seed``); a neuron whose refractory timer is above 0 keeps V and counts the
   timer down instead;
3. spike when ``V >= v_threshold`` (refractory or not, as sPyNNaker checks every tick);
   reset (to ``v_reset``, or subtract the threshold) and set the timer to ``t_refract``;
4. exponential synapses decay: ``I_s = I_s * decay >> 32``.

Then every spike of tick ``t`` (the given input spikes included) adds its synapses' 16-bit
words to the target's slot ``(t + delay) mod S``, saturating at ``2**weight_bits - 1``; a
synapse of delay-extension stage ``s`` takes the spikes of tick ``t - s * D`` instead (the
extension re-sends them, ``D = delay_stage_steps``). A core does nothing before its
``start_tick`` (its latency offset). ``egru`` and ``integrator`` cores (``graded.py``) keep
32-bit s16.15 input words per receptor instead, add ``mul(w, payload)`` per synapse, and an
egru event's payload is its cell value. Counters: ``synops`` (at delivery, within the run),
``spikes``, ``input_spikes``, ``neuron_updates``, ``steps``, ``packets`` and
``payload_packets``.

Modules: ``engine.py`` (the ticks and counters), ``lif.py`` (steps 1-4 of a spiking core as
one compiled pass), ``synapses.py`` (each projection's (stage, delay, type) blocks stored
pre-major; a tick reads only the synapses of the neurons that fired), ``graded.py``.
"""

from neurocc.sim.spinnaker.engine import run_artifact

__all__ = ["run_artifact"]

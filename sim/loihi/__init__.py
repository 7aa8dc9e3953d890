"""The exact Loihi engine: Lava's ``fixed_pt`` models, bit for bit, vectorized over a batch.

``run_artifact(artifact, spikes)`` runs a Loihi-family artifact
(docs/loihi-artifact.md) and returns what Lava 0.10.0 computes with
``Loihi2SimCfg(select_tag='fixed_pt')`` for the same network built from stock
processes (``RingBuffer`` sources, ``LIF``, ``Dense``/``DelayDense``/``Sparse``/
``DelaySparse``; see ``backends/loihi/lava_export.py``): the same spikes at
every step and the same ``u`` and ``v``. The tests compare the two on random
networks.

Every hardware number comes from the artifact's resolved target
(``layout["target"]``, validated again on load): ``fixed_point.arithmetic_of``
reads it into one :class:`~neurocc.sim.loihi.fixed_point.Arithmetic` whose
fields are the target keys of the same names. Below, the numbers in
parentheses are the packaged targets' (Lava's own); an edited target changes
them, and the engine follows (Lava's export refuses what stock Lava does not
implement). Every parameter is checked against the target's ranges on load.

What each Lava model does, and so what the engine does
-------------------------------------------------------
Steps are numbered t = 1..T as in Lava (arrays index t-1). All processes run
their ``run_spk`` once per step; values cross a port only between processes.

* ``RingBuffer`` (``PySendModelFixed``) sends ``data[:, (t-1) % T]`` at step t:
  the input array's row t-1, as int32. A ``Dense`` treats any nonzero as a
  spike.
* ``Dense`` (``PyDenseModelBitAcc``). On its first step it replaces its
  weights, once: cast to int32, infer the sign mode from the min and max of
  all entries (all >= 0 excitatory, all <= 0 inhibitory, else mixed), clip to
  ``C = weight_clip_bits`` (8) bits (mixed [-2**C, 2**C - 1], excitatory
  [0, 2**C - 1], inhibitory [-(2**C - 1), 0]), then drop ``k = C -
  num_weight_bits (+1 if mixed)`` LSBs with ``(w >> k) << k`` (floor; for
  inhibitory weights on the magnitude). Every step it first *sends* its
  buffer, then receives the spikes of this step and computes the new buffer
  ``sum of the weight columns of the active inputs`` (int64), shifted left by
  ``weight_exp`` (arithmetic right shift when ``weight_exp <= 0``). The
  buffer is sent through an int32 port: values wrap modulo 2**32. So a spike
  at step t reaches the target at step t+1: one step of latency per
  projection, which the float reference does not have.
* ``DelayDense`` (``PyDelayDenseModelBitAcc``): the same weight treatment; a
  buffer of ``max_delay + 1`` slots per target. Each step it sends slot 0,
  then shifts the slots down by one and adds, for each delay k, the
  exponent-shifted sum of the weights with delay k into slot k. A spike at t
  with delay k arrives at t + 1 + k. The exponent shift applies to each
  (step, delay) sum separately, before the sums meet in a slot.
* ``Sparse`` (``PySparseModelBitAcc``): as ``Dense``, on a CSR matrix whose
  implicit zeros count for the sign mode.
* ``DelaySparse`` (``PyDelaySparseModelBitAcc``): as ``DelayDense``, on a CSR
  weight matrix (implicit zeros count for the sign mode) and a CSR delay
  matrix; Lava splits the weights by delay and stacks the parts, one int32
  product per step. The engine cuts one CSR block per distinct delay straight
  from the stored CSR (``synapses.compile_projection``), never a dense matrix.
* ``LIF`` (``PyLifModelBitAcc``), every step, in this order, with ``D =
  decay_shift_bits`` (12), ``U = u_bits`` (24), ``V = v_bits`` (24):
  1. ``a_in`` = sum of the int32 inputs of all incoming projections (int32);
  2. ``u = trunc(u * (2**D - (du + du_offset)) / 2**D)`` (``du_offset`` 1;
     int64 product, sign-magnitude shift by D, i.e. truncation toward zero),
     then ``u += a_in << act_shift_bits`` (6) in int32; then one wrap step:
     ``u > 2**(U-1)`` loses 2**U, ``u <= -2**(U-1)`` gains 2**U (once, not
     modulo, as in Lava);
  3. ``v = trunc(v * (2**D - (dv + dv_offset)) / 2**D) + u + (bias_mant <<
     bias_exp)`` (``dv_offset`` 0) in int32 (right shift for a negative
     ``bias_exp``), saturated to [-(2**(V-1)) + 1, 2**(V-1) - 1];
  4. spike where ``v > vth << vth_shift_bits`` (6; strict); ``v = 0`` where
     it spiked (``u`` is kept); send the spikes.

Order within an engine step: every LIF takes the input that earlier steps
left in its input window (nothing depends on same-step outputs of another
population, since every projection delivers one step late), then every
projection adds the contributions of this step's spikes to its target's
window at ``t + 1 + delay``. ``layout["step_order"]`` is therefore not needed.

Outputs
-------
``SimResult.spikes[P]``: uint8 (batch, T, size) for every population (inputs
echo the given spikes), on Lava's timeline, not realigned; ``states["u/P"]``
and ``states["v/P"]`` (int64, after the step, ``v`` after the reset) with
``record_states``; ``latency_steps`` from the layout. Counters, summed over
the batch (docs/loihi-artifact.md): ``synops`` counts, per spike a projection
receives, its source neuron's nonzero effective weights, at the step the
projection receives the spike (a spike of the last step counts although its
effect would land after T); ``neuron_updates`` counts every LIF update (size x steps x batch),
``neuron_updates_active`` those whose ``a_in`` is nonzero or whose ``u`` or
``v`` was nonzero before the step; ``spikes``, ``input_spikes``,
``spike_messages``, ``hops_eastwest``, ``hops_northsouth`` (spikes times the per-neuron
figures of the artifact, input populations included) and ``steps`` (T x batch).

Differences from the float reference
------------------------------------
Besides quantization: one step of latency per projection (plus the Lava
delay the compiler chose), ``u`` wrap-around at ``u_bits`` instead of
growth, ``v`` saturation at ``v_bits``, truncating decays, weights clipped to
``weight_clip_bits`` and truncated to ``num_weight_bits``, reset to 0 only.

Speed
-----
Exact float products (see ``synapses.py``) replace Lava's integer loops;
events from a population that is not in a loop are applied to a chunk of
steps at once; sparse activity uses sparse products; the batch is one array.
Sparse weight blocks are stored pre-major (CSR of (pre, post)): a chunk's events gather
the synapse ranges of their active inputs and ``bincount`` adds them in float64 (exact
below 2**53), so the cost follows the events, not the synapses (``docs/scale.md``).
The target's numbers and what follows from them (decay factors, wrap and
saturation bounds, the scaled threshold, effective biases) are computed once
per run; the per-step loop only reads them.
"""

from neurocc.backends.loihi.section import NetworkSpec
from neurocc.sim.loihi.engine import COUNTER_NAMES, check_input, run_artifact
from neurocc.sim.loihi.network import read_network

__all__ = ["COUNTER_NAMES", "NetworkSpec", "check_input", "read_network", "run_artifact"]

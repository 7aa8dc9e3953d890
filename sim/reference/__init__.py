"""The float reference simulator: the model's own semantics, the ground truth for fidelity.

:func:`run_graph` runs a :class:`~neurocc.compiler.graph.Graph` on a batch of
input spikes. Every other engine is compared against it, so its semantics are
fixed and listed here.

Inputs
    ``spikes`` is a ``(batch, T, n_in)`` array of 0/1 (bool, integer or float
    holding only 0 and 1). ``n_in`` is the summed size of the populations in
    ``graph.inputs``; their neurons are concatenated in ``graph.inputs`` order.
    Anything else raises :class:`~neurocc.compiler.errors.SimulationError`.

Arithmetic and time
    float64 throughout, one global step ``dt = graph.dt_s``. Within step ``t``
    the populations update in ``graph.step_order()`` (a topological order of
    the zero-delay projections, ties by insertion order). The state of every
    neuron starts at zero; spikes before step 0 are zero.

Input current and receptors
    Every projection feeds one receptor (input port) of its target's model,
    ``graph.receptor_of(projection)``: the single ``current`` of every model
    but ``lif_cur_exp``, which has ``excitatory`` and ``inhibitory``, and
    ``egru``, whose receptors are its gates (``update``, ``reset``,
    ``candidate``, ``candidate_recurrent``). Per
    receptor ``r`` the synaptic input is ``I_r = sum over the projections
    into r of W @ s_src[t - d]`` (signed weights, no bias), held for the step;
    a receptor nothing feeds gets zeros. A single-receptor model's input
    current is ``I = I_current + bias``; ``lif_cur_exp`` adds ``bias`` in its
    membrane equation instead. A projection delivers the spikes its source
    emitted ``d = delay_steps`` steps earlier, per synapse (``delay_steps`` may
    be one value, one per dense weight entry, or one per stored CSR entry).
    ``d = 0`` acts within the step: the source has already updated at step
    ``t``. A recurrent projection (``d >= 1``) therefore carries nothing at
    step 0, while the population's ``bias`` acts from step 0 (as snnTorch does
    with the bias of a recurrent Affine). Each sum runs over projections in ``graph.projections``
    order and, within one projection, over its delays in increasing order;
    ``bias`` is added last (inside one matrix product the order is that of
    the BLAS or scipy.sparse kernel, so other float engines agree to rounding,
    not bit for bit). Projections must start at spiking populations.

Neuron models (forward Euler of the NIR equations)
    - ``lif``: ``v += dt/tau_s * (v_leak - v + r*I)``
    - ``cubalif``: ``i_syn += dt/tau_syn_s * (-i_syn + w_in*I)`` first, then
      ``v += dt/tau_mem_s * (v_leak - v + r*i_syn)`` with the new ``i_syn``
    - ``lif_cur_exp`` (PyNN IF_curr_exp): ``i_exc += dt/tau_syn_exc_s *
      (-i_exc + I_excitatory)`` and ``i_inh += dt/tau_syn_inh_s * (-i_inh +
      I_inhibitory)`` first, then ``v += dt/tau_mem_s * (v_leak - v +
      r*(i_exc + i_inh + bias))`` with the new currents; while the neuron is
      refractory (below) ``v`` keeps its value and the currents still update
    - ``if``: ``v += dt * r*I``
    - ``li``: as ``lif``, never spikes
    - ``integrator``: ``v += dt * r*I``, never spikes
    - ``threshold``: stateless, spikes where ``I > v_threshold``
    - ``output``: stateless, ``v = I``
    - ``input``: emits the input spikes of the step
    - ``egru`` (Event-based GRU, Subramoney et al., ICLR 2023; discrete, one
      update per step, ``dt`` plays no part): with ``I_g`` the synaptic input
      of receptor ``g`` and ``sigmoid(a) = 1/(1 + exp(-a))``::

          u = sigmoid(I_update + bias_update)
          r = sigmoid(I_reset + bias_reset)
          z = tanh(I_candidate + bias_candidate
                   + r * (I_candidate_recurrent + bias_candidate_recurrent))
          c = u * z + (1 - u) * c

      ``u`` weights the candidate (the paper's convention; EvNN's code names
      ``1 - u`` its update gate). The reset gate multiplies the recurrent
      candidate input after its weighted sum, bias included (EvNN's form),
      which is why that input has its own receptor.

Spikes and reset
    ``lif``, ``cubalif``, ``lif_cur_exp`` and ``if`` spike where ``v >
    v_threshold`` (strict: ``v == v_threshold`` does not spike), after the
    update of the step. Then the population's ``reset`` applies where a
    neuron spiked: ``subtract`` sets ``v -= v_threshold``, ``to_value`` sets
    ``v = v_reset``. Synaptic currents (``i_syn``, ``i_exc``, ``i_inh``) are
    never reset.

    Refractory period (``lif_cur_exp``'s ``tau_refrac_s``, PyNN's
    ``tau_refrac``; default 0, none): a neuron that spikes at step ``t``
    keeps ``v`` (at its reset value) for the next ``n = ceil(tau_refrac_s /
    dt)`` steps, the ratio rounded to 9 decimals first (so 2 ms / 1 ms is 2
    steps); in step ``t + n + 1`` it integrates again. The spike test still
    runs while it is frozen. This is sPyNNaker's counter (``T_refract =
    ceil(tau_refrac / dt)`` ticks, counted down instead of the update); the
    counter is internal and not recorded. PyNN's default 0.1 ms at ``dt =
    1 ms`` is one step. A negative value is a ``GraphError``.

    ``egru`` fires an event where ``c > c_threshold`` (strict), and its events
    are graded: an event carries ``y = c``, the cell's value before the reset
    (``y = 0`` without an event), and every projection leaving the population
    delivers ``W @ y`` where others deliver ``W @ spikes``. Then ``c -=
    c_threshold`` where an event fired (``subtract``, its only reset mode).
    A recurrent EGRU is ``egru -> egru`` projections with ``delay_steps = 1``,
    one per gate receptor, so the gates see ``y`` of the previous step.

Result (:class:`~neurocc.sim.result.SimResult`)
    - ``spikes[name]``: uint8 ``(batch, T, size)`` for every spiking
      population, input populations included; for ``egru`` its 0/1 events.
    - ``states["y/<name>"]`` for ``egru``: float64 ``(batch, T, size)``, the
      values its events carried (its output), always recorded.
    - ``states["v/<name>"]``, ``states["i_syn/<name>"]``: float64 ``(batch, T,
      size)``, the state at the end of each step (after the reset); all
      state variables when ``record_states=True``, and always ``v`` of the
      non-spiking populations (``li``, ``integrator``, ``output``), which is
      their output. ``threshold`` has no state to record.
    - ``states["I.<receptor>/<name>"]`` with ``record_synaptic=True``: float64
      ``(batch, T, size)``, the synaptic input ``I_r`` (``W s`` summed over the
      projections into that receptor, without bias) each non-input
      population received in each step, one trace per receptor of its model
      (``I.current/<name>`` for single-receptor models). The Loihi backend's
      calibration computes its current ranges from these traces.
    - ``outputs = graph.outputs``; ``latency_steps = 0``.
    - ``counters``: ``synops``, the synaptic events (stored synapses with
      nonzero weight whose source spiked and that were delivered within the
      run, summed over batch and steps; a graded event counts once, whatever
      its value); ``spikes``, the spikes (or events) emitted by non-input
      populations; ``input_spikes``; ``neuron_updates``, non-input
      neurons x steps x batch; ``steps``, steps x batch (the shared
      vocabulary of ``sim/counters.py``).

The engine is vectorized over the batch (states are ``(batch, size)``) and
deterministic. Each projection is cut into one matrix per distinct delay
(dense for a dense weight with one delay, ``scipy.sparse`` CSR otherwise);
a step costs one product per matrix whose delayed source spiked. Each source
population keeps a ring buffer of its last ``max delay + 1`` spike vectors
(for a graded source, of the values its events carried).
"""

from neurocc.sim.reference.engine import run_artifact, run_graph

__all__ = ["run_artifact", "run_graph"]

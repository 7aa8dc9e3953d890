"""torch frontend: sinabs and snnTorch models in memory (docs section, copied to ``docs/``).

Read
    ``read_module(module, *, input_shape=None, dt_s=None)`` lowers an
    ``nn.Sequential`` of sinabs layers (nested Sequentials are inlined with
    dotted paths: ``features.3``) to a verified :class:`Graph`, with no NIR
    file in between. ``input_shape`` is one time step's input without batch
    and time, e.g. ``(2, 32, 32)``; it defaults to a leading ``nn.Linear``'s
    ``in_features``. ``dt_s`` defaults to 1e-3 s (``dt_source`` in the graph
    metadata says which): sinabs counts time in steps, so ``dt_s`` only sets
    the unit of the graph's time constants. A module containing any snnTorch
    layer goes to ``read_snntorch`` (below), so one entry point serves both.

Layers
    ``nn.Linear`` (bias -> the target population's ``bias``), ``nn.Conv1d``
    and ``nn.Conv2d`` (stride, padding ints or 'same'/'valid', dilation,
    groups, bias; zero padding only), ``nn.AvgPool2d`` (padding counted;
    ``ceil_mode``, ``count_include_pad=False`` with padding and
    ``divisor_override`` are refused), sinabs ``SumPool2d``, ``nn.Flatten``,
    ``nn.Dropout``/``Dropout1d``/``Dropout2d`` and ``nn.Identity`` (the
    identity: the graph is the model at inference), sinabs ``FlattenTime``,
    ``UnflattenTime`` and ``Repeat``, and the neurons ``IAF``, ``LIF``,
    ``ExpLeak`` and their ``*Squeeze`` variants. Maps are lowered by the NIR
    frontend's own lowerings (``frontends/nir/maps.py``), so convolutions and
    pooling become the same weight-shared CSR matrices (one stored synapse per
    kernel tap and output pixel), linear layers dense ones. Every chain of maps
    between two neuron layers is one projection (the product of the maps; the
    biases carried through the rest of the chain), named after its first
    Linear/Conv layer's path; populations are named after their layer's path
    (``input`` for the input); a chain of maps after the last neuron layer
    becomes an ``output`` population (``v = I``). The reference engine and the
    Loihi family take the CSR projections as they are (Loihi maps them as Lava
    ``Sparse`` processes).

Layout
    sinabs' stateful layers take ``(batch, time, ...)``, the ``*Squeeze``
    layers, convolutions and pooling ``(batch*time, ...)``. The frontend
    tracks which one each layer receives (``FlattenTime`` and
    ``nn.Flatten(0, 1)`` merge, ``UnflattenTime`` splits, ``Repeat`` runs its
    module merged) and refuses a layer fed the other one, naming it. The
    model's input layout is the one its first layer that needs one asks for
    (``metadata["torch"]["input_layout"]``); the graph's input is always one
    step's values, ``(batch, T, prod(input_shape))`` in C order.

Neurons
    sinabs' step (``lif_forward_single``): ``i_syn = a_syn*(i_syn + x)`` if
    ``tau_syn`` is set else ``i_syn = x``; ``v = a_mem*v + g*i_syn`` with
    ``g = 1 - a_mem`` if ``norm_input`` else 1; then spike and reset, with
    ``a = exp(-1/tau)`` in the layer's own dtype (``alpha_mem_calculated``:
    float32 for a float32 layer, and the trained alpha with
    ``train_alphas``). The graph's forward Euler step is matched term by term:

    - ``LIF`` -> ``lif``: ``tau_s = dt/(1 - a_mem)``, ``r = g/(1 - a_mem)``,
      ``v_leak = 0``.
    - ``LIF`` with ``tau_syn`` -> ``cubalif``: ``tau_syn_s = dt/(1 - a_syn)``,
      ``w_in = a_syn/(1 - a_syn)``, ``tau_mem_s`` and ``r`` as for lif (the
      graph's ``i_syn`` is then sinabs' ``i_syn``).
    - ``IAF`` -> ``if``: ``r = 1/dt``, chosen so that ``dt*r`` is exactly 1.
    - ``ExpLeak`` -> ``li`` (as lif, no spikes; ``norm_input`` as above). It
      outputs its membrane, so it may only be the last neuron layer.
    - ``SingleSpike`` spikes at ``v >= threshold``; the graph at ``v >
      v_threshold``, so ``v_threshold`` is the float64 just below sinabs'
      ``spike_threshold``: for float64 membranes the two conditions are the
      same, ties included (quantized weights land on the threshold exactly).
    - ``MembraneSubtract()`` -> reset ``subtract`` (it then subtracts that
      ``v_threshold``, one ulp less than sinabs), ``MembraneReset()`` -> reset
      ``to_value`` with ``v_reset = 0``.
    - Per-neuron ``tau_mem``, ``tau_syn`` and ``spike_threshold`` tensors
      broadcast to the neuron shape.

Refused (``FrontendError`` naming the layer's path, class, the option and the fix)
    ``MultiSpike`` (sinabs' default: ``trunc(v/threshold)`` spikes per step)
    and ``MaxSpike``: a graph neuron emits at most one spike per step, and no
    exact mapping exists (a neuron with several spikes per step changes every
    downstream current by a multiple); build with ``SingleSpike``.
    ``min_v_mem`` other than None (a membrane clamp no model has;
    ``sinabs.from_model`` sets -1 by default). ``MembraneReset(reset_value !=
    0)`` (sinabs adds the value to non-spiking neurons too) and
    ``MembraneSubtract(subtract_value != threshold)``. ``IAF`` with
    ``tau_syn``; a decay ``exp(-1/tau)`` outside [0, 1) in a leaky layer.
    Recurrent layers (``IAFRecurrent``, ``LIFRecurrent``), ``ALIF*``,
    ``SpikingMaxPooling2dLayer``, ``nn.MaxPool2d``, ANN activations, ``Merge``
    and any other class (named with its module); a module that is not an
    ``nn.Sequential`` (its forward pass is not its list of layers).

Tolerance
    With the model in float64 the reference engine's spikes equal sinabs'
    forward pass exactly (tests: random weights and input spikes, linear and
    convolutional layouts, every layer and option), and membranes agree to
    rounding (1e-9 checked). A float32 model differs from the float64 graph
    by float32 rounding of its membranes, so a spike can flip where a
    membrane passes within ~1e-7 of a threshold.

snnTorch
    ``read_snntorch(module, *, input_shape, dt_s=None)`` (also reached through
    ``read_module``) takes an snnTorch 1.0 model whose neurons have
    ``init_hidden=True`` (as snnTorch's export needs), one step's input shape,
    and the time step. The structure comes from snnTorch's own
    ``export_to_nir`` (run on a copy whose decays and thresholds are made
    per-neuron, which nir 1.0.8 requires; the user's module is untouched) read
    by the NIR frontend; layers it would drop are refused first (supported:
    ``Leaky``, ``Synaptic``, ``nn.Linear``, ``nn.Conv2d``, ``nn.AvgPool2d``,
    ``nn.Flatten``). The export writes ``tau = 1e-4/(1 - beta)`` in float32 and
    a reset to zero whatever the layer does, so every neuron population is
    rebuilt from its layer at ``dt_s`` (details and equations in
    ``frontends/sinabs/snntorch.py``): ``Leaky`` with ``reset_mechanism=
    "zero"`` -> ``lif`` reset to 0 (``tau_s = dt/(1 - beta)``, ``r = 1/(1 -
    beta)``); ``"subtract"`` (the default, which subtracts the threshold after
    the next step's decay) -> ``cubalif`` whose ``i_syn`` is snnTorch's
    membrane, whose ``v`` copies it (``tau_mem_s = dt``), plus a
    self-projection ``<name>.reset`` of weight ``-threshold`` and delay 1;
    ``"none"`` -> the same without it. ``Synaptic`` -> ``cubalif`` only with
    ``reset_mechanism="zero", reset_delay=False``. Refused by name:
    ``Leaky(reset_mechanism="subtract", reset_delay=False)``, other
    ``Synaptic`` resets, ``inhibition``, ``state_quant``,
    ``graded_spikes_factor != 1``, ``beta = 1``, negative thresholds.
    Population names are nirtorch's node names (``2_0`` for ``2.0``). Spikes
    equal snnTorch's time loop exactly in float64 (tests).
"""

from neurocc.frontends.sinabs.reader import read_module
from neurocc.frontends.sinabs.snntorch import read_snntorch

__all__ = ["read_module", "read_snntorch"]

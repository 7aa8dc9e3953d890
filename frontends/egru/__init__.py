"""EGRU frontend: event-based gated recurrent units (docs section, copied to ``docs/``).

The model
    The Event-based GRU of Subramoney, Nazeer, Schöne, Mayr and Kappel
    ("Efficient recurrent architectures through activity sparsity and sparse
    back-propagation through time", ICLR 2023), reimplemented from its
    equations: the graph's ``egru`` neuron model (``compiler/neurons.py``; the
    reference engine's semantics in ``docs/simulation.md``). Per step, with
    ``x`` the input spikes and ``y`` the previous step's output::

        u = sigmoid(W_u x + R_u y + b_u)
        r = sigmoid(W_r x + R_r y + b_r)
        z = tanh(W_z x + b_z + r * (R_z y + b_zr))
        c = u * z + (1 - u) * c
        e = c > c_threshold;   y = c where e, else 0;   c -= c_threshold where e

    ``u`` weights the candidate, as in the paper (EvNN's code names ``1 - u``
    its update gate and the reader converts); the reset gate scales the
    recurrent candidate input after its weighted sum, bias included (EvNN).
    Events are graded: they carry ``y`` to their targets.

Read
    ``load_egru(source, dt_s=None, prefix="")`` is the frontend's loader;
    ``source`` is an :class:`EgruWeights`, a torch module with a
    ``state_dict()`` (the shipped ``torch_model.Egru``), a state dict (the
    ``neurocc`` or ``evnn`` layout, see ``weights.py``; ``prefix`` selects a
    sub-module) or the path of an ``.npz`` written by ``EgruWeights.save``.
    ``egru_graph(weights, dt_s=1e-3)`` builds the graph from arrays. Bad
    shapes, NaN or infinite values, missing keys, a half readout or a missing
    file raise ``FrontendError`` naming the array or key.

Lowering
    Populations ``input`` (one spike source per input channel: EGRU inputs are
    0/1 spikes here, so analog data must be encoded first), ``egru`` (H units,
    reset ``subtract``) and, when the weights have one, ``readout``: K
    ``integrator`` neurons with ``r = 1/dt_s``, so ``v_t = sum over s <= t of
    (W_o y_s + b_o)`` and the class is the argmax of ``v`` at the last step.
    Projections, named after the weights' fields: ``input_<gate>`` (delay 0)
    into the ``update``, ``reset`` and ``candidate`` receptors,
    ``recurrent_<gate>`` (``egru -> egru``, delay 1 step) into ``update``,
    ``reset`` and ``candidate_recurrent``, and ``readout_weight`` (delay 0).
    Biases and thresholds are the population's parameters. The model is
    discrete: ``dt_s`` (default 1e-3 s, ``metadata["dt_source"]`` says where it
    came from) names the step and changes no dynamics.

Training
    ``neurocc.frontends.egru.torch_model`` (imports torch; nothing else here
    does) holds ``Egru``, the same equations in PyTorch with EvNN's surrogate
    gradient ``dampening * max(0, 1 - support * |c - c_threshold|)``;
    ``examples/egru/`` trains one on scikit-learn's digits.

Targets
    A family maps ``egru`` only when its record lists it: the ``reference``
    family runs it in float64; ``spinnaker`` runs it in s16.15 fixed point,
    its events carrying their value in the packet payload (``docs/spinnaker.md``,
    *EGRU*); ``loihi`` (binary spikes, CUBA neurons) refuses it at compile
    time with a ``MappingError`` naming the population.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from neurocc.compiler.errors import FrontendError
from neurocc.compiler.graph import Graph
from neurocc.frontends.egru.lowering import DEFAULT_DT_S, egru_graph
from neurocc.frontends.egru.weights import EgruWeights

__all__ = ["EgruWeights", "egru_graph", "load_egru"]

Origin = dict[str, Any]  # graph metadata saying where the weights came from


def load_egru(source: Any, *, dt_s: float | None = None, prefix: str = "") -> Graph:
    """The frontend's loader: ``source`` -> verified Graph (see the module docstring)."""
    weights, origin = _read(source, prefix)
    step_s, dt_source = (DEFAULT_DT_S, "default") if dt_s is None else (dt_s, "argument")
    return egru_graph(weights, dt_s=step_s, metadata={**origin, "dt_source": dt_source})


def _from_weights(source: Any, prefix: str) -> tuple[EgruWeights, Origin]:
    return source, {"source": None, "source_sha256": None, "layout": "arrays"}


def _from_path(source: Any, prefix: str) -> tuple[EgruWeights, Origin]:
    weights, metadata = EgruWeights.load(source)
    digest = hashlib.sha256(Path(source).read_bytes()).hexdigest()
    return weights, {"source": str(source), "source_sha256": digest, "layout": "npz",
                     "npz_metadata": metadata}


def _from_state_dict(source: Any, prefix: str) -> tuple[EgruWeights, Origin]:
    return EgruWeights.from_state_dict(source, prefix=prefix), {
        "source": None, "source_sha256": None, "layout": "state_dict"}


def _from_module(source: Any, prefix: str) -> tuple[EgruWeights, Origin]:
    return EgruWeights.from_state_dict(source.state_dict(), prefix=prefix), {
        "source": type(source).__name__, "source_sha256": None, "layout": "module"}


# What a source can be, tried in order -> how to read it.
READERS: tuple[tuple[Callable[[Any], bool], Callable[[Any, str], tuple[EgruWeights, Origin]]],
               ...] = (
    (lambda s: isinstance(s, EgruWeights), _from_weights),
    (lambda s: isinstance(s, str | os.PathLike), _from_path),
    (lambda s: isinstance(s, Mapping), _from_state_dict),
    (lambda s: callable(getattr(s, "state_dict", None)), _from_module),
)


def _read(source: Any, prefix: str) -> tuple[EgruWeights, Origin]:
    for accepts, reader in READERS:
        if accepts(source):
            return reader(source, prefix)
    raise FrontendError(type(source).__name__, "is not something the EGRU frontend reads.",
                        "Pass EgruWeights, a torch module or state dict of an EGRU, or the "
                        "path of an .npz written by EgruWeights.save.")

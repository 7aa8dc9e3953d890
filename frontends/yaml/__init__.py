"""YAML frontend: a small human-written network spec (docs section, copied to ``docs/``).

Read
    ``read_network_yaml(path, dt_s=None, seed=None)`` reads a ``.yaml`` /
    ``.yml`` file whose top has ``kind: network`` and returns a verified Graph
    (``dt_s`` and ``seed`` override the file's). ``is_network_spec(path)`` tells
    a network spec from a target file (which has ``family:`` and no ``kind``)
    without raising. Everything is validated first, sizes included; arrays are
    built only for a valid spec, and nothing is written anywhere.

Schema
    Top level: ``kind: network`` (required), ``name``, ``description``, ``dt``
    (a time, default ``1 ms``), ``seed`` (integer >= 0, default 0),
    ``voltage_unit`` (``V``, ``mV``, ``uV``: what one model unit of voltage is;
    without it voltages are bare numbers), ``populations`` (required list),
    ``projections`` (list), ``inputs`` (default: every ``input`` population in
    order), ``outputs`` (required list of population names).

    A population: ``name`` (letters, digits, ``_``), ``model`` (``input``,
    ``lif``, ``cubalif``, ``lif_cur_exp``, ``if``, ``li``, ``integrator``,
    ``threshold``, ``output``), ``shape`` (``N`` or up to three sizes, the grid
    of distance rules), ``params``, ``reset`` (``to_value`` (default) or
    ``subtract`` for spiking models). Parameter keys are the model's with times
    written without ``_s`` and with their unit: ``tau: 20 ms`` (``tau_s``),
    ``tau_syn``, ``tau_mem``, ``tau_syn_exc``, ``tau_syn_inh``, ``tau_refrac``
    (``lif_cur_exp``'s refractory period, default 0); voltages
    ``v_threshold``, ``v_reset``, ``v_leak`` and ``bias`` in model units (or
    with a unit and ``voltage_unit``); ``r`` and ``w_in`` plain numbers.
    Parameters without a model default (``tau`` and ``v_threshold`` of ``lif``)
    are required. A parameter is a value or a distribution (below), drawn per
    neuron.

    A projection: ``source``, ``target``, ``connect`` (required), ``name``
    (default ``SOURCE_TARGET``), ``weight`` (a value or a distribution, in model
    voltage units; not with ``from_npz``), ``delay`` (a time, default 0;
    rounded to the nearest step, halves up: ``floor(delay / dt + 0.5)``; a
    projection from a population to itself needs >= 1 step), ``receptor``
    (required for ``lif_cur_exp`` targets: ``excitatory`` or ``inhibitory``).

    ``connect: {rule: ...}``:

    - ``all_to_all`` (``self_connections: true``): every pair; a dense matrix.
    - ``one_to_one``: neuron i -> neuron i; sizes must be equal.
    - ``fixed_probability`` (``p``, ``self_connections: true``): each pair
      independently with probability ``p``.
    - ``distance_dependent`` (``c``, ``lambda``, ``self_connections: true``):
      each pair with ``p = c * exp(-(D / lambda)^2)``, ``D`` the Euclidean
      distance of the two neurons' grid indices (unit spacing; both shapes with
      as many dimensions; pairs with p < 1e-12 are never drawn).
    - ``from_npz`` (``file``, ``key``): the (target, source) array in an
      ``.npz`` file relative to the spec, dense (``numpy.savez``; ``key`` names
      the array when the file holds several) or sparse
      (``scipy.sparse.save_npz``).

    ``self_connections: false`` leaves out i -> i on a population onto itself.
    Random rules draw without dense matrices (``neurocc.frontends.lsm.sampling``).

    Distributions: ``{distribution: constant, value}``, ``normal (mean, std)``,
    ``uniform (low, high)``, ``gamma (mean, std)``, ``lognormal (mean, std)``;
    gamma and lognormal draw the magnitude, with the sign of ``mean``. Each
    population and projection draws from its own generator seeded with
    ``seed`` and its name.

Units
    Times: ``s``, ``ms``, ``us`` / ``µs``, ``ns``, always written (``20 ms``,
    ``1e-3 s``). Voltages: ``V``, ``mV``, ``uV`` / ``µV``, converted to
    ``voltage_unit``, or bare numbers in model units. Plain numbers take no
    unit.

Errors
    A ``FrontendError`` whose ``where`` names the file, line and key
    (``net.yaml line 12: key 'tau'``): a syntax error, a tab in indentation, a
    repeated key, an unknown key (with the known ones), a missing required
    key, a wrong unit (a time where a voltage is expected, a time without
    unit, a unit on a plain number), a bad shape (not 1 to 3 positive
    integers, one_to_one of unequal sizes, an ``.npz`` array that is not
    (target, source)), a duplicate population or projection name, an unknown
    population, a target file passed as a network (and ``kind`` missing or
    not ``network``). Sizes are checked before anything is allocated: more
    than 1e7 neurons in a population, a dense matrix (``all_to_all``, dense
    ``.npz``) above 5e7 entries, or more than 2e8 expected synapses in the
    whole spec is refused with the limit named.
"""

from __future__ import annotations

import os
from pathlib import Path

import yaml

from neurocc.compiler.errors import FrontendError
from neurocc.compiler.graph import Graph
from neurocc.frontends.yaml.lowering import lower
from neurocc.frontends.yaml.schema import KIND, check_kind, read_spec
from neurocc.frontends.yaml.source import parse, read_text

SUFFIXES = (".yaml", ".yml")


def read_network_yaml(path: str | os.PathLike[str], dt_s: float | None = None,
                      seed: int | None = None) -> Graph:
    """Read a network spec (see the module docstring) and return the verified Graph."""
    spec_path = Path(path)
    if spec_path.suffix.lower() not in SUFFIXES:
        raise FrontendError(str(spec_path), f"has suffix '{spec_path.suffix}'; a network spec "
                            f"is a {' or '.join(SUFFIXES)} file.", "Rename it.")
    if dt_s is not None and not (isinstance(dt_s, int | float) and dt_s > 0):
        raise FrontendError("dt_s", f"is {dt_s!r}; the time step must be > 0 seconds.",
                            "For example 1e-3.")
    text = read_text(spec_path)
    root = parse(text)
    check_kind(root, text.label)
    return lower(read_spec(root, text, dt_s, seed))


def is_network_spec(path: str | os.PathLike[str]) -> bool:
    """True when the file parses as YAML with ``kind: network`` at the top (never raises)."""
    try:
        data = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError):
        return False
    return isinstance(data, dict) and data.get("kind") == KIND


__all__ = ["is_network_spec", "read_network_yaml"]

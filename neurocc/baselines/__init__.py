"""The conventional baseline: the same network as dense multiply-accumulates on a digital chip.

SNN energy papers compare with the network run densely on conventional hardware;
``neurocc report`` does the same with a published per-operation table
(``horowitz45nm.yaml``: Horowitz, ISSCC 2014, 45 nm; every figure with its source).
What is counted, per inference of ``T`` steps::

    MACs        = T * sum over projections of (target size x source size)   (dense: zeros too)
    E_float32   = MACs * (E_fp32_mult + E_fp32_add)  +  MACs * 32 bit * E_sram_bit
    E_int8      = MACs * (E_int8_mult + E_int32_add) +  MACs *  8 bit * E_sram_bit
    E_ac_fp32   = ACs * E_fp32_add                   (the literature's SNN formula, no memory)

with ``E_sram_bit = E_sram_8kb_read_64bit / 64`` (one weight read per MAC from an 8 KB SRAM)
and ``ACs`` the float reference's effective synaptic operations (NeuroBench's effective
ACs). Not counted: activation reads and writes, neuron state updates, DRAM, control.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from neurocc.backends.targets import TargetSchema, TargetSpec, parse_target, read_yaml
from neurocc.compiler.graph import Graph

TABLE_PATH = Path(__file__).resolve().parent / "horowitz45nm.yaml"
SCHEMA = TargetSchema({
    "arithmetic": {"energy_fp32_mult_pj": (float, 0), "energy_fp32_add_pj": (float, 0),
                   "energy_int8_mult_pj": (float, 0), "energy_int32_add_pj": (float, 0)},
    "memory": {"energy_sram_8kb_read_64bit_pj": (float, 0), "word_bits": (int, 1)},
})
FLOAT32_BITS, INT8_BITS = 32, 8
COUNTED = ("one multiply and one add per weight per time step (dense: zero weights and silent "
           "inputs included), one weight read from an 8 KB SRAM per MAC (priced per bit); not "
           "counted: activation reads and writes, neuron state updates, DRAM, control")


def load_table(path: str | Path = TABLE_PATH) -> TargetSpec:
    """The per-operation energy table (a TargetError names a bad key)."""
    return parse_target(read_yaml(Path(path)), SCHEMA, str(path))


def dense_macs_per_step(graph: Graph) -> int:
    """Multiply-accumulates of one dense time step: every (target, source) pair of every
    projection (NeuroBench's dense synaptic operations per step)."""
    return sum(graph.populations[p.target].size * graph.populations[p.source].size
               for p in graph.projections.values())


def _term(table: TargetSpec, count: float, keys: tuple[str, ...], bits: int = 0
          ) -> dict[str, Any]:
    """One row: ``count`` operations priced with the sum of ``keys`` plus ``bits`` SRAM bits."""
    per_op = sum(float(getattr(table, k)) for k in keys)
    per_bit = table.energy_sram_8kb_read_64bit_pj / table.word_bits
    arithmetic, memory = count * per_op, count * bits * per_bit
    sources = {k: table.entries[k].provenance() for k in keys}
    if bits:
        sources["energy_sram_8kb_read_64bit_pj"] = table.entries[
            "energy_sram_8kb_read_64bit_pj"].provenance()
    return {"operations_per_inference": count, "energy_per_op_pj": per_op,
            "weight_bits_read_per_op": bits, "arithmetic_pj": arithmetic, "memory_pj": memory,
            "energy_per_inference_pj": arithmetic + memory, "figures": sources}


def conventional_baseline(graph: Graph, steps_per_inference: float,
                          effective_acs_per_inference: float,
                          table: TargetSpec | None = None) -> dict[str, Any]:
    """Energy per inference of ``graph`` run densely in float32 and int8 (module docstring)."""
    table = table or load_table()
    macs = dense_macs_per_step(graph) * steps_per_inference
    rows: Mapping[str, dict[str, Any]] = {
        "dense_float32": _term(table, macs, ("energy_fp32_mult_pj", "energy_fp32_add_pj"),
                               FLOAT32_BITS),
        "dense_int8": _term(table, macs, ("energy_int8_mult_pj", "energy_int32_add_pj"),
                            INT8_BITS),
        "event_driven_fp32_ac": _term(table, effective_acs_per_inference,
                                      ("energy_fp32_add_pj",)),
    }
    return {"table": table.name, "description": table.description, "counted": COUNTED,
            "dense_macs_per_inference": macs, "rows": dict(rows),
            "notes": [f"{k}: {e.status} ({e.source})" for k, e in table.entries.items()
                      if e.status is not None]}

"""Every refusal of the YAML frontend: a FrontendError naming the file, the line and the key.

Each case is the valid BASE spec with one line replaced (or added); the
expected line is found in the spec text itself, so the cases do not depend on
line numbers typed by hand.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

from neurocc.compiler.errors import FrontendError
from neurocc.frontends.yaml import read_network_yaml

BASE = """\
kind: network
dt: 1 ms
populations:
  - name: inp
    model: input
    shape: 4
  - name: hid
    model: lif
    shape: [2, 3]
    params:
      tau: 20 ms
      v_threshold: 1.0
  - name: out
    model: li
    shape: 2
    params:
      tau: 10 ms
projections:
  - name: ff
    source: inp
    target: hid
    connect: {rule: fixed_probability, p: 0.5}
    weight: 0.5
  - name: rec
    source: hid
    target: hid
    connect: {rule: all_to_all}
    weight: -0.1
    delay: 1 ms
  - name: ro
    source: hid
    target: out
    connect: {rule: all_to_all}
    weight: 0.2
outputs: [out]
"""


def spec(tmp_path: Path, old: str | None = None, new: str = "", text: str = BASE) -> Path:
    if old is not None:
        assert old in text, old
        text = text.replace(old, new, 1)
    path = tmp_path / "net.yaml"
    path.write_text(text)
    return path


def line_of(path: Path, fragment: str) -> int:
    """The 1-based line holding ``fragment``."""
    return next(i for i, line in enumerate(path.read_text().splitlines(), 1) if fragment in line)


def refused(path: Path, pattern: str, **options: object) -> FrontendError:
    before = sorted(path.parent.iterdir())
    with pytest.raises(FrontendError, match=pattern) as caught:
        read_network_yaml(path, **options)
    assert sorted(path.parent.iterdir()) == before  # nothing written, not even partly
    return caught.value


def test_base_spec_is_valid(tmp_path):
    assert list(read_network_yaml(spec(tmp_path)).projections) == ["ff", "rec", "ro"]


# -- (old line, new line, fragment on the error's line, key, message) ---------------------------
CASES = [
    # unknown keys
    ("dt: 1 ms", "dt: 1 ms\nsolver: euler", "solver", "solver", r"not a key of the network"),
    ("    shape: [2, 3]", "    shape: [2, 3]\n    colour: red", "colour", "colour",
     r"not a key of a population"),
    ("      tau: 20 ms", "      tau_s: 20 ms", "tau_s", "tau_s",
     r"not a key of the params of a 'lif'.*write 'tau: 20 ms'"),
    ("{rule: fixed_probability, p: 0.5}", "{rule: fixed_probability, p: 0.5, q: 1}",
     "q: 1", "q", r"not a key of a 'fixed_probability' rule"),
    # wrong units
    ("      v_threshold: 1.0", "      v_threshold: 5 ms", "v_threshold", "v_threshold",
     r"is a time \('5 ms'\) where a voltage is expected"),
    ("      tau: 20 ms", "      tau: 20", "tau: 20", "tau",
     r"a number without a unit, where a time is expected"),
    ("      tau: 20 ms", "      tau: 20 parsecs", "tau:", "tau", r"unknown unit 'parsecs'"),
    ("      v_threshold: 1.0", "      v_threshold: 15 mV", "v_threshold", "v_threshold",
     r"names no voltage_unit"),
    ("      v_threshold: 1.0", "      v_threshold: 1.0\n      r: 2 mV", "r: 2", "r",
     r"takes no unit"),
    ("dt: 1 ms", "dt: 1 mV", "dt:", "dt", r"is a voltage .* where a time is expected"),
    ("    delay: 1 ms", "    delay: 1", "delay: 1", "delay", r"where a time is expected"),
    ("    weight: 0.5", "    weight: 0.5 ms", "weight: 0.5", "weight", r"where a voltage"),
    ("voltage_unit", None, None, None, None),  # placeholder removed below
    # bad shapes
    ("    shape: [2, 3]", "    shape: [2, 0]", "shape: [2, 0]", "shape",
     r"expected 1 to 3 positive integers"),
    ("    shape: [2, 3]", "    shape: [1, 2, 3, 4]", "shape: [1", "shape", r"1 to 3 positive"),
    ("    shape: [2, 3]", "    shape: ten", "shape: ten", "shape", r"1 to 3 positive"),
    ("    shape: [2, 3]", "    shape: [2.5, 3]", "shape: [2.5", "shape", r"1 to 3 positive"),
    ("    shape: [2, 3]", "    shape: [100000, 100000]", "shape: [1", "shape",
     r"10,000,000,000 neurons, more than the limit of 10,000,000 per population"),
    ("{rule: fixed_probability, p: 0.5}", "{rule: one_to_one}", "connect:", "connect",
     r"one_to_one needs equal sizes, got 4 -> 6"),
    ("    target: out\n    connect: {rule: all_to_all}",
     "    target: out\n    connect: {rule: distance_dependent, c: 0.5, lambda: 1}",
     "rule: distance_dependent", "connect", r"grids of one dimension, got shapes \[2, 3\]"),
    # duplicates
    ("      v_threshold: 1.0", "      v_threshold: 1.0\n      tau: 30 ms", "tau: 30", "tau",
     r"appears twice in one mapping \(first at line 11\)"),
    # values and references
    ("{rule: fixed_probability, p: 0.5}", "{rule: fixed_probability, p: 1.5}", "p: 1.5", "p",
     r"is 1.5, not a probability"),
    ("{rule: fixed_probability, p: 0.5}", "{rule: fixed_probability}", "rule: fixed", None,
     r"a 'fixed_probability' rule has no key 'p'"),
    ("{rule: fixed_probability, p: 0.5}", "{rule: nearest}", "rule: nearest", "connect",
     r"has rule 'nearest', not a known rule"),
    ("    source: inp", "    source: retina", "source: retina", "source",
     r"'retina', not a population"),
    ("    model: lif", "    model: izhikevich", "izhikevich", "model", r"not a neuron model"),
    ("      v_threshold: 1.0\n", "", "    params:", "params",
     r"of a 'lif' population need 'v_threshold'"),
    ("    weight: 0.5", "    weight: {distribution: cauchy, loc: 0}", "cauchy", "weight",
     r"has distribution 'cauchy'"),
    ("    weight: 0.5", "    weight: {distribution: normal, mean: 0, std: -1}", "std", "std",
     r"is negative"),
    ("    weight: 0.5", "    weight: {distribution: uniform, low: 2, high: 1}", "low: 2",
     "high", r"is below low"),
    ("    weight: 0.5\n", "", "  - name: ff", None, r"a projection has no key 'weight'"),
    ("    delay: 1 ms", "    delay: 0.4 ms", "delay: 0.4", "delay",
     r"0 steps on a projection from a population to itself"),
    ("    delay: 1 ms", "    delay: -1 ms", "delay: -1", "delay", r"delays are >= 0"),
    ("    model: lif", "    model: lif\n    reset: sideways", "sideways", "reset",
     r"'sideways'; a 'lif' population takes"),
    ("  - name: ro\n    source: hid\n    target: out",
     "  - name: ro\n    source: hid\n    target: inp", "target: inp", "target",
     r"is the input population 'inp'"),
    ("    weight: 0.2", "    weight: 0.2\n    receptor: dendrite", "dendrite", "receptor",
     r"'dendrite'; 'out' \(li\) has \['current'\]"),
    ("outputs: [out]", "outputs: [out, nowhere]", "outputs:", "outputs",
     r"names 'nowhere', which is not a population"),
    ("outputs: [out]", "outputs: [out]\ninputs: [hid]", "inputs:", "inputs",
     r"names 'hid', a 'lif' population"),
    ("seed", None, None, None, None),  # placeholder removed below
    ("kind: network", "kind: netwerk", "kind:", "kind", r"is 'netwerk', not 'network'"),
    ("dt: 1 ms", "dt: 0 ms", "dt:", "dt", r"the time step must be > 0"),
    ("dt: 1 ms", "dt: 1 ms\nvoltage_unit: ms", "voltage_unit", "voltage_unit",
     r"'ms', not a voltage unit"),
    ("dt: 1 ms", "dt: 1 ms\nseed: -3", "seed:", "seed", r"expected an integer >= 0"),
]
CASES = [case for case in CASES if case[1] is not None]


@pytest.mark.parametrize("old,new,fragment,key,message", CASES,
                         ids=[f"{i}-{c[3]}" for i, c in enumerate(CASES)])
def test_refusal_names_line_and_key(tmp_path, old, new, fragment, key, message):
    path = spec(tmp_path, old, new)
    error = refused(path, message)
    expected = f"net.yaml line {line_of(path, fragment)}"
    if key is not None:
        expected += f": key '{key}'"
    assert error.where == expected, (error.where, expected)


# -- cases that do not fit the table -------------------------------------------------------------
def test_tab_in_indentation(tmp_path):
    path = spec(tmp_path, "      tau: 10 ms", "\ttau: 10 ms")
    error = refused(path, r"indents with a tab character; YAML forbids tabs")
    assert error.where == f"net.yaml line {line_of(path, 'tau: 10 ms')}"


def test_yaml_syntax_error_names_the_line(tmp_path):
    path = spec(tmp_path, "    shape: 4", "    shape: [4")
    error = refused(path, r"not valid YAML")
    assert re.fullmatch(r"net\.yaml line \d+", error.where)


def test_a_target_file_is_sent_back(tmp_path):
    path = spec(tmp_path, text="name: mychip\nfamily: loihi\ndescription: a chip\n")
    error = refused(path, r"makes this a target file \(family 'loihi'\).*--target")
    assert error.where == "net.yaml line 2: key 'family'"


def test_a_file_without_kind(tmp_path):
    refused(spec(tmp_path, "kind: network\n", ""), r"net\.yaml: has no 'kind' key")


def test_not_a_mapping_at_the_top(tmp_path):
    refused(spec(tmp_path, text="- kind: network\n"), r"holds a list at the top")


def test_empty_file(tmp_path):
    refused(spec(tmp_path, text="# nothing\n"), r"net\.yaml: is empty")


def test_duplicate_population_and_projection_names(tmp_path):
    path = spec(tmp_path, "  - name: out\n", "  - name: hid\n")
    error = refused(path, r"population 'hid' is defined twice \(first at line 7\)")
    assert error.where == "net.yaml line 13: key 'name'"
    path = spec(tmp_path, "  - name: ro\n", "  - name: rec\n")
    error = refused(path, r"projection 'rec' is defined twice \(first at line 24\)")
    assert error.where == "net.yaml line 30"


CYCLE = """\
kind: network
populations:
  - {name: i, model: input, shape: 1}
  - {name: a, model: lif, shape: 2, params: {tau: 10 ms, v_threshold: 1}}
  - {name: b, model: lif, shape: 2, params: {tau: 10 ms, v_threshold: 1}}
projections:
  - {source: i, target: a, connect: {rule: all_to_all}, weight: 1}
  - {source: a, target: b, connect: {rule: one_to_one}, weight: 1}
  - {source: b, target: a, connect: {rule: one_to_one}, weight: 1}
outputs: [b]
"""


def test_zero_delay_cycle_through_two_populations(tmp_path):
    error = refused(spec(tmp_path, text=CYCLE), r"graph refuses: cycle a -> b -> a: has a "
                    r"synapse with 0 delay on every edge.*'delay: 1 ms' \(one step\)")
    assert error.where == "net.yaml"


def test_drawn_time_constant_below_zero_names_the_population(tmp_path):
    path = spec(tmp_path, "      tau: 20 ms", "      tau: {distribution: normal, mean: 1 ms, "
                "std: 10 ms}")
    error = refused(path, r"population 'hid' \(lif\): parameter 'tau_s' must be > 0")
    assert error.where == "net.yaml line 7"


def test_too_many_synapses(tmp_path):
    text = BASE.replace("    shape: 4\n", "    shape: 100000\n").replace(
        "    shape: [2, 3]", "    shape: [100, 1000]").replace(
        "  - name: rec\n    source: hid\n    target: hid\n    connect: {rule: all_to_all}",
        "  - name: rec\n    source: hid\n    target: hid\n    connect: {rule: one_to_one}").replace(
        "    target: out\n    connect: {rule: all_to_all}",
        "    target: out\n    connect: {rule: fixed_probability, p: 0.1}")
    error = refused(spec(tmp_path, text=text), r"about 5,000,\d+,\d+ synapses, more than the "
                    r"limit of 200,000,000")
    assert error.where == "net.yaml"


def test_dense_rule_above_the_limit(tmp_path):
    text = BASE.replace("    shape: [2, 3]", "    shape: [100, 1000]").replace(
        "{rule: fixed_probability, p: 0.5}", "{rule: all_to_all}").replace(
        "    shape: 4\n", "    shape: 1000\n")
    error = refused(spec(tmp_path, text=text), r"dense matrix of 100,000,000 entries is more "
                    r"than the limit of 50,000,000")
    assert "key 'connect'" in error.where


@pytest.fixture
def npz_spec(tmp_path):
    def make(connect: str) -> Path:
        return spec(tmp_path, "connect: {rule: fixed_probability, p: 0.5}\n    weight: 0.5",
                    f"connect: {connect}")
    return make


def test_npz_transposed(tmp_path, npz_spec):
    np.savez(tmp_path / "w.npz", w=np.ones((4, 6)))
    refused(npz_spec("{rule: from_npz, file: w.npz}"),
            r"shape \[4, 6\], expected \(target size, source size\) = \[6, 4\] \(it is "
            r"transposed\)")


def test_npz_ambiguous_and_unknown_key(tmp_path, npz_spec):
    np.savez(tmp_path / "w.npz", a=np.ones((6, 4)), b=np.ones((6, 4)))
    refused(npz_spec("{rule: from_npz, file: w.npz}"), r"holds the arrays \['a', 'b'\]; "
            r"which one\?")
    refused(npz_spec("{rule: from_npz, file: w.npz, key: c}"), r"key 'c' is not one of them")


def test_npz_missing_broken_nan_and_weight_given(tmp_path, npz_spec):
    refused(npz_spec("{rule: from_npz, file: none.npz}"), r"none\.npz does not exist")
    (tmp_path / "bad.npz").write_text("not a zip")
    refused(npz_spec("{rule: from_npz, file: bad.npz}"), r"cannot be read as \.npz")
    np.savez(tmp_path / "nan.npz", w=np.full((6, 4), np.nan))
    refused(npz_spec("{rule: from_npz, file: nan.npz}"), r"NaN or infinite weights")
    np.savez(tmp_path / "text.npz", w=np.full((6, 4), "x"))
    refused(npz_spec("{rule: from_npz, file: text.npz}"), r"dtype <U1, not numbers")
    np.savez(tmp_path / "w.npz", w=np.ones((6, 4)))
    path = spec(tmp_path, "connect: {rule: fixed_probability, p: 0.5}",
                "connect: {rule: from_npz, file: w.npz}")
    refused(path, r"from_npz projection takes its weights from the file")


def test_receptor_needed_for_two_receptor_models(tmp_path):
    text = BASE.replace("    model: lif\n    shape: [2, 3]\n    params:\n      tau: 20 ms",
                        "    model: lif_cur_exp\n    shape: [2, 3]\n    params:\n"
                        "      tau_mem: 20 ms\n      tau_syn_exc: 5 ms\n      tau_syn_inh: 5 ms")
    path = spec(tmp_path, text=text)
    error = refused(path, r"into 'hid' \(lif_cur_exp\) names no receptor")
    assert error.where == f"net.yaml line {line_of(path, '- name: ff')}"


def test_missing_file_and_wrong_suffix(tmp_path):
    with pytest.raises(FrontendError, match=r"cannot be read"):
        read_network_yaml(tmp_path / "absent.yaml")
    (tmp_path / "net.json").write_text("{}")
    with pytest.raises(FrontendError, match=r"suffix '\.json'"):
        read_network_yaml(tmp_path / "net.json")


def test_bad_dt_option(tmp_path):
    refused(spec(tmp_path), r"dt_s: is -1", dt_s=-1)


def test_key_that_is_not_a_name(tmp_path):
    refused(spec(tmp_path, "dt: 1 ms", "dt: 1 ms\n3: x"), r"has the key 3, not a name")

"""The torch frontend refuses what the graph cannot mean, naming the layer, its path and a fix.

Each case builds a small model with one offending layer or option and checks the
FrontendError: its ``where`` names the layer's path in the module and its class, and the
message names the option.
"""

from __future__ import annotations

from typing import Any

import pytest

from neurocc.compiler.errors import FrontendError
from neurocc.frontends.sinabs import read_module

torch = pytest.importorskip("torch")
sinabs = pytest.importorskip("sinabs")
sl = sinabs.layers
sa = sinabs.activation
nn = torch.nn


def single(**kw: Any) -> dict[str, Any]:
    return {"spike_fn": sa.SingleSpike, **kw}


def refused(model: Any, input_shape: Any = (4,)) -> FrontendError:
    with pytest.raises(FrontendError) as info:
        read_module(model, input_shape=input_shape, dt_s=1e-3)
    return info.value


def in_linear_model(neuron: Any) -> Any:
    return nn.Sequential(nn.Linear(4, 3), neuron)


NEURON_OPTIONS = {
    "MultiSpike": (sl.IAF(), "spike_fn=MultiSpike"),
    "MaxSpike": (sl.IAF(spike_fn=sa.MaxSpike(3)), "spike_fn=MaxSpike"),
    "min_v_mem": (sl.IAF(**single(min_v_mem=-1.0)), "min_v_mem=-1"),
    "reset_value": (sl.LIF(tau_mem=5.0, **single(reset_fn=sa.MembraneReset(reset_value=0.5))),
                    "reset_value=0.5"),
    "subtract_value": (sl.IAF(**single(reset_fn=sa.MembraneSubtract(subtract_value=2.0))),
                       "subtract_value=2.0"),
    "IAF tau_syn": (sl.IAF(tau_syn=3.0, **single()), "tau_syn"),
    "infinite tau": (sl.LIF(tau_mem=float("inf"), **single()), "alpha_mem"),
    "threshold shape": (sl.IAF(spike_threshold=torch.ones(5), **single()), "spike_threshold"),
}


@pytest.mark.parametrize("case", sorted(NEURON_OPTIONS))
def test_neuron_options_are_refused_by_name(case: str) -> None:
    neuron, option = NEURON_OPTIONS[case]
    error = refused(in_linear_model(neuron))
    assert error.where.endswith(f"layer '1' ({type(neuron).__name__})")
    assert option in error.what and error.hint


UNSUPPORTED = {
    "ReLU": nn.ReLU(),
    "MaxPool2d": nn.MaxPool2d(2),
    "SpikingMaxPooling2dLayer": sl.SpikingMaxPooling2dLayer((2, 2)),
    "ALIF": sl.ALIF(tau_mem=5.0, tau_adapt=5.0, adapt_scale=1.0),
    "LIFRecurrent": sl.LIFRecurrent(tau_mem=5.0, rec_connect=nn.Linear(3, 3)),
    "Conv3d": nn.Conv3d(1, 1, 1),
}


@pytest.mark.parametrize("name", sorted(UNSUPPORTED))
def test_unsupported_layers_name_class_and_path(name: str) -> None:
    model = nn.Sequential(nn.Linear(4, 3), nn.Sequential(sl.IAF(**single()), UNSUPPORTED[name]))
    error = refused(model)
    assert error.where == f"torch module Sequential, layer '1.1' ({name})"
    assert "cannot be lowered" in error.what and "Supported:" in error.hint


def test_a_module_that_is_not_sequential() -> None:
    class Net(nn.Module):
        def forward(self, x: Any) -> Any:
            return x

    error = refused(Net())
    assert "nn.Sequential" in error.what and error.where == "torch module Net"


LAYOUT_ERRORS = {
    "squeeze without FlattenTime": (
        nn.Sequential(nn.Linear(4, 3), sl.IAF(**single()), nn.Linear(3, 3),
                      sl.IAFSqueeze(batch_size=1, **single())), (4,), "layer '3'"),
    "UnflattenTime first": (nn.Sequential(sl.IAF(**single()), sl.UnflattenTime(2)), (4,),
                            "layer '1'"),
    "flatten merging time": (nn.Sequential(sl.IAF(**single()), nn.Flatten(1, 2)), (4,),
                             "layer '1'"),
    "linear on an image": (nn.Sequential(nn.Conv2d(1, 2, 3), nn.Linear(2, 2),
                                         sl.IAFSqueeze(batch_size=1, **single())),
                           (1, 5, 5), "layer '1'"),
    "conv on a flat signal": (nn.Sequential(nn.Conv2d(1, 2, 3),
                                            sl.IAFSqueeze(batch_size=1, **single())),
                              (25,), "layer '0'"),
    "membrane into a layer": (nn.Sequential(nn.Linear(4, 3), sl.ExpLeak(tau_mem=3.0),
                                            nn.Linear(3, 2), sl.IAF(**single())), (4,),
                              "layer '2'"),
}


@pytest.mark.parametrize("case", sorted(LAYOUT_ERRORS))
def test_layout_errors_name_the_layer(case: str) -> None:
    model, shape, where = LAYOUT_ERRORS[case]
    error = refused(model, shape)
    assert where in error.where and error.hint


POOL_AND_CONV_OPTIONS = {
    "padding_mode": (nn.Conv2d(1, 2, 3, padding=1, padding_mode="reflect"), "reflect"),
    "ceil_mode": (nn.AvgPool2d(2, ceil_mode=True), "ceil_mode"),
    "count_include_pad": (nn.AvgPool2d(3, padding=1, count_include_pad=False),
                          "count_include_pad"),
    "divisor_override": (nn.AvgPool2d(2, divisor_override=3), "divisor_override"),
    "sum pool ceil_mode": (sl.SumPool2d(2, ceil_mode=True), "ceil_mode"),
}


@pytest.mark.parametrize("case", sorted(POOL_AND_CONV_OPTIONS))
def test_pool_and_conv_options_are_refused(case: str) -> None:
    layer, option = POOL_AND_CONV_OPTIONS[case]
    model = nn.Sequential(layer, sl.IAFSqueeze(batch_size=1, **single()))
    error = refused(model, (1, 5, 5))
    assert "layer '0'" in error.where and option in error.what


def test_input_shape_is_needed_for_convolutions() -> None:
    model = nn.Sequential(nn.Conv2d(1, 2, 3), sl.IAFSqueeze(batch_size=1, **single()))
    error = refused(model, None)
    assert "input_shape" in error.what


@pytest.mark.parametrize("shape", [(), (0, 3), "abc"])
def test_bad_input_shapes(shape: Any) -> None:
    assert "input_shape" in refused(in_linear_model(sl.IAF(**single())), shape).what


def test_a_model_without_neurons() -> None:
    assert "no neuron layer" in refused(nn.Sequential(nn.Linear(4, 3))).what


def test_bad_time_step() -> None:
    with pytest.raises(FrontendError, match="time step"):
        read_module(in_linear_model(sl.IAF(**single())), input_shape=(4,), dt_s=-1.0)


def test_a_wrong_input_size_names_the_layer() -> None:
    error = refused(in_linear_model(sl.IAF(**single())), (5,))
    assert "layer '0' (Linear)" in error.where

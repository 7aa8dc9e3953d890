"""The crossbar family's compile options and engine (simulate) options.

Every non-ideality of the analog engine has a switch here; ``ideal=True`` turns them all
off at once (then the engine computes the quantized weights' product exactly: see
``docs/crossbar.md`` for the bound against the float reference).
"""

from __future__ import annotations

from dataclasses import dataclass, field

NON_IDEALITIES = ("programming_noise", "read_noise", "drift", "stuck", "d2d",
                  "line_resistance", "dac", "adc")


@dataclass(frozen=True)
class CrossbarOptions:
    """Compile options of the crossbar family."""

    weight_slices: int = field(default=1, metadata={
        "help": "devices (differential pairs) per weight: each slice holds one base-`levels` "
                "digit of the weight's magnitude code and has its own ADC conversion; the "
                "digits are shift-added digitally"})
    progress: bool = field(default=False, metadata={"record": False,
        "help": "a progress bar over the arrays built (counted first); worth it from about "
                "a thousand arrays"})


def _switch(what: str) -> bool:
    return field(default=True, metadata={"help": f"model {what} (false: ideal)"})


@dataclass(frozen=True)
class CrossbarEngineOptions:
    """Options of one run of the analog engine: device seed, time, non-idealities."""

    seed: int = field(default=0, metadata={
        "help": "device seed: programming noise, drift exponents, stuck devices and read "
                "noise are drawn from it (same artifact and seed: identical run)"})
    t_start_s: float = field(default=0.0, metadata={
        "help": "time from programming to the first step, in seconds (drift and 1/f noise "
                "are evaluated at t_start_s + step x dt)"})
    drift_compensation: bool = field(default=True, metadata={
        "help": "rescale each array's outputs digitally by its mean conductance at "
                "programming over that at the read time (aihwkit's global compensation)"})
    ideal: bool = field(default=False, metadata={
        "help": "turn every non-ideality off (overrides the switches below)"})
    programming_noise: bool = _switch("programming noise")
    read_noise: bool = _switch("read noise (per read)")
    drift: bool = _switch("conductance drift")
    stuck: bool = _switch("stuck-at-ON/OFF devices")
    d2d: bool = _switch("device-to-device read-gain variation")
    line_resistance: bool = _switch("first-order line-resistance loss")
    dac: bool = _switch("DAC quantization and clipping of the inputs")
    adc: bool = _switch("ADC quantization and clipping of the column currents")

    def on(self, name: str) -> bool:
        """Whether the non-ideality ``name`` is modelled in this run."""
        return not self.ideal and bool(getattr(self, name))

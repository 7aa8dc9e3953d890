"""The analog crossbar engine: programmed conductances, noisy reads, converters, digital neurons.

``run_artifact(artifact, spikes, seed=..., ...)`` runs a crossbar-family artifact. Every
hardware number comes from the artifact's resolved target; every weight from its ``crossbar``
section (signed slice digits per array). A run:

1. programs every array once from the digits and the device seed (``arrays.py``: programming
   noise, drift exponents, stuck devices, read gain, line-resistance loss; ``devices.py``:
   the statistical device models by ``device.kind``);
2. steps like the float reference (``graph.step_order()``, delays by ring buffer): for each
   non-input population, every array that feeds it is read with the delayed source spikes
   (DAC, drifted conductances at ``t_start_s + t dt``, per-read noise, ADC, digital
   shift-add and scale), the partial sums are added digitally per receptor, and the
   population steps with the reference's float64 neuron rules (the digital periphery runs
   in float: ``docs/crossbar.md``);
3. an array whose rows are all silent in a step is not read (``tiles_skipped``).

Counters: ``array_reads``, ``tiles_skipped``, ``conversions``, ``adc_clips``, ``dac_drives``,
``cell_reads``, ``synops``, ``spikes``, ``input_spikes``, ``neuron_updates``, ``steps``.
Options (``CrossbarEngineOptions``) switch each non-ideality off; ``ideal=True`` all.
"""

from neurocc.sim.crossbar.engine import run_artifact

__all__ = ["run_artifact"]

"""The SpiNNaker-style family: sPyNNaker's s16.15 LIF cores with 16-bit ring buffers.

``docs/spinnaker.md`` describes the arithmetic, the mapping and what is not built yet.
"""

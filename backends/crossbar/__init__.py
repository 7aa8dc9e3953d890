"""The resistive-memory crossbar family: weights as conductances (``docs/crossbar.md``)."""

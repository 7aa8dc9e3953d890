"""The resistive-memory crossbar family: weights as conductances, digital neurons (``docs/crossbar.md``)."""

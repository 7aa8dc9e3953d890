"""Engines that run artifacts: ``reference`` (float) and one exact engine per family."""

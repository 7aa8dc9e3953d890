"""neurocc."""

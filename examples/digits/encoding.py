"""Data for the digits example: scikit-learn's bundled 8×8 digits, encoded as Bernoulli spikes.

The data set ships inside scikit-learn (no download), so the example runs offline. Each pixel
(intensity 0..16) becomes an input neuron that fires at every time step with probability
``max_rate * intensity / 16``: a rate code with a seeded numpy Generator, so the same seed
always gives the same spike trains.
"""

from __future__ import annotations

import numpy as np
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

MAX_INTENSITY = 16.0  # load_digits pixels are integers 0..16
N_PIXELS = 64  # 8×8 images, flattened row by row
TEST_FRACTION = 0.25  # share of the 1797 samples held out for the test set


def load_split(seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Return ``(x_train, y_train, x_test, y_test)``: a seeded stratified split.

    Images are float64 of shape (n, 64) with intensities 0..16; labels are int64 0..9.
    """
    digits = load_digits()
    images = digits.data.astype(np.float64)
    labels = digits.target.astype(np.int64)
    x_train, x_test, y_train, y_test = train_test_split(
        images, labels, test_size=TEST_FRACTION, random_state=seed, stratify=labels
    )
    return x_train, y_train, x_test, y_test


def rate_encode(images: np.ndarray, n_steps: int, seed: int, max_rate: float) -> np.ndarray:
    """Bernoulli rate code: uint8 spikes of shape (batch, n_steps, 64).

    ``max_rate`` is the spike probability per time step of a pixel at full intensity (16);
    it must lie in [0, 1] because a step holds at most one spike.
    """
    if not 0.0 <= max_rate <= 1.0:
        raise ValueError(f"max_rate is a probability per step, got {max_rate} (need 0..1)")
    images = np.asarray(images, dtype=np.float64).reshape(len(images), -1)
    if images.shape[1] != N_PIXELS:
        raise ValueError(f"images must have {N_PIXELS} pixels, got {images.shape[1]}")
    probability = max_rate * np.clip(images, 0.0, MAX_INTENSITY) / MAX_INTENSITY
    rng = np.random.default_rng(seed)
    draws = rng.random((len(images), n_steps, N_PIXELS))
    return (draws < probability[:, None, :]).astype(np.uint8)

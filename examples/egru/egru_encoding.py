"""Data for the EGRU example: scikit-learn's 8×8 digits, read row by row as 0/1 spikes.

The data set ships inside scikit-learn (no download). An image is a sequence of its 8 rows,
one row per time step. Each pixel (intensity 0..16) becomes ``len(LEVELS)`` input neurons, a
thermometer code: neuron ``k`` of a pixel fires at that row's step when the intensity is at
least ``LEVELS[k]``. The code is deterministic (no random draws) and keeps 5 grey levels
(0, 1-4, 5-8, 9-12, 13-16) in binary spikes, which is what the graph's inputs carry.
"""

from __future__ import annotations

import numpy as np
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

SIDE = 8  # load_digits images are 8×8: 8 rows (time steps) of 8 pixels
LEVELS = (1, 5, 9, 13)  # thermometer thresholds on the 0..16 intensity
N_INPUTS = SIDE * len(LEVELS)  # input neurons per step: pixel-major, then level
N_STEPS = SIDE
TEST_FRACTION = 0.25  # share of the 1797 samples held out for the test set


def load_split(seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """``(x_train, y_train, x_test, y_test)``: a seeded stratified split of the images
    (n, 8, 8) as int64 intensities 0..16, and labels int64 0..9."""
    digits = load_digits()
    images = digits.images.astype(np.int64)
    labels = digits.target.astype(np.int64)
    x_train, x_test, y_train, y_test = train_test_split(
        images, labels, test_size=TEST_FRACTION, random_state=seed, stratify=labels)
    return x_train, y_train, x_test, y_test


def encode_rows(images: np.ndarray) -> np.ndarray:
    """uint8 spikes (n, 8 steps, 32): step t holds row t, neuron 4*pixel + k fires where
    the pixel's intensity is >= LEVELS[k]."""
    images = np.asarray(images).reshape(len(images), SIDE, SIDE)
    fired = images[..., None] >= np.asarray(LEVELS)  # (n, row, pixel, level)
    return fired.reshape(len(images), N_STEPS, N_INPUTS).astype(np.uint8)

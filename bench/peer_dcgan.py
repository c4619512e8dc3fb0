#!/usr/bin/python3
"""The PyTorch peer of bench --model dcgan: examples/dcgan's model (DCGAN on 28 x 28
images), same layers, init, losses and update rule (alternating, k = 1, D sees the fake
and the real rows in two passes, non-saturating G loss, Adam 2e-4 (0.5, 0.999)), on
synthetic images, at the same thread count. --model dcgan64: bench --model dcgan64's,
pytorch/examples' dcgan/main.py at 64 x 64 (nz 100, ngf = ndf = 64, 3 channels).

    /usr/bin/python3 bench/peer_dcgan.py [--model dcgan|dcgan64] [--batch 64] [--seconds S]
        [--threads N] [--penalty none|plain|wgan-gp|r1] [--order libgan|upstream]

--order: libgan's (the default; both sides do the same work) draws new noise for G's
update and runs G forward again, as Algorithm 1 and libgan's trainer do; upstream's
main.py trains G on the fakes D's update made, one G forward per step (D real first).

--penalty as bench's: plain is D without batch norm; wgan-gp (the Wasserstein loss) and r1
add their penalty, weight 10, on every step, by autograd's double backward
(create_graph=True), D without batch norm.

peak_rss_mb is the process's peak resident set (ru_maxrss), what bench_dcgan reads as
VmHWM; neither side holds a data set.
"""
import argparse
import resource
import statistics
import time

import torch
import torch.nn as nn
import torch.nn.functional as F


def dcgan_nets(batchnorm=True):
    d_mid = [nn.Conv2d(64, 128, 4, 2, 1, bias=False), nn.BatchNorm2d(128)] if batchnorm else [nn.Conv2d(64, 128, 4, 2, 1)]
    g = nn.Sequential(
        nn.Linear(100, 128 * 7 * 7, bias=False), nn.BatchNorm1d(128 * 7 * 7), nn.ReLU(),
        nn.Unflatten(1, (128, 7, 7)),
        nn.ConvTranspose2d(128, 64, 4, 2, 1, bias=False), nn.BatchNorm2d(64), nn.ReLU(),
        nn.ConvTranspose2d(64, 1, 4, 2, 1), nn.Tanh())
    d = nn.Sequential(
        nn.Conv2d(1, 64, 4, 2, 1), nn.LeakyReLU(0.2),
        *d_mid, nn.LeakyReLU(0.2),
        nn.Flatten(), nn.Linear(128 * 7 * 7, 1))
    for net in (g, d):
        for m in net.modules():
            if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear)):
                nn.init.normal_(m.weight, 0.0, 0.02)
                if m.bias is not None:
                    nn.init.zeros_(m.bias)
            elif isinstance(m, (nn.BatchNorm1d, nn.BatchNorm2d)):
                nn.init.normal_(m.weight, 1.0, 0.02)
                nn.init.zeros_(m.bias)
    return g, d


def dcgan64_nets(nz=100, ngf=64, ndf=64, nc=3):
    """pytorch/examples' dcgan/main.py Generator and Discriminator, its weights_init."""
    def block_t(ci, co, s, p):
        return [nn.ConvTranspose2d(ci, co, 4, s, p, bias=False), nn.BatchNorm2d(co), nn.ReLU(True)]

    def block(ci, co):
        return [nn.Conv2d(ci, co, 4, 2, 1, bias=False), nn.BatchNorm2d(co), nn.LeakyReLU(0.2, inplace=True)]

    g = nn.Sequential(
        nn.Unflatten(1, (nz, 1, 1)),
        *block_t(nz, ngf * 8, 1, 0), *block_t(ngf * 8, ngf * 4, 2, 1), *block_t(ngf * 4, ngf * 2, 2, 1),
        *block_t(ngf * 2, ngf, 2, 1), nn.ConvTranspose2d(ngf, nc, 4, 2, 1, bias=False), nn.Tanh())
    d = nn.Sequential(
        nn.Conv2d(nc, ndf, 4, 2, 1, bias=False), nn.LeakyReLU(0.2, inplace=True),
        *block(ndf, ndf * 2), *block(ndf * 2, ndf * 4), *block(ndf * 4, ndf * 8),
        nn.Conv2d(ndf * 8, 1, 4, 1, 0, bias=False), nn.Flatten())  # the sigmoid is in the loss
    for net in (g, d):
        for m in net.modules():
            if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d)):
                nn.init.normal_(m.weight, 0.0, 0.02)
            elif isinstance(m, nn.BatchNorm2d):
                nn.init.normal_(m.weight, 1.0, 0.02)
                nn.init.zeros_(m.bias)
    return g, d


def upstream_step(g, d, opt_g, opt_d, x):
    """dcgan/main.py's iteration: D on the real rows, then on fakes, then G on those
    same fakes through the updated D (BCE on D's logit: main.py's sigmoid + BCELoss)."""
    b = x.shape[0]
    ones, zeros = torch.ones(b, 1), torch.zeros(b, 1)
    opt_d.zero_grad(set_to_none=True)
    loss_real = F.binary_cross_entropy_with_logits(d(x), ones)
    loss_real.backward()
    fake = g(torch.randn(b, 100))
    loss_fake = F.binary_cross_entropy_with_logits(d(fake.detach()), zeros)
    loss_fake.backward()
    opt_d.step()
    opt_g.zero_grad(set_to_none=True)
    loss_g = F.binary_cross_entropy_with_logits(d(fake), ones)
    loss_g.backward()
    opt_g.step()
    return loss_fake + loss_real, loss_g


def input_grad_norms(d, x):
    """|grad_x D(x)| per row, kept in the graph for the penalty's own gradient."""
    x = x.detach().requires_grad_(True)
    (grad,) = torch.autograd.grad(d(x).sum(), x, create_graph=True)
    return grad.flatten(1).norm(dim=1)


def g_update(g, d, opt_g, b, wasserstein=False):
    """G's update through D, whose parameters take no gradient."""
    for p in d.parameters():
        p.requires_grad_(False)
    out = d(g(torch.randn(b, 100)))
    loss_g = -out.mean() if wasserstein else F.binary_cross_entropy_with_logits(out, torch.ones(b, 1))
    opt_g.zero_grad(set_to_none=True)
    loss_g.backward()
    opt_g.step()
    for p in d.parameters():
        p.requires_grad_(True)
    return loss_g


def penalised_step(g, d, opt_g, opt_d, x, penalty):
    """libgan's step with a penalty: D on the real and fake rows, plus the penalty, then G."""
    b = x.shape[0]
    with torch.no_grad():
        fake = g(torch.randn(b, 100))
    opt_d.zero_grad(set_to_none=True)
    if penalty == "wgan-gp":
        e = torch.rand(b, 1, 1, 1)
        loss_d = d(fake).mean() - d(x).mean() + 10 * ((input_grad_norms(d, e * x + (1 - e) * fake) - 1) ** 2).mean()
    else:
        loss_d = (F.binary_cross_entropy_with_logits(d(fake), torch.zeros(b, 1))
                  + F.binary_cross_entropy_with_logits(d(x), torch.ones(b, 1))
                  + 5 * (input_grad_norms(d, x) ** 2).mean())
    loss_d.backward()
    opt_d.step()
    return loss_d, g_update(g, d, opt_g, b, penalty == "wgan-gp")


def train_step(g, d, opt_g, opt_d, x):
    """One alternating step, libgan's order: D on fresh fakes then on the real rows (two
    passes: batch norm must not mix them), then G on fresh noise through D."""
    b = x.shape[0]
    ones, zeros = torch.ones(b, 1), torch.zeros(b, 1)
    with torch.no_grad():
        fake = g(torch.randn(b, 100))
    opt_d.zero_grad(set_to_none=True)
    loss_fake = F.binary_cross_entropy_with_logits(d(fake), zeros)
    loss_fake.backward()
    loss_real = F.binary_cross_entropy_with_logits(d(x), ones)
    loss_real.backward()
    opt_d.step()
    return loss_fake + loss_real, g_update(g, d, opt_g, b)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", choices=["dcgan", "dcgan64"], default="dcgan")
    ap.add_argument("--order", choices=["libgan", "upstream"], default="libgan")
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--seconds", type=float, default=5)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--penalty", choices=["none", "plain", "wgan-gp", "r1"], default="none")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    big = args.model == "dcgan64"
    if big and args.penalty != "none":
        ap.error("--model dcgan64 takes no --penalty")
    g, d = dcgan64_nets() if big else dcgan_nets(batchnorm=args.penalty == "none")
    shape = (3, 64, 64) if big else (1, 28, 28)
    if args.order == "upstream":
        step = upstream_step
    elif args.penalty in ("wgan-gp", "r1"):
        def step(*a):
            return penalised_step(*a, args.penalty)
    else:
        step = train_step
    opt_g = torch.optim.Adam(g.parameters(), lr=2e-4, betas=(0.5, 0.999))
    opt_d = torch.optim.Adam(d.parameters(), lr=2e-4, betas=(0.5, 0.999))
    b = args.batch

    def images():  # tanh's range, as the example scales the data
        return torch.rand(b, *shape) * 2 - 1

    window = 1 if big else 3  # steps per timed window
    for _ in range(3):
        step(g, d, opt_g, opt_d, images())
    windows, start = [], time.monotonic()
    while len(windows) < 5 or (time.monotonic() - start < args.seconds and len(windows) < 64):
        t0 = time.monotonic()
        for _ in range(window):
            step(g, d, opt_g, opt_d, images())
        windows.append((time.monotonic() - t0) / window)
    t = statistics.median(windows)
    print(f"pytorch {torch.__version__}, model {args.model}, order {args.order}, threads {torch.get_num_threads()}, "
          f"penalty {args.penalty}")
    print(f"{'batch':<6} {'steps/s':>10} {'samples/s':>11}")
    print(f"{b:<6} {1 / t:10.2f} {b / t:11.0f}")
    print(f"peak_rss_mb={resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.1f}")


if __name__ == "__main__":
    main()

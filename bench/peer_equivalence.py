#!/usr/bin/python3
"""Step for step, libgan and its PyTorch peer train the same thing.

The paper's MNIST model with dropout off (so neither side draws anything), the same
initial weights, the same real batches and the same noise, SGD with momentum, trained by
libgan, by the peer (bench/peer.py's train_step, which bench/peer_mnist.py uses) and by
the peer in double precision. Float rounding alone makes float runs drift apart (a
maxout unit whose pieces nearly tie can pick another winner), so the question is not
whether libgan equals the peer bit for bit but whether it stays as close to the
double-precision run as the peer's own float run does. Distances are measured relative
to how far the weights have moved from their start, so a wrong update cannot hide
behind small steps. This is what makes the two MNIST runs of bench/mnist_vs_peer.sh the
same recipe, their scores differing by their random streams alone.

    LIBGAN_PATH=build/libgan.so.0 /usr/bin/python3 bench/peer_equivalence.py [--steps N]

Exits 1 if libgan's largest distance exceeds --factor (default 3) times the peer's.
"""
import argparse
import math
import os
import sys

import numpy as np
import torch

here = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, here)
sys.path.insert(0, os.path.join(here, "..", "python"))  # the libgan package
import libgan as gan  # noqa: E402
from peer import paper_nets, train_step  # noqa: E402

BATCH, ZDIM, DIM = 100, 100, 784
NOISE = math.sqrt(3.0)


def libgan_nets():
    g, d = gan.Net(ZDIM), gan.Net(DIM)
    for layer in (gan.Layer.dense(ZDIM, 1200), gan.Layer.activation("relu"), gan.Layer.dense(1200, 1200),
                  gan.Layer.activation("relu"), gan.Layer.dense(1200, DIM), gan.Layer.activation("sigmoid")):
        g.add(layer)
    for layer in (gan.Layer.dropout(1.0), gan.Layer.maxout(DIM, 240, 5), gan.Layer.dropout(1.0),
                  gan.Layer.maxout(240, 240, 5), gan.Layer.dropout(1.0), gan.Layer.dense(240, 1),
                  gan.Layer.activation("sigmoid")):
        d.add(layer)
    return g, d


def linears(net):
    return [m.lin if hasattr(m, "lin") else m for m in net.modules() if isinstance(m, torch.nn.Linear)]


def copy_weights(src, dst):
    """libgan's layers (weights in x out, then biases) into the torch Linears, in order."""
    p = np.asarray(src.params).reshape(-1)
    with torch.no_grad():
        for info, lin in zip([info for info in src.layers() if info["num_params"]], linears(dst)):
            n_in, n_out = lin.in_features, lin.out_features
            w = p[info["offset"]:info["offset"] + n_in * n_out].reshape(n_in, n_out)
            b = p[info["offset"] + n_in * n_out:info["offset"] + info["num_params"]]
            lin.weight.copy_(torch.from_numpy(w.T.copy()))
            lin.bias.copy_(torch.from_numpy(b.copy()))


def flat_torch(net):
    """The torch weights in libgan's layout, to compare with its flat buffer."""
    parts = []
    for lin in linears(net):
        parts += [lin.weight.detach().numpy().T.reshape(-1), lin.bias.detach().numpy()]
    return np.concatenate(parts)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--steps", type=int, default=20)
    ap.add_argument("--factor", type=float, default=3.0)
    args = ap.parse_args()
    torch.set_num_threads(1)
    rs = np.random.default_rng(1)
    xs = rs.random((args.steps, BATCH, DIM), dtype=np.float32)
    zs = ((rs.random((args.steps, 2, BATCH, ZDIM), dtype=np.float32) * 2 - 1) * NOISE).astype(np.float32)

    g, d = libgan_nets()
    init = gan.Rng(5)
    g.init(init, "uniform", 0.05)
    d.init(init, "uniform", 0.005)
    tg, td = paper_nets(drop_in=0.0, drop_hidden=0.0)
    copy_weights(g, tg)
    copy_weights(d, td)
    rg, rd = paper_nets(drop_in=0.0, drop_hidden=0.0)  # the reference: the peer in double precision
    copy_weights(g, rg)
    copy_weights(d, rd)
    rg.double()
    rd.double()
    og, od = gan.Optim.sgd(0.1, 0.5), gan.Optim.sgd(0.1, 0.5)
    sgd = lambda net: torch.optim.SGD(net.parameters(), lr=0.1, momentum=0.5)  # noqa: E731
    topt_g, topt_d, ropt_g, ropt_d = sgd(tg), sgd(td), sgd(rg), sgd(rd)

    t = gan.Trainer(g, d, og, od)
    t.set_batch_size(BATCH)
    calls = {"data": 0, "noise": 0}

    def data(rng, x, cond, batch):
        x[:] = xs[calls["data"]]
        calls["data"] += 1

    def noise(rng, z, batch, dim):  # the step's D update draws first, then its G update
        z[:] = zs[calls["noise"] // 2, calls["noise"] % 2]
        calls["noise"] += 1

    t.set_data(data)
    t.set_noise(noise)
    start = [np.asarray(n.params).reshape(-1).copy() for n in (g, d)]
    worst = [0.0] * 4  # G libgan, G pytorch, D libgan, D pytorch
    for step in range(args.steps):
        stats = t.step()
        x, z = torch.from_numpy(xs[step]), [torch.from_numpy(v) for v in zs[step]]
        loss_d, loss_g = train_step(tg, td, topt_g, topt_d, x, zs=z)
        train_step(rg, rd, ropt_g, ropt_d, x.double(), zs=[v.double() for v in z])
        diffs = []
        for mine, theirs, ref, p0 in ((g, tg, rg, start[0]), (d, td, rd, start[1])):
            a, b, r = np.asarray(mine.params).reshape(-1), flat_torch(theirs), flat_torch(ref)
            moved = np.max(np.abs(r - p0))
            diffs += [float(np.max(np.abs(a - r)) / moved), float(np.max(np.abs(b - r)) / moved)]
        worst = [max(w, v) for w, v in zip(worst, diffs)]
        print(f"step {step + 1:3d}: loss_d {stats['loss_d']:.6f} / {loss_d.item():.6f}  "
              f"loss_g {stats['loss_g']:.6f} / {loss_g.item():.6f}  "
              f"off the double-precision run, per distance moved: G libgan {diffs[0]:.1e} pytorch {diffs[1]:.1e}"
              f"  D libgan {diffs[2]:.1e} pytorch {diffs[3]:.1e}")
    ok = all(mine <= args.factor * max(theirs, 1e-4) for mine, theirs in (worst[0:2], worst[2:4]))
    print(f"largest distance over {args.steps} steps: G libgan {worst[0]:.1e} pytorch {worst[1]:.1e}, "
          f"D libgan {worst[2]:.1e} pytorch {worst[3]:.1e}: "
          f"{'the same training, to float rounding' if ok else 'DIFFERENT'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())

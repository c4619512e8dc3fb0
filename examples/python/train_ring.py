#!/usr/bin/env python3
"""train_ring.py: a GAN on the ring of 8 Gaussians from Python, through the libgan package
(python/ in the source tree), with the recipe of examples/mixture2d.c, which is also the
package's Trainer defaults. The data callback is Python and draws only from the
trainer's data stream, so a run is reproducible from --seed (and identical with and
without numpy). After training, G is saved with gan_net_save, reloaded with gan_net_load
and must generate bit-identical outputs. The last line is the score:
modes=<covered>/8 hq=<% of samples within 3 sigma of a mode>.

    PYTHONPATH=python LIBGAN_PATH=build/libgan.so.0 python3 examples/python/train_ring.py [--steps 5000]

(Once libgan is installed, `import libgan` needs neither variable.)
"""
import argparse
import hashlib
import math
import os
import sys
import tempfile

import libgan as gan

K, SIGMA, LR, N_EVAL = 8, 0.01, 1e-3, 2500
MODES = [(math.cos(2 * math.pi * k / K), math.sin(2 * math.pi * k / K)) for k in range(K)]


def ring_data():
    """A data callback: a uniform mode plus N(0, SIGMA^2) per axis, from the rng it is given.
    Both versions compute centre + noise in double and round once to float32."""
    np = gan.numpy
    if np is not None:
        centres = np.array(MODES, dtype=np.float64)

        def data(rng, x, cond, batch):
            k = rng.fill_uniform(np.empty(batch, np.float32), 0.0, K).astype(np.intp)
            np.minimum(k, K - 1, out=k)  # float rounding can give K
            rng.fill_normal(x, 0.0, SIGMA)
            x[...] = centres[k] + x
        return data

    from array import array

    def data(rng, x, cond, batch):  # x: a flat array('f') of batch * 2 floats
        k = rng.fill_uniform(array("f", bytes(4 * batch)), 0.0, K)
        rng.fill_normal(x, 0.0, SIGMA)
        for i in range(batch):
            cx, cy = MODES[min(int(k[i]), K - 1)]
            x[2 * i] = cx + x[2 * i]
            x[2 * i + 1] = cy + x[2 * i + 1]
    return data


def mlp(in_dim, hidden, layers, out_dim, act):
    net = gan.Net(in_dim)
    for _ in range(layers):
        net.add(gan.Layer.dense(net.out_dim, hidden)).add(gan.Layer.activation(act))
    return net.add(gan.Layer.dense(net.out_dim, out_dim))


def score(xy):
    """(modes covered, % high quality): a sample within 3 sigma of its nearest mode."""
    xy = gan.flat(xy)
    covered, hq = set(), 0
    for i in range(len(xy) // 2):
        x, y = float(xy[2 * i]), float(xy[2 * i + 1])
        d2, k = min(((x - mx) ** 2 + (y - my) ** 2, k) for k, (mx, my) in enumerate(MODES))
        if math.sqrt(d2) <= 3 * SIGMA:
            covered.add(k)
            hq += 1
    return len(covered), 100.0 * hq / (len(xy) // 2)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--steps", type=int, default=5000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--min-modes", type=int, default=0, help="exit 1 when fewer modes are covered")
    args = ap.parse_args()
    if args.steps < 1:
        ap.error("--steps must be at least 1")
    print("libgan %s from Python (%s): ring of %d Gaussians, %d steps, seed %d"
          % (gan.version(), "numpy" if gan.numpy is not None else "no numpy", K, args.steps, args.seed))

    # G: z (2) -> 3 x 128 ReLU -> 2; D: 2 -> 3 x 128 leaky ReLU -> 1 logit.
    # The Trainer's defaults are mixture2d's: Adam (lr 1e-3, betas 0.5, 0.999), batch 256,
    # normal noise, the non-saturating loss.
    with mlp(2, 128, 3, 2, "relu") as g, mlp(2, 128, 3, 1, "leaky_relu") as d, \
            gan.Trainer(g, d, seed=args.seed) as t:
        init = t.rng("init")  # initialise from the trainer's stream: the seed decides everything
        g.init(init, "he")
        d.init(init, "he")
        t.set_data(ring_data())
        opt_g, opt_d = t.opt_g, t.opt_d

        # After each step: the learning rate falls linearly to 0 over the second half.
        start, every = args.steps / 2, max(args.steps // 5, 1)

        def on_step(s):
            f = 1.0 if s["step"] <= start else (args.steps - s["step"]) / (args.steps - start)
            opt_g.lr = opt_d.lr = f * LR
            if s["step"] % every == 0:
                print("step %5d  loss_d %.3f  loss_g %.3f  D(real) %.2f  D(fake) %.2f"
                      % (s["step"], s["loss_d"], s["loss_g"], s["d_real"], s["d_fake"]), flush=True)

        t.run(args.steps, on_step)
        xy = t.generate(N_EVAL)

        # Save G, load it back: the reloaded net must compute exactly what G computes.
        z = gan.Rng(args.seed + 1000).fill_normal(gan.zeros(N_EVAL, 2))
        with tempfile.TemporaryDirectory() as tmp:
            path = os.path.join(tmp, "g.gan")
            g.save(path)
            with gan.Net.load(path) as g2:
                same = (g2.get_params().tobytes() == g.get_params().tobytes()
                        and g2.forward(z).tobytes() == g.forward(z).tobytes())
        if not same:
            print("train_ring: the net reloaded from %s differs from G" % path, file=sys.stderr)
            return 1
        print("G saved and reloaded: identical outputs")

    print("samples sha256 %s" % hashlib.sha256(xy.tobytes()).hexdigest()[:16])
    covered, hq = score(xy)
    print("modes=%d/%d hq=%.1f" % (covered, K, hq))
    return 0 if covered >= args.min_modes else 1


if __name__ == "__main__":
    sys.exit(main())

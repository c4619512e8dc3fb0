#!/usr/bin/env python3
"""examples/dcgan.c's model, built and trained in Python, computes the C program's bits.

The test writes a small IDX data set (random pixels: 1000 validation rows, as dcgan.c
takes, and 192 training rows, three batches of 64), runs the built examples/dcgan on it
for one epoch of three steps with --log (every step's statistics), --save (the trainer's
checkpoint after the epoch) and --samples (the rows it scores, drawn from the noise
stream after training), then builds the same model in Python (the same layers, DCGAN
init from the trainer's init stream, Adam, batch 64, normal noise, G steps, seed and the
same data callback: the sampler's rows scaled to [-1, 1]) and requires its three steps'
statistics, its checkpoint and its samples to equal the C program's, bit for bit. Two
recipes: dcgan.c's own, and pytorch/examples' (--recipe peer) with spectral norm in D,
an EMA of G and batch statistics for sampling.

python/meson.build passes the program's path in LIBGAN_DCGAN when the examples are
built; without it the comparison skips and only the model's sizes are checked.
"""
import array
import csv
import os
import random
import struct
import subprocess
import tempfile
import unittest

import libgan as gan

DCGAN = os.environ.get("LIBGAN_DCGAN")
np = gan.numpy

SIDE, DIM, ZDIM, CLASSES, BATCH, N_VALID = 28, 28 * 28, 100, 10, 64, 1000
TRAIN_ROWS, STEPS, TEST_ROWS, SAMPLES, SEED = 3 * 64, 3, 10, 100, 1


# ------------------------------------------------------------- dcgan.c in Python

def generator():
    """dcgan.c's generator(): z (100) -> dense 128*7*7 (no bias) + BN + ReLU -> reshape
    -> transposed conv 4x4 s2 p1 to 64x14x14 (no bias) + BN + ReLU -> transposed conv to
    1x28x28 -> tanh."""
    g = gan.Net(ZDIM)
    g.add(gan.Layer.dense(ZDIM, 128 * 7 * 7, bias=False))
    g.add(gan.Layer.batchnorm(128 * 7 * 7, 0.1, 1e-5))
    g.add(gan.Layer.activation("relu"))
    g.add(gan.Layer.reshape(128, 7, 7))
    g.add(gan.Layer.conv2d_transpose(128, 64, 4, 2, 1, 0, bias=False))
    g.add(gan.Layer.batchnorm(64, 0.1, 1e-5))
    g.add(gan.Layer.activation(gan.ACT_RELU))
    g.add(gan.Layer.conv2d_transpose(64, 1, 4, 2, 1, 0))
    g.add(gan.Layer.activation("tanh"))
    return g


def discriminator(sn=0):
    """dcgan.c's discriminator() (unconditional): conv 4x4 s2 p1 1 -> 64 + leaky ReLU 0.2
    -> conv 64 -> 128 (no bias) + BN + leaky ReLU 0.2 -> dense to one logit; with sn,
    spectral norm of sn power steps on the first and the last layer."""
    def normalised(layer):
        return layer.spectral_norm(sn) if sn else layer
    d = gan.Net.image(1, SIDE, SIDE)
    d.add(normalised(gan.Layer.conv2d(1, 64, 4, 2, 1)))
    d.add(gan.Layer.leaky_relu(0.2))
    d.add(gan.Layer.conv2d(64, 128, 4, 2, 1, bias=False))
    d.add(gan.Layer.batchnorm(128, 0.1, 1e-5))
    d.add(gan.Layer.leaky_relu(0.2))
    d.add(normalised(gan.Layer.dense(128 * 7 * 7, 1)))
    return d


def load_data(data_dir, train_rows):
    """dcgan.c's data_load(): the last 1000 training rows validate, the first train_rows
    train, drawn by an epochs sampler."""
    everything = gan.Dataset.load_idx(os.path.join(data_dir, "train-images-idx3-ubyte"),
                                      os.path.join(data_dir, "train-labels-idx1-ubyte"))
    train, _ = everything.split(len(everything) - N_VALID)
    if train_rows < len(train):
        train, _ = train.split(train_rows)
    return gan.Sampler(train, "epochs")


def real_rows(sampler):
    """dcgan.c's real_rows(): the sampler's rows, scaled from [0, 1] to tanh's [-1, 1]."""
    def fill(rng, x, cond, batch):
        rows, _ = sampler.sample(rng, batch)
        if np is not None:
            x[...] = 2 * rows - 1  # float32 throughout, as in C
        else:
            x[:] = array.array("f", (2.0 * v - 1.0 for v in rows))  # exact in double, then rounded once
    return fill


def model(sampler, recipe):
    """dcgan.c's model_setup() for recipe 'libgan' (its defaults) or 'peer' with --sn 1
    --ema 0.99 --sample-stats batch."""
    peer = recipe == "peer"
    g, d = generator(), discriminator(sn=1 if peer else 0)
    opt_g, opt_d = gan.Optim.adam(2e-4, 0.5, 0.999, 1e-8), gan.Optim.adam(2e-4, 0.5, 0.999, 1e-8)
    t = gan.Trainer(g, d, opt_g, opt_d, batch_size=BATCH, noise_std=1.0, loss="non_saturating", seed=SEED)
    t.set_g_steps(1 if peer else 2)
    t.set_data(real_rows(sampler))
    init = t.rng("init")
    g.init(init, "dcgan", 1.0)
    d.init(init, gan.INIT_DCGAN, 1.0)
    if peer:
        t.set_ema(0.99)  # after init, as dcgan.c: it averages from there
        t.set_generate_stats("batch")
    return t


C_FLAGS = {"libgan": [], "peer": ["--recipe", "peer", "--sn", "1", "--ema", "0.99", "--sample-stats", "batch"]}


# ------------------------------------------------------------- the data and the C run

def write_idx(path, dims, data):
    with open(path, "wb") as f:
        f.write(bytes([0, 0, 8, len(dims)]) + struct.pack(">%dI" % len(dims), *dims) + bytes(data))


def write_data(data_dir):
    r = random.Random(23)
    n = N_VALID + TRAIN_ROWS + BATCH  # more than --train-rows: dcgan.c then splits them off
    write_idx(os.path.join(data_dir, "train-images-idx3-ubyte"), [n, SIDE, SIDE], r.randbytes(n * DIM))
    write_idx(os.path.join(data_dir, "train-labels-idx1-ubyte"), [n], [i % CLASSES for i in range(n)])
    write_idx(os.path.join(data_dir, "t10k-images-idx3-ubyte"), [20, SIDE, SIDE], r.randbytes(20 * DIM))
    write_idx(os.path.join(data_dir, "t10k-labels-idx1-ubyte"), [20], [i % CLASSES for i in range(20)])


def run_c(data_dir, out, recipe):
    """Run examples/dcgan for one epoch of STEPS steps; (log rows, checkpoint, samples)."""
    os.makedirs(out)
    paths = {k: os.path.join(out, k) for k in ("log.csv", "ck.gan", "samples.f32")}
    cmd = [DCGAN, "--epochs", "1", "--train-rows", str(TRAIN_ROWS), "--test-rows", str(TEST_ROWS),
           "--parzen", str(SAMPLES), "--seed", str(SEED), "--threads", "1", "--data", data_dir, "--out", out,
           "--log", paths["log.csv"], "--save", paths["ck.gan"], "--samples", paths["samples.f32"]] + C_FLAGS[recipe]
    r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, universal_newlines=True)
    if r.returncode != 0:
        raise AssertionError("%s failed (%d):\n%s%s" % (" ".join(cmd), r.returncode, r.stdout, r.stderr))
    with open(paths["log.csv"], newline="") as f:
        log = list(csv.DictReader(f))
    with open(paths["ck.gan"], "rb") as f:
        ck = f.read()
    with open(paths["samples.f32"], "rb") as f:
        samples = f.read()
    return log, ck, samples


def f32(v):
    """v rounded to float32, as the log writes it (the shortest text that reads back)."""
    return struct.unpack("f", struct.pack("f", float(v)))[0]


class TestDcgan(unittest.TestCase):
    maxDiff = None  # a mismatch prints both sides in full

    def test_model_sizes_and_shapes(self):
        g, d = generator(), discriminator()
        # Weights without the biases dcgan.c drops, batch norm's scales and shifts, and its
        # running means and variances as state.
        self.assertEqual(g.num_params, 100 * 6272 + 2 * 6272 + 128 * 16 * 64 + 2 * 64 + 64 * 16 * 1 + 1)
        self.assertEqual(g.num_state, 2 * 6272 + 2 * 64)
        self.assertEqual(d.num_params, 16 * 64 + 64 + 64 * 16 * 128 + 2 * 128 + 6272 + 1)
        self.assertEqual(d.num_state, 2 * 128)
        self.assertEqual((g.in_shape, g.out_shape, d.in_shape, d.out_shape),
                         ((100, 1, 1), (1, 28, 28), (1, 28, 28), (1, 1, 1)))
        kinds = [layer["kind"] for layer in g.layers()]
        self.assertEqual(kinds, ["dense", "batchnorm", "activation", "reshape", "conv2d_transpose", "batchnorm",
                                 "activation", "conv2d_transpose", "activation"])
        self.assertEqual([layer["kind"] for layer in discriminator(sn=1).layers()],
                         ["conv2d", "activation", "conv2d", "batchnorm", "activation", "dense"])
        self.assertEqual(discriminator(sn=1).num_state - d.num_state, (64 + 16) + (1 + 6272))  # u and v vectors

    @unittest.skipUnless(DCGAN, "LIBGAN_DCGAN (the built examples/dcgan) is not set; python/meson.build sets it "
                                "when the examples are built")
    def test_first_steps_equal_the_c_example(self):
        with tempfile.TemporaryDirectory() as tmp:
            write_data(tmp)
            for recipe in ("libgan", "peer"):
                with self.subTest(recipe=recipe):
                    log, ck, samples = run_c(tmp, os.path.join(tmp, recipe), recipe)
                    sampler = load_data(tmp, TRAIN_ROWS)
                    t = model(sampler, recipe)
                    stats = []
                    t.run(STEPS, stats.append)
                    self.assertEqual(len(log), STEPS)
                    for row, s in zip(log, stats):
                        c_side = {k: f32(v) for k, v in row.items() if k != "step"}
                        py_side = {k: f32(s[k]) for k in c_side}
                        self.assertEqual((int(row["step"]), py_side), (s["step"], c_side),
                                         "step %s of recipe %s: Python (left) and examples/dcgan (right) differ"
                                         % (row["step"], recipe))
                    self.assertEqual(len(t.to_bytes()), len(ck))
                    self.assertTrue(t.to_bytes() == ck, "the checkpoints differ")
                    x = t.generate(SAMPLES)  # the rows dcgan.c scores: the noise stream's, mapped to [0, 1]
                    x = 0.5 * (x + 1) if np is not None else array.array("f", (0.5 * (v + 1) for v in x))
                    self.assertTrue(gan.flat(x).tobytes() == samples, "the samples differ")
                    t.close()


if __name__ == "__main__":
    unittest.main(verbosity=2)

#!/usr/bin/env python3
"""Tests of the libgan package: errors, ownership, shapes, callbacks, checkpoints, data
sets, samplers and evaluation. Run with LIBGAN_PATH pointing at libgan.so.0 and the
package on PYTHONPATH; put tests/no_numpy first on PYTHONPATH to test without numpy
(LIBGAN_TEST_NUMPY=0 or 1 then asserts which way it ran)."""
import array
import gc
import math
import os
import re
import struct
import subprocess
import sys
import tempfile
import unittest
import weakref

import libgan as gan

HERE = os.path.dirname(os.path.abspath(__file__))
PACKAGE_DIR = os.path.dirname(HERE)
RING = os.path.join(os.path.dirname(PACKAGE_DIR), "examples", "python", "train_ring.py")
NO_NUMPY = os.path.join(HERE, "no_numpy")
np = gan.numpy


def mlp(in_dim, hidden, out_dim, act="relu"):
    return gan.Net(in_dim).add(gan.Layer.dense(in_dim, hidden)).add(gan.Layer.activation(act)) \
        .add(gan.Layer.dense(hidden, out_dim))


def data_fn(rng, x, cond, batch):
    rng.fill_normal(x, 2.0, 0.5)


class Boom(Exception):
    pass


def make_trainer(seed=3, batch=32):
    g, d = mlp(2, 16, 2), mlp(2, 16, 1, "leaky_relu")
    t = gan.Trainer(g, d, gan.Optim.adam(1e-3, 0.5), gan.Optim.adam(1e-3, 0.5), batch_size=batch, seed=seed)
    g.init(t.rng("init"), "he")
    d.init(t.rng("init"), "he")
    t.set_data(data_fn)
    return t


def raw(a):
    return gan.flat(a).tobytes()


def idx(header_dims, data):
    """The bytes of an IDX file of unsigned bytes."""
    return bytes([0, 0, 8, len(header_dims)]) + struct.pack(">%dI" % len(header_dims), *header_dims) + bytes(data)


class TestBasics(unittest.TestCase):
    def test_ran_with_or_without_numpy_as_asked(self):
        want = os.environ.get("LIBGAN_TEST_NUMPY")
        if want is None:
            self.skipTest("LIBGAN_TEST_NUMPY not set")
        self.assertEqual(gan.numpy is not None, want == "1")

    def test_version(self):
        self.assertRegex(gan.version(), r"^\d+\.\d+\.\d+$")
        major, minor, patch = map(int, gan.version().split("."))
        self.assertEqual(gan.version_number(), major * 10000 + minor * 100 + patch)
        self.assertIsInstance(gan.features(), int)
        # The package, its pyproject.toml and the library built beside them agree.
        with open(os.path.join(PACKAGE_DIR, "pyproject.toml")) as f:
            pyproject = re.search(r'^version = "([^"]+)"', f.read(), re.M).group(1)
        self.assertEqual(gan.__version__, pyproject)
        self.assertEqual(gan.__version__, gan.version())

    def test_error_carries_code_strerror_and_detail(self):
        with self.assertRaises(gan.GanError) as cm:
            gan.Layer.dense(0, 3)
        e = cm.exception
        self.assertEqual(e.code, gan.EINVAL)
        self.assertEqual(e.strerror, gan.strerror(gan.EINVAL))
        self.assertIn("gan_layer_dense", e.detail)
        self.assertIn(e.detail, str(e))
        self.assertIsInstance(e, Exception)

    def test_rng_is_reproducible(self):
        a, b = gan.Rng(7), gan.Rng(7)
        self.assertEqual([a.uniform() for _ in range(5)], [b.uniform() for _ in range(5)])
        x, y = gan.zeros(4, 3), gan.zeros(4, 3)
        self.assertEqual(raw(a.fill_normal(x, 1, 2)), raw(b.fill_normal(y, 1, 2)))
        a.seed(7)
        b.seed(7)
        self.assertEqual(a.normal(), b.normal())
        with self.assertRaises(TypeError):
            a.fill_uniform(b"read-only bytes")
        a.close()
        with self.assertRaises(ValueError):
            a.uniform()


class TestShapes(unittest.TestCase):
    """Arguments are checked for their shape, not only their size."""

    def assertShapeError(self, call, *needles):
        with self.assertRaises(ValueError) as cm:
            call()
        for needle in needles:
            self.assertIn(needle, str(cm.exception))

    def test_transposed_arrays_are_refused_naming_both_shapes(self):
        g, d = mlp(5, 8, 2), mlp(4, 8, 1)  # 3 noise + 2 condition -> 2; 2 + 2 -> 1
        t = gan.Trainer(g, d, cond_dim=2)
        g.init(gan.Rng(1))
        self.assertEqual((t.data_dim, t.cond_dim, t.noise_dim), (2, 2, 3))
        z = [[0.0] * 3] * 3
        t.generate(3, z, [[1, 0], [0, 1], [1, 0]])
        self.assertShapeError(lambda: t.generate(3, z, [[1, 0, 1], [0, 1, 0]]),
                              "Trainer.generate: cond has shape (2, 3), expected (3, 2)")
        self.assertShapeError(lambda: t.generate(3, [[0.0] * 3] * 2, [[1, 0]] * 3), "z has shape (2, 3)")
        self.assertShapeError(lambda: t.generate(3, [0.0] * 8, [[1, 0]] * 3), "z has 8 values, expected 3 x 3 = 9")
        self.assertShapeError(lambda: g.forward([[1.0] * 3] * 5), "Net.forward: x has shape (5, 3), expected (n, 5)")
        self.assertShapeError(lambda: g.forward([1.0] * 7), "x has 7 values, expected whole rows of 5")
        self.assertShapeError(lambda: g.forward([[1.0, 2.0], [3.0]]), "ragged" if np is None else "")
        self.assertEqual(len(raw(g.forward([1.0] * 10))), 2 * 2 * 4)  # flat: two rows
        g.forward([[0.5] * 5] * 4, train=True)
        self.assertShapeError(lambda: g.backward([[1.0] * 4] * 2), "Net.backward: dy has shape (2, 4), expected (4, 2)")
        g.backward([[1.0] * 2] * 4)
        g.init(t.rng("init"))
        d.init(t.rng("init"))
        t.set_data(lambda rng, x, cond, batch: rng.fill_normal(x))
        t.step()  # runs G on 256 rows: a backward of 4 would read past dy
        self.assertShapeError(lambda: g.backward([[1.0] * 2] * 4), "no Net.forward to differentiate")
        self.assertShapeError(lambda: mlp(2, 2, 2).backward([1.0, 1.0]), "no Net.forward")
        self.assertShapeError(lambda: g.set_params([0.0] * 3), "Net.set_params: values has 3 values")
        t.close()

    def test_buffers_of_every_kind(self):
        n = mlp(3, 4, 2)
        n.init(gan.Rng(2))
        rows = [[0.1, 0.2, 0.3], [0.4, 0.5, 0.6]]
        want = raw(n.forward(rows))
        flat = array.array("f", [v for r in rows for v in r])
        self.assertEqual(raw(n.forward(flat)), want)
        self.assertEqual(raw(n.forward(memoryview(flat))), want)
        self.assertEqual(raw(n.forward(memoryview(flat).cast("B").cast("f", (2, 3)))), want)
        self.assertEqual(raw(n.forward(memoryview(bytes(flat)).cast("f"))), want)  # read-only: copied
        self.assertShapeError(lambda: n.forward(memoryview(flat).cast("B").cast("f", (3, 2))),
                              "x has shape (3, 2), expected (n, 3)")
        if np is not None:
            self.assertEqual(raw(n.forward(np.array(rows))), want)  # float64: converted
            self.assertEqual(raw(n.forward(np.array(rows, np.float32).T.copy().T)), want)  # not C-contiguous
            self.assertShapeError(lambda: n.forward(np.zeros((2, 3, 1), np.float32)), "x has shape (2, 3, 1)")


class TestNet(unittest.TestCase):
    def test_layers_forward_backward_params(self):
        rng = gan.Rng(1)
        with gan.Net(4) as n:
            n.add(gan.Layer.maxout(4, 3, 2)).add(gan.Layer.leaky_relu(0.1)).add(gan.Layer.dropout(0.5))
            n.add(gan.Layer.dense(3, 2)).add(gan.Layer.activation(gan.ACT_TANH))
            kinds = [layer["kind"] for layer in n.layers()]
            self.assertEqual(kinds, ["maxout", "activation", "dropout", "dense", "activation"])
            self.assertEqual(n.num_params, 4 * 6 + 6 + 3 * 2 + 2)
            n.init(rng, "xavier")
            n.set_rng(rng)  # dropout draws from it in training mode
            x = [[0.1, 0.2, 0.3, 0.4], [1, -1, 1, -1]]
            y = n.forward(x)
            self.assertEqual(len(raw(y)), 2 * 2 * 4)
            n.forward(x, train=True)
            n.zero_grads()
            dx = n.backward([1, 1, 1, 1])
            self.assertEqual(len(raw(dx)), 2 * 4 * 4)
            self.assertTrue(any(v != 0 for v in gan.flat(n.grads)))
            # The params view is live; get/set copy.
            p = n.get_params()
            n.params[0] = 5.0
            self.assertEqual(n.get_params()[0], 5.0)
            n.set_params(p)
            self.assertEqual(raw(n.forward(x)), raw(y))
            with self.assertRaises(ValueError):
                n.set_params([1.0])
            with self.assertRaises(ValueError):
                n.forward([1, 2, 3])

    def test_layer_moves_into_net_only_on_success(self):
        with gan.Net(2) as n:
            bad = gan.Layer.dense(3, 4)
            with self.assertRaises(gan.GanError):
                n.add(bad)
            self.assertFalse(bad.closed)  # still ours
            self.assertEqual(bad.num_params, 16)
            self.assertEqual(bad.kind, "dense")
            bad.close()
            good = gan.Layer.dense(2, 4)
            n.add(good)
            self.assertTrue(good.closed)  # the net owns it now
            with self.assertRaises(ValueError):
                n.add(good)

    def test_sgd_step(self):
        n = mlp(2, 4, 1)
        n.init(gan.Rng(2))
        opt = gan.Optim.sgd(0.5)
        self.assertAlmostEqual(opt.lr, 0.5)
        opt.lr = 0.25
        opt.momentum = 0.5
        self.assertAlmostEqual(opt.momentum, 0.5)
        n.forward([[1, 2]], train=True)
        n.zero_grads()
        n.backward([1.0], want_dx=False)
        before, grads = list(gan.flat(n.get_params())), list(gan.flat(n.grads))
        opt.step(n)
        self.assertEqual(opt.steps, 1)
        for p0, gr, p1 in zip(before, grads, gan.flat(n.get_params())):
            self.assertAlmostEqual(p1, p0 - 0.25 * gr, places=5)

    def test_save_load_and_bytes(self):
        n = mlp(3, 8, 2)
        n.init(gan.Rng(4))
        x = gan.Rng(5).fill_normal(gan.zeros(6, 3))
        with tempfile.TemporaryDirectory() as tmp:
            path = os.path.join(tmp, "n.gan")
            n.save(path)
            with gan.Net.load(path) as m:
                self.assertEqual(raw(m.forward(x)), raw(n.forward(x)))
            with open(path, "rb") as f:
                self.assertEqual(f.read(), n.to_bytes())
            with gan.Net.from_bytes(n.to_bytes()) as m:
                self.assertEqual(raw(m.get_params()), raw(n.get_params()))
            with self.assertRaises(gan.GanError) as cm:
                gan.Net.load(os.path.join(tmp, "missing.gan"))
            self.assertEqual(cm.exception.code, gan.EIO)
        with self.assertRaises(gan.GanError) as cm:
            gan.Net.from_bytes(b"not a libgan file at all")
        self.assertEqual(cm.exception.code, gan.EFORMAT)


class TestTrainer(unittest.TestCase):
    def test_defaults_are_the_c_examples(self):
        g, d = mlp(2, 8, 2), mlp(2, 8, 1)
        t = gan.Trainer(g, d)
        self.assertAlmostEqual(t.opt_g.lr, 1e-3)
        self.assertAlmostEqual(t.opt_d.momentum, 0.5)  # Adam's beta1
        g.init(t.rng("init"))
        d.init(t.rng("init"))
        batches = []
        t.set_data(lambda rng, x, cond, batch: batches.append((batch, cond)) or rng.fill_normal(x))
        t.step()
        self.assertEqual(batches, [(256, None)])
        opt = t.opt_g
        t.close()
        self.assertTrue(opt.closed)  # made by the trainer, closed with it
        self.assertFalse(g.closed)

    def test_step_run_generate(self):
        t = make_trainer()
        s = t.step()
        self.assertEqual(s["step"], 1)
        self.assertIn("loss_d", s)
        seen = []
        t.run(3, lambda st: seen.append(st["step"]))
        self.assertEqual(seen, [2, 3, 4])
        self.assertEqual(t.steps, 4)
        out = t.generate(5)
        self.assertEqual(len(raw(out)), 5 * 2 * 4)
        z = gan.zeros(5, t.noise_dim)
        self.assertEqual(raw(t.generate(5, z)), raw(t.generate(5, z)))

    def test_callback_sees_the_widths(self):
        g, d = mlp(4, 8, 3), mlp(5, 8, 1)
        t = gan.Trainer(g, d, cond_dim=2, batch_size=4)
        g.init(t.rng("init"))
        d.init(t.rng("init"))
        seen = []

        def data(rng, x, cond, batch):
            seen.append((len(gan.flat(x)), len(gan.flat(cond)), t.data_dim, t.cond_dim))
            rng.fill_normal(x)
            for i in range(batch):
                gan.flat(cond)[2 * i] = 1.0
        t.set_data(data)
        t.step()
        self.assertEqual(seen[0], (4 * 3, 4 * 2, 3, 2))

    def test_callback_exception_is_reraised_and_step_undone(self):
        t = make_trainer()
        t.step()
        before, steps = raw(t.g.get_params()), t.steps

        def bad(rng, x, cond, batch):
            raise Boom("from the data callback")
        t.set_data(bad)
        with self.assertRaises(Boom):
            t.step()
        self.assertEqual(raw(t.g.get_params()), before)
        self.assertEqual(t.steps, steps)
        t.set_data(lambda rng, x, cond, batch: rng.fill_normal(x))  # returns x: not a stop
        t.step()  # the trainer is usable again
        self.assertEqual(t.steps, steps + 1)

    def test_on_step_stops_and_raises(self):
        t = make_trainer()
        with self.assertRaises(gan.GanError) as cm:
            t.run(10, lambda st: st["step"] == 2)  # a true value stops the run
        self.assertEqual(cm.exception.code, gan.EUSER)
        self.assertEqual(t.steps, 2)

        def boom(st):
            raise Boom()
        with self.assertRaises(Boom):
            t.run(10, boom)
        self.assertEqual(t.steps, 3)

    def test_noise_callback(self):
        t = make_trainer()
        calls = []

        def noise(rng, z, batch, dim):
            calls.append((batch, dim))
            rng.fill_uniform(z, -1.0, 1.0)
        t.set_noise(noise)
        t.step()
        t.generate(3)
        self.assertIn((3, 2), calls)
        t.set_noise(lambda rng, z, batch, dim: 1)  # non-zero: stop
        with self.assertRaises(gan.GanError) as cm:
            t.generate(3)
        self.assertEqual(cm.exception.code, gan.EUSER)

    def test_checkpoint_resume_is_exact(self):
        z = gan.Rng(9).fill_normal(gan.zeros(16, 2))
        t = make_trainer()
        t.run(5)
        with tempfile.TemporaryDirectory() as tmp:
            path = os.path.join(tmp, "ck.gan")
            t.save(path)
            t.run(5)
            straight = raw(t.generate(16, z))
            u = make_trainer(seed=99)  # other seed and weights: the checkpoint replaces them
            u.load(path)
            self.assertEqual(u.steps, 5)
            u.run(5)
            self.assertEqual(raw(u.generate(16, z)), straight)
            v = make_trainer(seed=98)
            with open(path, "rb") as f:
                ck = f.read()
            v.load_bytes(ck)
            self.assertEqual(v.to_bytes(), ck)

    def test_settings(self):
        t = make_trainer()
        t.set_d_steps(2)
        t.set_g_steps(1)
        t.set_update("simultaneous")
        t.set_loss(gan.LOSS_HINGE)
        t.set_label_smoothing(0.9)
        t.set_ema(0.99)
        t.set_noise_uniform(1.0)
        t.step()
        t.set_loss("wasserstein")
        t.set_clip(0.05)
        t.set_noise_normal(0.5)
        t.step()
        with self.assertRaises(ValueError):
            t.set_loss("nope")
        with self.assertRaises(gan.GanError):
            t.set_batch_size(0)

    def test_borrowed_objects_outlive_the_trainer(self):
        t = make_trainer()
        g = t.g
        with self.assertRaises(gan.GanError) as cm:
            g.close()
        self.assertEqual(cm.exception.code, gan.ESTATE)
        rng = t.rng("noise")
        t.close()
        with self.assertRaises(ValueError):
            rng.uniform()  # the stream died with its trainer
        g.close()  # no longer borrowed

    def test_garbage_collection_in_any_order(self):
        # A callback holding the trainer makes a cycle; the nets are reachable only from it.
        for _ in range(20):
            t = make_trainer()
            t.set_data(lambda rng, x, cond, batch, t=t: data_fn(rng, x, cond, batch))
            t.step()
            del t
            gc.collect()

    @unittest.skipUnless(os.path.exists(RING), "examples/python/train_ring.py is not beside the package")
    def test_same_result_with_and_without_numpy(self):
        outs = []
        for path in ([PACKAGE_DIR], [NO_NUMPY, PACKAGE_DIR]):
            env = dict(os.environ, PYTHONPATH=os.pathsep.join(path))
            r = subprocess.run([sys.executable, RING, "--steps", "20"], env=env, stdout=subprocess.PIPE,
                               universal_newlines=True, check=True)
            outs.append([line for line in r.stdout.splitlines() if "numpy" in line or line.startswith("samples")])
        if "no numpy" in outs[0][0]:
            self.skipTest("numpy is not installed")
        self.assertIn("no numpy", outs[1][0])
        self.assertEqual(outs[0][1:], outs[1][1:])


class TestData(unittest.TestCase):
    def test_from_floats(self):
        rows = [[0.0, 1.5, -2.0], [3.0, 4.0, 5.0], [6.0, 7.0, 8.0], [-1.0, -2.0, -3.0]]
        ds = gan.Dataset.from_floats(rows, labels=[1, 0, 4, 1])
        self.assertEqual((len(ds), ds.size, ds.dim, ds.num_classes), (4, 4, 3, 5))  # largest label + 1
        self.assertEqual(list(ds.row(1)), [3.0, 4.0, 5.0])
        self.assertEqual(list(ds.row(-1)), [-1.0, -2.0, -3.0])
        self.assertEqual((ds.label(2), ds.labels), (4, [1, 0, 4, 1]))
        self.assertEqual(list(gan.flat(ds.rows)), [v for r in rows for v in r])
        with self.assertRaises((TypeError, ValueError)):
            ds.row(0)[0] = 9.0  # read-only: the data set never changes
        with self.assertRaises(IndexError):
            ds.row(4)
        self.assertEqual(gan.Dataset.from_floats(rows, [0, 0, 0, 0], num_classes=10).num_classes, 10)
        plain = gan.Dataset.from_floats(array.array("f", range(6)), dim=2)
        self.assertEqual((plain.size, plain.dim, plain.num_classes, plain.label(0), plain.labels), (3, 2, 0, None, None))

    def test_from_floats_refusals(self):
        rows = [[0.0, 1.0], [2.0, 3.0]]
        for labels, needle in (([0, 2], "label 1 is 2, not in [0, 2)"), ([0, -1], "label 1 is -1")):
            with self.assertRaises(gan.GanError) as cm:
                gan.Dataset.from_floats(rows, labels, num_classes=2 if labels[1] == 2 else None)
            self.assertIn(needle, str(cm.exception))
            self.assertTrue(cm.exception.detail.startswith("gan_dataset_create_from_floats: "))
        with self.assertRaises(gan.GanError) as cm:
            gan.Dataset.from_floats([[0.0, float("nan")]])
        self.assertIn("row 0, column 1 is not finite", str(cm.exception))
        with self.assertRaises(ValueError) as cm:
            gan.Dataset.from_floats(rows, labels=[0, 1, 1])
        self.assertIn("labels has shape (3,), expected (2,)", str(cm.exception))
        with self.assertRaises(ValueError):
            gan.Dataset.from_floats([1.0, 2.0])  # flat: dim is needed
        with self.assertRaises(ValueError):
            gan.Dataset.from_floats([1.0, 2.0, 3.0], dim=2)
        with self.assertRaises(TypeError):
            gan.Dataset.from_floats(rows, labels=[0.5, 1.0])
        with self.assertRaises(ValueError):
            gan.Dataset.from_floats(rows, labels=[0, 2 ** 40])

    def test_idx_files_split_and_sampler(self):
        images = idx([6, 2, 2], range(0, 240, 10))
        labels = idx([6], [0, 1, 2, 0, 1, 2])
        ds = gan.Dataset.from_idx_bytes(images, labels)
        self.assertEqual((ds.size, ds.dim, ds.num_classes), (6, 4, 3))
        self.assertAlmostEqual(ds.row(1)[0], 40 / 255, places=6)
        with tempfile.TemporaryDirectory() as tmp:
            paths = [os.path.join(tmp, name) for name in ("images", "labels")]
            for path, data in zip(paths, (images, labels)):
                with open(path, "wb") as f:
                    f.write(data)
            self.assertEqual(list(gan.Dataset.load_idx(*paths).rows.tolist()), list(ds.rows.tolist()))
            self.assertIsNone(gan.Dataset.load_idx(paths[0]).labels)
            with self.assertRaises(gan.GanError) as cm:
                gan.Dataset.load_idx(os.path.join(tmp, "missing"))
            self.assertEqual(cm.exception.code, gan.EIO)
        a, b = ds.split(2)
        self.assertEqual((a.size, b.size, b.num_classes, b.label(0)), (2, 4, 3, 2))
        c, e = ds.split(3, gan.Rng(4))
        self.assertEqual(sorted(c.labels + e.labels), [0, 0, 1, 1, 2, 2])
        s = ds.sampler("epochs", one_hot=True)
        x, cond = s.sample(gan.Rng(1), 6)
        self.assertEqual(s.epoch, 1)
        seen = sorted(round(gan.flat(x)[4 * i] * 255) for i in range(6))
        self.assertEqual(seen, [0, 40, 80, 120, 160, 200])  # each row once in an epoch
        for i in range(6):
            k = round(gan.flat(x)[4 * i] * 255) // 40
            self.assertEqual(list(gan.flat(cond)[3 * i:3 * i + 3]), [1.0 if c == k % 3 else 0.0 for c in range(3)])
        with self.assertRaises(gan.GanError):
            ds.close()  # the sampler borrows it
        s.close()
        ds.close()
        with self.assertRaises(gan.GanError) as cm:
            gan.Sampler(gan.Dataset.from_idx_bytes(images), one_hot=True)
        self.assertIn("no labels", str(cm.exception))
        self.assertEqual(gan.Sampler(a, "uniform").epoch, 0)

    def test_sampler_feeds_the_trainer_from_c(self):
        rng = gan.Rng(3)
        rows = rng.fill_normal(gan.zeros(64, 2), 1.0, 0.1)
        ds = gan.Dataset.from_floats(rows, labels=[i % 2 for i in range(64)], dim=2)
        g, d = mlp(4 + 2, 16, 2), mlp(2 + 2, 16, 1)
        t = gan.Trainer(g, d, cond_dim=ds.num_classes, batch_size=16)
        g.init(t.rng("init"))
        d.init(t.rng("init"))
        s = gan.Sampler(ds, one_hot=True)
        t.set_data(s)
        del ds  # the sampler keeps it, the trainer keeps the sampler
        t.run(8)
        self.assertEqual(s.epoch, 4)
        with self.assertRaises(gan.GanError):
            s.close()
        t.set_data(data_fn)  # the sampler is given back
        s.close()
        # The C sampler does not check widths; the trainer does, before it could overrun.
        for rows, one_hot, needle in (([[0.0] * 3] * 4, False, "the Sampler's rows have 3 values, the trainer's data rows 2"),
                                      ([[0.0] * 2] * 4, True, "one-hot conditions have 3 values, the trainer's condition "
                                                              "rows 2")):
            t.set_data(gan.Sampler(gan.Dataset.from_floats(rows, labels=[0, 1, 2, 0]), one_hot=one_hot))
            for call in (t.step, lambda: t.run(1)):
                with self.assertRaises(ValueError) as cm:
                    call()
                self.assertIn(needle, str(cm.exception))
        self.assertEqual(t.steps, 8)


class TestViews(unittest.TestCase):
    """A view of C memory (Net.params/grads/state, Dataset.rows/row(i)) never outlives it:
    while one is alive, close() (and Net.add, which moves the buffers) raise BufferError,
    and the view keeps showing the right values; once the views are gone, close() works."""

    def assertRefused(self, call, *needles):
        with self.assertRaises(BufferError) as cm:
            call()
        for needle in needles:
            self.assertIn(needle, str(cm.exception))

    def test_dataset_views_block_close(self):
        rows = [[float(3 * i + j) for j in range(3)] for i in range(50)]
        want = [v for r in rows for v in r]
        ds = gan.Dataset.from_floats(rows)
        everything, one = ds.rows, ds.row(7)
        self.assertRefused(ds.close, "Dataset.close: 2 views", "Dataset.rows or row(i)")
        self.assertFalse(ds.closed)
        gan.Dataset.from_floats([[9.0] * 3] * 50).close()  # memory a use-after-free would read
        self.assertEqual(list(gan.flat(everything)), want)  # still the data set's values
        self.assertEqual(list(one), rows[7])
        del everything
        self.assertRefused(ds.close, "1 view ")
        part = one[1:]  # a slice is a view too: it holds the same memory
        del one
        self.assertRefused(ds.close)
        self.assertEqual(list(part), rows[7][1:])
        del part
        ds.close()
        self.assertTrue(ds.closed)
        with self.assertRaises(ValueError):
            ds.rows  # noqa: B018

    def test_net_views_block_close_and_add(self):
        n = mlp(4, 3, 2)
        n.init(gan.Rng(1))
        p, g = n.params, n.grads
        before = list(gan.flat(p))
        self.assertRefused(n.close, "Net.close: 2 views", "Net.params, grads or state")
        self.assertRefused(lambda: n.add(gan.Layer.activation("relu")), "Net.add: 2 views")
        self.assertEqual(n.num_layers, 3)  # refused before C could move the buffers
        mlp(4, 3, 2).init(gan.Rng(2))  # memory a use-after-free would read
        self.assertEqual(list(gan.flat(p)), before)
        n.forward([[1.0, 2.0, 3.0, 4.0]] * 4, train=True)
        n.zero_grads()
        n.backward([[1.0, 1.0]] * 4)
        self.assertEqual(list(gan.flat(g)), list(gan.flat(n.grads)))
        self.assertTrue(any(gan.flat(g)))
        p[0] = 0.5  # writable and live
        self.assertEqual(gan.flat(n.get_params())[0], 0.5)
        self.assertEqual(list(gan.flat(p))[1:], before[1:])
        del p
        self.assertRefused(n.close, "Net.close: 1 view ")
        del g
        n.add(gan.Layer.activation("relu"))
        n.close()

    def test_with_block(self):
        n = mlp(2, 3, 1)
        with self.assertRaises(BufferError):
            with n:
                kept = n.params
        self.assertFalse(n.closed)
        values = list(gan.flat(kept))
        with self.assertRaises(Boom):  # an exception in flight is not hidden behind a BufferError:
            with n:                    # the free waits for the last view instead
                raise Boom()
        self.assertTrue(n.closed)
        self.assertIsNotNone(n._h)  # not freed yet
        self.assertEqual(list(gan.flat(kept)), values)
        del kept
        self.assertIsNone(n._h)  # the last view is gone: freed

    def test_view_keeps_its_owner_from_the_collector(self):
        ds = gan.Dataset.from_floats([[1.0, 2.0], [3.0, 4.0]])
        owner = weakref.ref(ds)
        rows = ds.rows
        del ds
        gc.collect()
        self.assertIsNotNone(owner())
        self.assertEqual(list(gan.flat(rows)), [1.0, 2.0, 3.0, 4.0])
        del rows
        gc.collect()
        self.assertIsNone(owner())

    def test_callback_arrays_are_not_the_trainers_memory(self):
        t = make_trainer(batch=8)
        kept = []

        def data(rng, x, cond, batch):
            kept.append(x)
            for i in range(len(gan.flat(x))):
                gan.flat(x)[i] = float(len(kept))
        t.set_data(data)
        t.step()
        t.step()  # the trainer's buffer now holds 2.0 everywhere; what step 1 handed out does not
        self.assertEqual(set(gan.flat(kept[0])), {1.0})
        t.close()
        self.assertEqual(set(gan.flat(kept[1])), {2.0})  # the trainer's memory is gone, the arrays are not


class TestEvaluation(unittest.TestCase):
    @staticmethod
    def naive_ll(samples, tests, sigma):
        lls = []
        for x in tests:
            e = [-sum((a - b) ** 2 for a, b in zip(x, s)) / (2 * sigma * sigma) for s in samples]
            top = max(e)
            lls.append(top + math.log(sum(math.exp(v - top) for v in e) / len(e))
                       - len(x) * math.log(sigma * math.sqrt(2 * math.pi)))
        mean = sum(lls) / len(lls)
        se = math.sqrt(sum((v - mean) ** 2 for v in lls) / (len(lls) - 1) / len(lls))
        return mean, se

    def test_parzen(self):
        rng = gan.Rng(6)
        samples, tests = rng.fill_normal(gan.zeros(40, 3)), rng.fill_normal(gan.zeros(7, 3))
        s3 = [list(gan.flat(samples)[3 * i:3 * i + 3]) for i in range(40)]
        t3 = [list(gan.flat(tests)[3 * i:3 * i + 3]) for i in range(7)]
        mean, se = gan.parzen_log_likelihood(s3, t3, 0.7)
        want = self.naive_ll(s3, t3, 0.7)
        self.assertAlmostEqual(mean, want[0], places=4)
        self.assertAlmostEqual(se, want[1], places=4)
        sigma, ll = gan.parzen_select_sigma(s3, t3, [0.01, 0.7, 50.0])
        self.assertAlmostEqual(sigma, 0.7, places=6)
        self.assertAlmostEqual(ll, mean, places=4)
        sigma, _ = gan.parzen_select_sigma(s3, t3)  # the paper's grid, within [0.1, 1]
        self.assertTrue(0.1 - 1e-6 <= sigma <= 1.0 + 1e-6)
        with self.assertRaises(ValueError) as cm:
            gan.parzen_log_likelihood(s3, [[0.0, 1.0]], 0.7)
        self.assertIn("parzen_log_likelihood: test has shape (1, 2), expected (n, 3)", str(cm.exception))
        with self.assertRaises(gan.GanError) as cm:
            gan.parzen_log_likelihood(s3, t3, -1.0)
        self.assertTrue(cm.exception.detail.startswith("gan_parzen_log_likelihood: "))
        self.assertEqual(gan.parzen_log_likelihood([0.0, 1.0], [0.5], 1.0)[1], 0.0)  # 1-D: rows of width 1

    def test_nearest_neighbors(self):
        refs = [[0.0, 0.0], [1.0, 0.0], [0.0, 2.0]]
        index, dist2 = gan.nearest_neighbors([[0.9, 0.1], [0.0, 5.0], [0.0, 0.0]], refs)
        self.assertEqual(list(index), [1, 2, 0])
        self.assertEqual([round(float(v), 5) for v in dist2], [0.02, 9.0, 0.0])
        with self.assertRaises(ValueError):
            gan.nearest_neighbors([[0.0, 0.0, 0.0]], refs)

    def test_image_grid(self):
        # Two 1 x 2 RGB images, side by side, pad 1, scale 2: (1 + 2 + 1) x (1 + 2 + 1 + 2 + 1) at scale 1.
        images = [[1.0, 0.0, 0.0, 0.0, 1.0, 0.0], [0.0, 0.0, 1.0, 0.5, 0.5, 0.5]]
        px = gan.image_grid(images, 1, 2, channels=3, cols=2, pad=1, scale=2)
        self.assertEqual(tuple(px.shape), (3 * 2, 7 * 2, 3))
        raw_px = px.tobytes()

        def at(x, y):
            return tuple(raw_px[(y * 14 + x) * 3:(y * 14 + x) * 3 + 3])
        self.assertEqual(at(0, 0), (0, 0, 0))  # padding
        self.assertEqual([at(2, 2), at(3, 3), at(4, 2)], [(255, 0, 0), (255, 0, 0), (0, 255, 0)])
        self.assertEqual([at(8, 3), at(10, 2), at(12, 2)], [(0, 0, 255), (128, 128, 128), (0, 0, 0)])
        self.assertEqual(at(2, 4), (0, 0, 0))
        gray = gan.image_grid([[0.0, 1.0, 0.5, 0.25]] * 5, 2, 2)  # 3 x 2 cells, pad 2
        self.assertEqual(tuple(gray.shape), (2 * 2 + 3 * 2, 3 * 2 + 4 * 2))
        same = gan.image_grid([[[0.0, 1.0], [0.5, 0.25]]] * 5, 2, 2)  # (n, h, w) for one channel
        self.assertEqual(same.tobytes(), gray.tobytes())
        with self.assertRaises(ValueError) as cm:
            gan.image_grid([[0.0] * 6], 2, 2)
        self.assertIn("image_grid: images has shape (1, 6), expected (n, 4) or (n, 2, 2, 1) or (n, 2, 2)",
                      str(cm.exception))
        with self.assertRaises(gan.GanError) as cm:
            gan.image_grid([[0.0] * 8], 2, 2, channels=2)
        self.assertIn("gan_image_grid2_size: channels must be 1 (grayscale) or 3 (RGB)", str(cm.exception))


if __name__ == "__main__":
    print("libgan %s, numpy: %s" % (gan.version(), "yes" if gan.numpy is not None else "no"))
    unittest.main(verbosity=2)

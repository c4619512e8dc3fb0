#!/usr/bin/env python3
"""Tests of the ctypes binding (libgan.py): errors, ownership, callbacks and checkpoints.
Run with LIBGAN_PATH pointing at libgan.so.0; LIBGAN_NO_NUMPY=1 tests the numpy-free path."""
import gc
import os
import subprocess
import sys
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import libgan as gan  # noqa: E402


def mlp(in_dim, hidden, out_dim, act="relu"):
    return gan.Net(in_dim).add(gan.Layer.dense(in_dim, hidden)).add(gan.Layer.activation(act)) \
        .add(gan.Layer.dense(hidden, out_dim))


def data_fn(rng, x, cond, batch):
    rng.fill_normal(x, 2.0, 0.5)


class Boom(Exception):
    pass


def make_trainer(seed=3, batch=32):
    g, d = mlp(2, 16, 2), mlp(2, 16, 1, "leaky_relu")
    t = gan.Trainer(g, d, gan.Optim.adam(1e-3, 0.5), gan.Optim.adam(1e-3, 0.5))
    t.set_seed(seed)
    g.init(t.rng("init"), "he")
    d.init(t.rng("init"), "he")
    t.set_data(data_fn)
    t.set_noise_normal(1.0)
    t.set_batch_size(batch)
    return t


def raw(a):
    return gan.flat(a).tobytes()


class TestBasics(unittest.TestCase):
    def test_version(self):
        self.assertRegex(gan.version(), r"^\d+\.\d+\.\d+$")
        major, minor, patch = map(int, gan.version().split("."))
        self.assertEqual(gan.version_number(), major * 10000 + minor * 100 + patch)
        self.assertIsInstance(gan.features(), int)

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
            v.load_bytes(open(path, "rb").read())
            self.assertEqual(v.to_bytes(), open(path, "rb").read())

    def test_settings(self):
        t = make_trainer()
        t.set_d_steps(2)
        t.set_g_steps(1)
        t.set_update("simultaneous")
        t.set_loss(gan.LOSS_HINGE)
        t.set_label_smoothing(0.9)
        t.set_ema(0.99)
        t.step()
        t.set_loss("wasserstein")
        t.set_clip(0.05)
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

    def test_same_result_with_and_without_numpy(self):
        env = dict(os.environ)
        outs = []
        for no_numpy in ("", "1"):
            env["LIBGAN_NO_NUMPY"] = no_numpy
            r = subprocess.run([sys.executable, os.path.join(HERE, "train_ring.py"), "--steps", "20"], env=env,
                               stdout=subprocess.PIPE, universal_newlines=True, check=True)
            outs.append([line for line in r.stdout.splitlines() if line.startswith("samples sha256")])
        self.assertEqual(outs[0], outs[1])


if __name__ == "__main__":
    print("libgan %s, numpy: %s" % (gan.version(), "yes" if gan.numpy is not None else "no"))
    unittest.main(verbosity=2)

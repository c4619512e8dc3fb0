#!/usr/bin/env python3
"""Gradient penalties on D (Trainer.set_gradient_penalty, gan_trainer_set_gradient_penalty):
WGAN-GP and R1 reach the step statistics, R1's lazy interval, argument checks, the
refusal of batch norm in D, and the setting's trip through a checkpoint."""
import math
import os
import tempfile
import unittest

import libgan as gan


def mlp(in_dim, hidden, out_dim, act="relu", batchnorm=False):
    n = gan.Net(in_dim).add(gan.Layer.dense(in_dim, hidden))
    if batchnorm:
        n.add(gan.Layer.batchnorm(hidden))
    return n.add(gan.Layer.activation(act)).add(gan.Layer.dense(hidden, out_dim))


def data_fn(rng, x, cond, batch):
    rng.fill_normal(x, 2.0, 0.5)


def make_trainer(seed=3, batch=32, d_batchnorm=False):
    g, d = mlp(2, 16, 2), mlp(2, 16, 1, "leaky_relu", batchnorm=d_batchnorm)
    t = gan.Trainer(g, d, gan.Optim.adam(1e-3, 0.5), gan.Optim.adam(1e-3, 0.5), batch_size=batch, seed=seed)
    g.init(t.rng("init"), "he")
    d.init(t.rng("init"), "he")
    t.set_data(data_fn)
    return t


class TestPenalty(unittest.TestCase):
    def test_names_and_constants(self):
        self.assertEqual((gan.PENALTY_NONE, gan.PENALTY_WGAN_GP, gan.PENALTY_R1), (0, 1, 2))
        t = make_trainer()
        t.set_gradient_penalty("none")
        s = t.step()
        self.assertEqual((s["penalty"], s["input_grad_norm"]), (0.0, 0.0))

    def test_wgan_gp_reaches_the_stats(self):
        for kind in ("wgan_gp", gan.PENALTY_WGAN_GP):
            with self.subTest(kind=kind):
                t = make_trainer()
                t.set_loss("wasserstein")
                t.set_gradient_penalty(kind, 10.0)
                seen = []
                t.run(3, lambda s: seen.append(s))
                seen.append(t.step())
                self.assertEqual([s["step"] for s in seen], [1, 2, 3, 4])
                for s in seen:
                    for key in ("penalty", "input_grad_norm"):
                        self.assertTrue(math.isfinite(s[key]) and s[key] > 0, (key, s))

    def test_r1_lazy_interval(self):
        t = make_trainer()
        t.set_gradient_penalty("r1", 1.0, interval=4)
        stats = [t.step() for _ in range(5)]  # steps 1..5: 0..4 before each
        first = stats[0]
        self.assertTrue(math.isfinite(first["penalty"]) and first["penalty"] > 0, first)
        self.assertTrue(math.isfinite(first["input_grad_norm"]) and first["input_grad_norm"] > 0, first)
        for s in stats[1:4]:  # skipped: they add nothing to D's loss
            self.assertEqual((s["penalty"], s["input_grad_norm"]), (0.0, 0.0), s)
        fifth = stats[4]
        self.assertTrue(math.isfinite(fifth["penalty"]) and fifth["penalty"] > 0, fifth)
        self.assertNotEqual(fifth["penalty"], first["penalty"])
        self.assertNotEqual(fifth["input_grad_norm"], first["input_grad_norm"])

    def test_bad_arguments(self):
        t = make_trainer()
        for args in ((7, 10.0, 1), ("r1", 0.0, 1), ("wgan_gp", -1.0, 1), ("r1", float("nan"), 1),
                     ("r1", float("inf"), 1), ("r1", 10.0, 0), ("wgan_gp", 10.0, 1000001)):
            with self.subTest(args=args):
                with self.assertRaises(gan.GanError) as cm:
                    t.set_gradient_penalty(*args)
                self.assertEqual(cm.exception.code, gan.EINVAL)
        with self.assertRaises(gan.GanError) as cm:
            t.set_gradient_penalty("r1", interval=0)
        self.assertIn("interval", str(cm.exception))
        with self.assertRaises(ValueError) as cm:  # a name the package does not know, as for set_loss
            t.set_gradient_penalty("wgan-gp")
        self.assertIn("wgan_gp", str(cm.exception))
        s = t.step()  # the refused settings left none
        self.assertEqual((s["penalty"], s["input_grad_norm"]), (0.0, 0.0))

    def test_batchnorm_in_d_is_refused(self):
        t = make_trainer(d_batchnorm=True)
        for kind in ("wgan_gp", "r1"):
            with self.subTest(kind=kind):
                with self.assertRaises(gan.GanError) as cm:
                    t.set_gradient_penalty(kind, 10.0)
                self.assertEqual(cm.exception.code, gan.EINVAL)
                self.assertIn("per row", str(cm.exception))
        t.set_gradient_penalty("none")  # always allowed
        t.step()

    def test_checkpoint_keeps_the_setting(self):
        for kind, interval in (("wgan_gp", 1), ("r1", 3)):
            with self.subTest(kind=kind):
                t = make_trainer()
                t.set_gradient_penalty(kind, 5.0, interval)
                t.run(3)  # with interval 3 the next step (steps == 3) takes the penalty
                ck = t.to_bytes()
                with tempfile.TemporaryDirectory() as tmp:
                    path = os.path.join(tmp, "ck.gan")
                    t.save(path)
                    u = make_trainer(seed=99)  # no penalty: the checkpoint brings it
                    u.load(path)
                v = make_trainer(seed=98)
                v.load_bytes(ck)
                self.assertEqual(u.steps, 3)
                want = t.step()
                self.assertGreater(want["penalty"], 0)
                self.assertEqual(u.step(), want)
                self.assertEqual(v.step(), want)

    def test_checkpoint_without_penalty_clears_it(self):
        t = make_trainer()
        ck = t.to_bytes()
        u = make_trainer()
        u.set_gradient_penalty("r1", 10.0)
        u.load_bytes(ck)
        self.assertEqual(u.step(), t.step())


if __name__ == "__main__":
    unittest.main(verbosity=2)

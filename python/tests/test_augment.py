#!/usr/bin/env python3
"""DiffAugment (Trainer.set_augment, gan_trainer_set_augment): names and bits, the refusal
of nets whose rows are not images, reproducible runs that the augmentation changes, and
the setting's trip through a checkpoint."""
import unittest

import libgan as gan

C, S, NZ = 3, 4, 5


def data_fn(rng, x, cond, batch):
    rng.fill_uniform(x, -1.0, 1.0)


def make_trainer(seed=3, image=True):
    g = gan.Net(NZ).add(gan.Layer.dense(NZ, C * S * S))
    if image:
        g.add(gan.Layer.reshape(C, S, S))
    g.add(gan.Layer.activation("tanh"))
    d = gan.Net.image(C, S, S) if image else gan.Net(C * S * S)
    d.add(gan.Layer.dense(C * S * S, 8)).add(gan.Layer.activation("leaky_relu")).add(gan.Layer.dense(8, 1))
    t = gan.Trainer(g, d, gan.Optim.adam(1e-3, 0.5), gan.Optim.adam(1e-3, 0.5), batch_size=8, seed=seed)
    g.init(t.rng("init"), "xavier")
    d.init(t.rng("init"), "xavier")
    t.set_data(data_fn)
    t.nets = (g, d)  # keep them alive beside the trainer
    return t


def g_params(t):
    return list(t.nets[0].params)


class TestAugment(unittest.TestCase):
    def test_names_and_bits(self):
        self.assertEqual((gan.AUGMENT_NONE, gan.AUGMENT_COLOR, gan.AUGMENT_TRANSLATION, gan.AUGMENT_CUTOUT),
                         (0, 1, 2, 4))
        runs = []
        for policy in ("color,translation,cutout", 7, " cutout, color ,translation", "none", 0):
            t = make_trainer()
            t.set_augment(policy)
            t.run(3)
            runs.append(g_params(t))
        self.assertEqual(runs[0], runs[1])
        self.assertEqual(runs[0], runs[2])
        self.assertEqual(runs[3], runs[4])
        self.assertNotEqual(runs[0], runs[3])

    def test_bad_arguments(self):
        t = make_trainer()
        with self.assertRaises(gan.GanError) as cm:
            t.set_augment(8)
        self.assertEqual(cm.exception.code, gan.EINVAL)
        with self.assertRaises(ValueError) as cm:
            t.set_augment("colour")
        self.assertIn("translation", str(cm.exception))
        flat = make_trainer(image=False)
        with self.assertRaises(gan.GanError) as cm:
            flat.set_augment("translation")
        self.assertEqual(cm.exception.code, gan.EINVAL)
        self.assertIn("images", str(cm.exception))

    def test_checkpoint_keeps_the_setting(self):
        t = make_trainer()
        t.set_augment("color,cutout")
        t.run(2)
        ck = t.to_bytes()
        u = make_trainer(seed=99)  # no augmentation: the checkpoint brings it
        u.load_bytes(ck)
        t.run(3)
        u.run(3)
        self.assertEqual(g_params(t), g_params(u))


if __name__ == "__main__":
    unittest.main()

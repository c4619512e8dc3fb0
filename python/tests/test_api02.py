#!/usr/bin/env python3
"""The 0.2 API from Python: image nets and shapes, convolutions, batch norm, biases,
spectral norm, state, forward_to, the metrics, generate statistics, sampler shards and
data-parallel training on Python threads (ThreadGroup)."""
import math
import threading
import unittest

import libgan as gan

np = gan.numpy


def flat(a):
    return [float(v) for v in gan.flat(a)]


def mlp(in_dim, hidden, out_dim):
    return gan.Net(in_dim).add(gan.Layer.dense(in_dim, hidden)).add(gan.Layer.activation("relu")) \
        .add(gan.Layer.dense(hidden, out_dim))


def conv_ref(x, w, b, h, wd, cin, cout, k, s, p):
    """gan.h's formula for conv2d, on flat HWC lists."""
    oh, ow = (h + 2 * p - k) // s + 1, (wd + 2 * p - k) // s + 1
    y = []
    for oy in range(oh):
        for ox in range(ow):
            for co in range(cout):
                acc = b[co] if b else 0.0
                for ky in range(k):
                    for kx in range(k):
                        iy, ix = oy * s - p + ky, ox * s - p + kx
                        if 0 <= iy < h and 0 <= ix < wd:
                            for ci in range(cin):
                                acc += x[(iy * wd + ix) * cin + ci] * w[((ky * k + kx) * cin + ci) * cout + co]
                y.append(acc)
    return y


class TestShapesAndLayers(unittest.TestCase):
    def test_image_net_shapes_and_inputs(self):
        n = gan.Net.image(3, 6, 5)
        self.assertEqual((n.in_shape, n.out_shape, n.in_dim), ((3, 6, 5), (3, 6, 5), 90))
        n.add(gan.Layer.conv2d(3, 4, 3, stride=2, padding=1))
        self.assertEqual(n.out_shape, (4, 3, 3))
        n.add(gan.Layer.activation("relu")).add(gan.Layer.dense(36, 2))
        self.assertEqual((n.out_shape, n.out_dim), ((2, 1, 1), 2))
        n.init(gan.Rng(3))
        x = gan.Rng(4).fill_uniform(gan.zeros(2, 90))
        want = flat(n.forward(x))
        if np is not None:
            self.assertEqual(flat(n.forward(x.reshape(2, 6, 5, 3))), want)  # (n, h, w, c) images
            with self.assertRaises(ValueError) as cm:
                n.forward(x.reshape(2, 3, 6, 5))  # NCHW is refused, naming both shapes
            self.assertIn("x has shape (2, 3, 6, 5), expected (n, 90) or (n, 6, 5, 3)", str(cm.exception))
        else:
            m = memoryview(x).cast("B").cast("f", (2, 6, 5, 3))
            self.assertEqual(flat(n.forward(m)), want)
        self.assertEqual(gan.Net(7).in_shape, (7, 1, 1))

    def test_reshape_is_checked_by_the_net(self):
        n = gan.Net(6)
        bad = gan.Layer.reshape(2, 2, 2)
        with self.assertRaises(gan.GanError) as cm:
            n.add(bad)
        self.assertEqual(cm.exception.code, gan.EINVAL)
        self.assertFalse(bad.closed)  # still ours
        self.assertEqual(bad.kind, "reshape")
        n.add(gan.Layer.reshape(3, 1, 2))
        self.assertEqual(n.out_shape, (3, 1, 2))

    def test_conv2d_follows_the_header_formula(self):
        h, w, cin, cout, k, s, p = 4, 5, 2, 3, 3, 2, 1
        n = gan.Net.image(cin, h, w).add(gan.Layer.conv2d(cin, cout, k, s, p))
        self.assertEqual(n.num_params, k * k * cin * cout + cout)
        n.init(gan.Rng(1), "xavier")
        params = flat(n.params)
        params[-cout:] = [0.1, -0.2, 0.3]  # biases, zero after init
        n.set_params(params)
        x = flat(gan.Rng(2).fill_normal(gan.zeros(1, h * w * cin)))
        y = flat(n.forward([x]))
        ref = conv_ref(x, params[:-cout], params[-cout:], h, w, cin, cout, k, s, p)
        self.assertEqual(len(y), len(ref))
        for a, b in zip(y, ref):
            self.assertAlmostEqual(a, b, places=5)

    def test_conv2d_transpose_is_the_adjoint(self):
        # <conv(x), y> = <x, conv_transpose(y)> with the transposed weights and no biases.
        h, w, cin, cout, k, s, p = 5, 5, 2, 3, 3, 2, 1
        conv = gan.Net.image(cin, h, w).add(gan.Layer.conv2d(cin, cout, k, s, p, bias=False))
        oc, oh, ow = conv.out_shape
        tr = gan.Net.image(cout, oh, ow).add(gan.Layer.conv2d_transpose(cout, cin, k, s, p, output_padding=0,
                                                                         bias=False))
        self.assertEqual(tr.out_shape, (cin, h, w))
        self.assertEqual(tr.layers()[0]["kind"], "conv2d_transpose")
        conv.init(gan.Rng(5), "he")
        wc = flat(conv.params)  # (k*k*cin) x cout
        rows = k * k * cin
        tr.set_params([wc[r * cout + c] for c in range(cout) for r in range(rows)])  # cout x (k*k*cin)
        x = flat(gan.Rng(6).fill_normal(gan.zeros(1, h * w * cin)))
        y = flat(gan.Rng(7).fill_normal(gan.zeros(1, oh * ow * oc)))
        lhs = sum(a * b for a, b in zip(flat(conv.forward([x])), y))
        rhs = sum(a * b for a, b in zip(x, flat(tr.forward([y]))))
        self.assertAlmostEqual(lhs, rhs, places=4)

    def test_bias(self):
        self.assertEqual(gan.Layer.dense(3, 4, bias=False).num_params, 12)
        self.assertEqual(gan.Layer.dense(3, 4).set_bias(False).set_bias(True).num_params, 16)
        self.assertEqual(gan.Layer.conv2d(2, 3, 3, bias=False).num_params, 9 * 2 * 3)
        self.assertEqual(gan.Layer.conv2d_transpose(2, 3, 3).num_params, 9 * 2 * 3 + 3)
        with self.assertRaises(gan.GanError) as cm:
            gan.Layer.activation("tanh").set_bias(False)
        self.assertEqual(cm.exception.code, gan.EINVAL)

    def test_batchnorm_state(self):
        n = gan.Net(3).add(gan.Layer.batchnorm(3, momentum=0.5, eps=1e-5))
        self.assertEqual((n.num_params, n.num_state), (6, 6))
        n.init(gan.Rng(1))
        self.assertEqual(flat(n.get_params()), [1.0] * 3 + [0.0] * 3)  # gamma 1, beta 0
        self.assertEqual(flat(n.get_state()), [0.0] * 3 + [1.0] * 3)  # running mean 0, variance 1
        x = [[1.0, 2.0, 3.0], [3.0, 6.0, 9.0]]
        y = flat(n.forward(x, train=True))  # the batch's statistics: each column to -1, 1
        for a, b in zip(y, [-1.0] * 3 + [1.0] * 3):
            self.assertAlmostEqual(a, b, places=3)
        state = flat(n.state)
        # running = 0.5 running + 0.5 batch; variance unbiased: 2, 8, 18
        for a, b in zip(state, [1.0, 2.0, 3.0, 0.5 + 1.0, 0.5 + 4.0, 0.5 + 9.0]):
            self.assertAlmostEqual(a, b, places=5)
        n.set_state([0.0, 0.0, 0.0, 4.0, 4.0, 4.0])
        for a, b in zip(flat(n.forward([[2.0, 4.0, 6.0]])), [1.0, 2.0, 3.0]):  # evaluation: running stats
            self.assertAlmostEqual(a, b, places=5)
        with self.assertRaises(ValueError):
            n.set_state([1.0])
        self.assertEqual(gan.Net(2).get_state().__len__(), 0)

    def test_spectral_norm(self):
        layer = gan.Layer.dense(3, 3, bias=False).spectral_norm(1)
        n = gan.Net(3).add(layer)
        self.assertEqual(n.num_state, 3 + 3)  # u and v
        n.init(gan.Rng(2))
        n.set_params([10.0 if i % 4 == 0 else 0.0 for i in range(9)])  # 10 I: sigma 10
        x = [[1.0, -2.0, 0.5]]
        for _ in range(3):
            n.forward(x, train=True)  # power iterations
        for a, b in zip(flat(n.forward(x)), x[0]):  # W / sigma = I
            self.assertAlmostEqual(a, b, places=5)
        with self.assertRaises(gan.GanError):
            gan.Layer.activation("relu").spectral_norm(1)

    def test_forward_to(self):
        n = mlp(3, 5, 2)
        n.init(gan.Rng(8))
        x = gan.Rng(9).fill_normal(gan.zeros(4, 3))
        hidden = n.forward_to(x, 2)  # dense + relu
        self.assertEqual(len(flat(hidden)), 4 * 5)
        self.assertTrue(all(v >= 0 for v in flat(hidden)))
        self.assertEqual(flat(n.forward_to(x, 3)), flat(n.forward(x)))
        self.assertEqual(flat(n.forward_to(x, 0)), flat(x))
        with self.assertRaises(ValueError):
            n.forward_to(x, 4)
        n.forward_to(x, 2)
        n.zero_grads()
        with self.assertRaises(ValueError) as cm:
            n.backward([[1.0, 1.0]] * 4)  # the output of forward_to has 5 columns
        self.assertIn("dy has shape (4, 2), expected (4, 5)", str(cm.exception))
        self.assertEqual(len(flat(n.backward([[1.0] * 5] * 4))), 4 * 3)


class TestMetrics(unittest.TestCase):
    """Rows of 4 features; dim=4 says so for the flat array('f') gan.zeros gives without numpy."""

    def feats(self, seed, n=64, dim=4, shift=0.0):
        a = gan.Rng(seed).fill_normal(gan.zeros(n, dim))
        if shift:
            for i in range(len(gan.flat(a))):
                gan.flat(a)[i] += shift
        return a

    def test_frechet_distance(self):
        a = self.feats(1)
        self.assertAlmostEqual(gan.frechet_distance(a, a, dim=4), 0.0, places=3)
        b = self.feats(1, shift=0.5)  # same covariance, mean moved by 0.5 in each of 4 dims
        self.assertAlmostEqual(gan.frechet_distance(a, b, dim=4), 4 * 0.25, places=3)
        with self.assertRaises(ValueError):
            gan.frechet_distance(a, [[0.0] * 3] * 4, dim=4)
        with self.assertRaises(gan.GanError):
            gan.frechet_distance([[0.0] * 4], [[0.0] * 4])  # fewer than 2 rows

    def test_kernel_distance(self):
        a, b, far = self.feats(1), self.feats(2), self.feats(3, shift=3.0)
        kid, std = gan.kernel_distance(a, b, gan.Rng(1), subset_size=32, subsets=10, dim=4)
        kid_far, _ = gan.kernel_distance(a, far, gan.Rng(1), subset_size=32, subsets=10, dim=4)
        self.assertLess(abs(kid), 0.5)
        self.assertGreater(kid_far, 10 * max(abs(kid), 0.01))
        self.assertGreaterEqual(std, 0.0)
        self.assertEqual(gan.kernel_distance(a, b, gan.Rng(4), dim=4), gan.kernel_distance(a, b, gan.Rng(4), dim=4))
        with self.assertRaises(gan.GanError):
            gan.kernel_distance(a, b, gan.Rng(1), subset_size=65, dim=4)  # more than the 64 rows

    def test_precision_recall(self):
        a = self.feats(1)
        self.assertEqual(gan.precision_recall(a, a, k=3, dim=4), (1.0, 1.0))
        p, r = gan.precision_recall(a, self.feats(5, shift=50.0), dim=4)
        self.assertEqual((p, r), (0.0, 0.0))

    def test_softmax_cross_entropy(self):
        logits, labels = [[1.0, 2.0, 0.5], [0.0, -1.0, 3.0]], [1, 2]

        def ref(row, k):
            top = max(row)
            return -(row[k] - top - math.log(sum(math.exp(v - top) for v in row)))
        want = (ref(logits[0], 1) + ref(logits[1], 2)) / 2
        self.assertAlmostEqual(gan.softmax_cross_entropy(logits, labels), want, places=6)
        loss, grad = gan.softmax_cross_entropy([v for r in logits for v in r], labels, classes=3, grad=True)
        self.assertAlmostEqual(loss, want, places=6)
        g = flat(grad)
        row0 = [math.exp(v) / sum(math.exp(u) for u in logits[0]) for v in logits[0]]
        for a, b in zip(g[:3], [(row0[0]) / 2, (row0[1] - 1) / 2, row0[2] / 2]):
            self.assertAlmostEqual(a, b, places=6)
        with self.assertRaises(gan.GanError):
            gan.softmax_cross_entropy(logits, [1, 3])
        with self.assertRaises(ValueError):
            gan.softmax_cross_entropy([1.0, 2.0], [0])  # flat: classes needed


class TestTrainer02(unittest.TestCase):
    def test_generate_stats(self):
        g = gan.Net(2).add(gan.Layer.dense(2, 3)).add(gan.Layer.batchnorm(3)).add(gan.Layer.dense(3, 2))
        d = mlp(2, 4, 1)
        t = gan.Trainer(g, d, batch_size=8, seed=2)
        g.init(t.rng("init"), "dcgan")
        d.init(t.rng("init"))
        z = gan.Rng(3).fill_normal(gan.zeros(4, 2))
        running = flat(t.generate(4, z))
        t.set_generate_stats("batch")
        batch = flat(t.generate(4, z))
        self.assertNotEqual(running, batch)
        t.set_generate_stats(gan.STATS_RUNNING)
        self.assertEqual(flat(t.generate(4, z)), running)
        with self.assertRaises(ValueError):
            t.set_generate_stats("mean")

    def test_sampler_shard(self):
        ds = gan.Dataset.from_floats([[float(i), float(-i)] for i in range(1, 9)])
        whole, _ = gan.Sampler(ds).sample(gan.Rng(5), 4)
        s = gan.Sampler(ds)
        s.set_shard(1, 2)
        part, _ = s.sample(gan.Rng(5), 4)
        self.assertEqual(flat(part)[:4], [0.0] * 4)  # rank 0's rows are left alone
        self.assertEqual(flat(part)[4:], flat(whole)[4:])  # the same draws as one process
        with self.assertRaises(gan.GanError):
            s.set_shard(2, 2)


class TestThreads(unittest.TestCase):
    """gan_comm_threads from Python threads: ctypes releases the GIL in each C call, so a
    rank waiting at the group's barrier inside step/run/sync blocks nobody; the data
    callbacks, in Python, take the GIL in turn."""

    STEPS, BATCH = 4, 32

    def trainer(self, init_seed):
        g, d = mlp(2, 16, 2), mlp(2, 16, 1)
        t = gan.Trainer(g, d, batch_size=self.BATCH, seed=7)
        g.init(gan.Rng(init_seed))
        d.init(gan.Rng(init_seed + 1))
        t.set_data(lambda rng, x, cond, batch: rng.fill_normal(x, 1.0, 0.5))
        return t

    def run_ranks(self, trainers, body):
        """Run body(rank, trainer) on one thread per rank; [(result, exception)]."""
        out = [None] * len(trainers)

        def main(rank):
            try:
                out[rank] = (body(rank, trainers[rank]), None)
            except BaseException as e:  # noqa: B036
                out[rank] = (None, e)
        threads = [threading.Thread(target=main, args=(r,), daemon=True) for r in range(len(trainers))]
        for th in threads:
            th.start()
        for th in threads:
            th.join(120)
            self.assertFalse(th.is_alive(), "a rank is stuck: deadlock")
        return out

    def test_two_threads_train_as_one(self):
        group = gan.ThreadGroup(2)
        self.assertEqual(group.ranks, 2)
        trainers = [self.trainer(1), self.trainer(100)]  # rank 1 starts elsewhere: sync fixes that
        for rank, t in enumerate(trainers):
            comm = group.comm(rank)
            self.assertEqual((comm.rank, comm.ranks), (rank, 2))
            t.set_comm(comm)
        with self.assertRaises(gan.GanError) as cm:
            group.close()  # the trainers borrow it
        self.assertEqual(cm.exception.code, gan.ESTATE)

        def body(rank, t):
            t.sync()
            seen = []
            t.run(self.STEPS, lambda s: seen.append((s["step"], s["loss_d"])))
            return seen
        results = self.run_ranks(trainers, body)
        for _, e in results:
            if e is not None:
                raise e
        self.assertEqual(results[0][0], results[1][0])  # global statistics, the same on both ranks
        self.assertEqual([s for s, _ in results[0][0]], list(range(1, self.STEPS + 1)))
        g0, g1 = flat(trainers[0].g.params), flat(trainers[1].g.params)
        self.assertEqual(g0, g1)  # the same bits on every rank
        self.assertEqual(flat(trainers[0].d.params), flat(trainers[1].d.params))
        # One process on the global batch computes the same, up to the order of float sums.
        alone = self.trainer(1)
        alone.run(self.STEPS)
        self.assertLess(max(abs(a - b) for a, b in zip(flat(alone.g.params), g0)), 1e-4)
        self.assertNotEqual(flat(alone.g.params), flat(self.trainer(1).g.params))  # it did train
        for t in trainers:
            t.close()
        group.close()

    def test_a_failing_rank_fails_every_rank(self):
        group = gan.ThreadGroup(2)
        trainers = [self.trainer(1), self.trainer(1)]
        for rank, t in enumerate(trainers):
            t.set_comm(group.comm(rank))

        class Boom(Exception):
            pass

        def bad(rng, x, cond, batch):
            if trainers[1].steps == 1:
                raise Boom("rank 1's data")
            rng.fill_normal(x)
        trainers[1].set_data(bad)

        def body(rank, t):
            t.sync()
            t.run(3)
        (_, e0), (_, e1) = self.run_ranks(trainers, body)
        self.assertIsInstance(e1, Boom)  # re-raised on the thread of the rank that raised it
        self.assertIsInstance(e0, gan.GanError)
        self.assertEqual(e0.code, gan.EUSER)
        self.assertIn("another rank failed", e0.detail)
        self.assertEqual([t.steps for t in trainers], [1, 1])  # the failed step is undone on both
        self.assertEqual(flat(trainers[0].g.params), flat(trainers[1].g.params))
        trainers[1].set_comm(None)  # alone again: gives the group back
        trainers[1].set_data(lambda rng, x, cond, batch: rng.fill_normal(x))
        trainers[1].step()
        trainers[0].close()
        group.close()
        with self.assertRaises(gan.GanError):
            gan.ThreadGroup(0)
        with self.assertRaises(gan.GanError):
            gan.ThreadGroup(2).comm(2)


if __name__ == "__main__":
    unittest.main(verbosity=2)

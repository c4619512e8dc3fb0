#!/usr/bin/env python3
"""Nets as graphs (libgan 0.3) from Python: the layer kinds for graphs, Net.add(layer,
inputs), node_shape, layer_inputs, a residual block against the same layers computed as a
chain (and with numpy when it is there), files, and the errors for bad node numbers."""
import os
import tempfile
import unittest

import libgan as gan

np = gan.numpy


def flat(a):
    return [float(v) for v in gan.flat(a)]


def hwc(values, c, h, w):
    """values[(y * w + x) * c + ch] as v[y][x][ch]."""
    return [[values[(y * w + x) * c:(y * w + x + 1) * c] for x in range(w)] for y in range(h)]


def unhwc(image):
    return [v for row in image for pixel in row for v in pixel]


class Close:
    def assertClose(self, got, want, tol=1e-5):
        self.assertEqual(len(got), len(want))
        for i, (a, b) in enumerate(zip(got, want)):
            self.assertLessEqual(abs(a - b), tol * max(1.0, abs(b)), "value %d: %r, want %r" % (i, a, b))


class TestGraphLayers(Close, unittest.TestCase):
    def test_factories_kinds_and_constants(self):
        made = [(gan.Layer.concat(3), "concat", gan.LAYER_CONCAT), (gan.Layer.add(2), "add", gan.LAYER_ADD),
                (gan.Layer.slice(1, 2), "slice", gan.LAYER_SLICE), (gan.Layer.tile(2, 3), "tile", gan.LAYER_TILE),
                (gan.Layer.upsample(2), "upsample", gan.LAYER_UPSAMPLE),
                (gan.Layer.avgpool(2), "avgpool", gan.LAYER_AVGPOOL),
                (gan.Layer.global_sum(), "global_sum", gan.LAYER_GLOBAL_SUM),
                (gan.Layer.modulate(), "modulate", gan.LAYER_MODULATE), (gan.Layer.dot(), "dot", gan.LAYER_DOT)]
        self.assertEqual([v for _, _, v in made], list(range(9, 18)))
        for layer, name, value in made:
            self.assertEqual(layer.kind, name)
            self.assertEqual(gan.C.gan_layer_kind(layer._ptr), value)
            self.assertEqual(layer.num_params, 0)
            layer.close()
        for make, words in ((lambda: gan.Layer.concat(1), "gan_layer_concat"),
                            (lambda: gan.Layer.add(17), "gan_layer_add"),
                            (lambda: gan.Layer.slice(0, 0), "gan_layer_slice"),
                            (lambda: gan.Layer.tile(0, 2), "gan_layer_tile"),
                            (lambda: gan.Layer.upsample(17), "gan_layer_upsample"),
                            (lambda: gan.Layer.avgpool(0), "gan_layer_avgpool")):
            with self.assertRaises(gan.GanError) as cm:
                make()
            self.assertEqual(cm.exception.code, gan.EINVAL)
            self.assertIn(words, str(cm.exception))

    def test_resampling_joins_and_splits_follow_their_formulas(self):
        c, h, w = 2, 4, 4
        n = gan.Net.image(c, h, w)
        n.add(gan.Layer.avgpool(2))                   # node 1: (2, 2, 2)
        n.add(gan.Layer.upsample(2))                  # node 2: (2, 4, 4)
        n.add(gan.Layer.concat(2), [0, 2])            # node 3: (4, 4, 4)
        n.add(gan.Layer.global_sum())                 # node 4: (4, 1, 1)
        n.add(gan.Layer.slice(1, 2))                  # node 5: (2, 1, 1)
        n.add(gan.Layer.tile(1, 3))                   # node 6: (2, 1, 3)
        shapes = [(2, 4, 4), (2, 2, 2), (2, 4, 4), (4, 4, 4), (4, 1, 1), (2, 1, 1), (2, 1, 3)]
        self.assertEqual([n.node_shape(k) for k in range(7)], shapes)
        self.assertEqual(n.out_shape, shapes[-1])
        self.assertEqual([n.layer_inputs(i) for i in range(6)], [[0], [1], [0, 2], [3], [4], [5]])
        self.assertEqual([layer["kind"] for layer in n.layers()],
                         ["avgpool", "upsample", "concat", "global_sum", "slice", "tile"])
        self.assertEqual(n.num_params, 0)
        x = flat(gan.Rng(1).fill_normal(gan.zeros(1, c * h * w)))
        got = [flat(n.forward_to([x], depth)) for depth in range(1, 7)]
        # The same by hand, on (y, x, channel) nested lists.
        img = hwc(x, c, h, w)
        pool = [[[sum(img[2 * y + dy][2 * xx + dx][ch] for dy in (0, 1) for dx in (0, 1)) / 4 for ch in range(c)]
                 for xx in range(2)] for y in range(2)]
        up = [[pool[y // 2][xx // 2] for xx in range(w)] for y in range(h)]
        cat = [[img[y][xx] + up[y][xx] for xx in range(w)] for y in range(h)]
        sums = [sum(cat[y][xx][ch] for y in range(h) for xx in range(w)) for ch in range(4)]
        part = sums[1:3]
        tiled = part * 3
        self.assertClose(got[0], unhwc(pool))
        self.assertClose(got[1], unhwc(up))
        self.assertClose(got[2], unhwc(cat))
        self.assertClose(got[3], sums)
        self.assertClose(got[4], part)
        self.assertClose(got[5], tiled)
        self.assertEqual(flat(n.forward([x])), got[5])

    def test_modulate_and_dot(self):
        # A row [x (4 values) | s (2 values)]: x seen as a 1x2x2 image, modulated by s, then
        # dotted with x.
        n = gan.Net(6)
        n.add(gan.Layer.slice(0, 4))                  # node 1: x (4, 1, 1)
        n.add(gan.Layer.reshape(1, 2, 2))             # node 2: x (1, 2, 2)
        n.add(gan.Layer.slice(4, 2), [0])             # node 3: s (2, 1, 1)
        n.add(gan.Layer.modulate(), [2, 3])           # node 4: (1, 2, 2)
        n.add(gan.Layer.dot(), [4, 1])                # node 5: (1, 1, 1)
        self.assertEqual(n.node_shape(4), (1, 2, 2))
        self.assertEqual((n.out_shape, n.out_dim), ((1, 1, 1), 1))
        rows = [[0.5, -1.0, 2.0, 0.25, 0.5, -0.75], [1.0, 2.0, 3.0, 4.0, -1.0, 0.0]]
        mods = [[v * (1 + r[4]) + r[5] for v in r[:4]] for r in rows]
        self.assertClose(flat(n.forward_to(rows, 4)), [v for m in mods for v in m])
        y = flat(n.forward(rows))
        self.assertClose(y, [sum(m * v for m, v in zip(mod, r[:4])) for mod, r in zip(mods, rows)])
        # d y / d row, by hand: y = sum(x_i (x_i (1 + s0) + s1)).
        dx = flat(n.backward([1.0, 2.0]))
        want = []
        for r, dy in zip(rows, (1.0, 2.0)):
            xs, s0, s1 = r[:4], r[4], r[5]
            want += [dy * (2 * v * (1 + s0) + s1) for v in xs]
            want += [dy * sum(v * v for v in xs), dy * sum(xs)]
        self.assertClose(dx, want)


def residual(hidden=6):
    """x -> dense -> relu -> dense, plus x: nodes 0 (x) to 4 (the sum)."""
    n = gan.Net(4)
    n.add(gan.Layer.dense(4, hidden)).add(gan.Layer.activation("relu")).add(gan.Layer.dense(hidden, 4))
    return n.add(gan.Layer.add(2), [3, 0])


def branch(hidden=6):
    """The residual block's branch alone, a chain."""
    return gan.Net(4).add(gan.Layer.dense(4, hidden)).add(gan.Layer.activation("relu")) \
        .add(gan.Layer.dense(hidden, 4))


class TestResidual(Close, unittest.TestCase):
    def setUp(self):
        self.res, self.branch = residual(), branch()
        self.res.init(gan.Rng(7), "he")
        self.assertEqual(self.res.num_params, self.branch.num_params)  # add has none
        self.branch.set_params(self.res.get_params())
        self.x = gan.Rng(8).fill_normal(gan.zeros(5, 4))

    def test_graph_description(self):
        self.assertEqual(self.res.num_layers, 4)
        self.assertEqual([self.res.layer_inputs(i) for i in range(4)], [[0], [1], [2], [3, 0]])
        self.assertEqual([layer["inputs"] for layer in self.res.layers()], [[0], [1], [2], [3, 0]])
        self.assertEqual([layer["kind"] for layer in self.res.layers()], ["dense", "activation", "dense", "add"])
        self.assertEqual([self.res.node_shape(k) for k in range(5)], [(4, 1, 1), (6, 1, 1), (6, 1, 1), (4, 1, 1),
                                                                      (4, 1, 1)])
        self.assertEqual([layer["inputs"] for layer in self.branch.layers()], [[0], [1], [2]])

    def test_forward_is_branch_plus_input(self):
        y = flat(self.res.forward(self.x))
        b = flat(self.branch.forward(self.x))
        self.assertClose(y, [u + v for u, v in zip(b, flat(self.x))])
        self.assertClose(flat(self.res.forward_to(self.x, 3)), b)  # node 3: the branch
        if np is not None:
            p = self.res.get_params()
            w1, b1 = p[:24].reshape(4, 6), p[24:30]
            w2, b2 = p[30:54].reshape(6, 4), p[54:58]
            ref = np.maximum(self.x @ w1 + b1, 0) @ w2 + b2 + self.x
            self.assertEqual(self.res.forward(self.x).shape, (5, 4))
            self.assertTrue(np.allclose(self.res.forward(self.x), ref, rtol=1e-5, atol=1e-5))

    def test_backward_sums_the_gradients_of_the_input(self):
        dy = gan.Rng(9).fill_normal(gan.zeros(5, 4))
        self.res.forward(self.x, train=True)
        self.res.zero_grads()
        dx = flat(self.res.backward(dy))
        self.branch.forward(self.x, train=True)
        self.branch.zero_grads()
        dxb = flat(self.branch.backward(dy))
        self.assertClose(dx, [u + v for u, v in zip(dxb, flat(dy))])  # through the branch and the skip
        self.assertClose(flat(self.res.grads), flat(self.branch.grads))

    def test_files_keep_the_graph(self):
        want = flat(self.res.forward(self.x))
        with gan.Net.from_bytes(self.res.to_bytes()) as m:
            self.assertEqual([layer["inputs"] for layer in m.layers()], [[0], [1], [2], [3, 0]])
            self.assertEqual(flat(m.forward(self.x)), want)
        with tempfile.TemporaryDirectory() as tmp:
            path = os.path.join(tmp, "res.gan")
            self.res.save(path)
            with gan.Net.load(path) as m:
                self.assertEqual(m.layer_inputs(3), [3, 0])
                self.assertEqual(flat(m.forward(self.x)), want)


class TestGraphErrors(unittest.TestCase):
    def setUp(self):
        self.net = gan.Net(4).add(gan.Layer.dense(4, 4))  # nodes 0 and 1

    def assertGanError(self, call, *words):
        with self.assertRaises(gan.GanError) as cm:
            call()
        e = cm.exception
        self.assertEqual(e.code, gan.EINVAL)
        for word in words:
            self.assertIn(word, e.detail)  # the C library's message
            self.assertIn(word, str(e))
        return e

    def test_nodes_that_do_not_exist(self):
        layer = gan.Layer.add(2)
        self.assertGanError(lambda: self.net.add(layer, [1, 5]), "gan_net_add_from",
                            "add layer 1 reads node 5, but the nodes so far are 0 to 1")
        self.assertFalse(layer.closed)  # still ours
        self.assertEqual(self.net.num_layers, 1)
        self.assertGanError(lambda: self.net.node_shape(2), "gan_net_node_shape", "node 2 of a net with nodes 0 to 1")
        self.assertGanError(lambda: self.net.layer_inputs(1), "gan_net_layer_inputs",
                            "layer 1 of a net with 1 layers")
        self.net.add(layer, (1, 0))  # any sequence
        self.assertTrue(layer.closed)  # the net's now
        self.assertEqual((self.net.layer_inputs(1), self.net.node_shape(2)), ([1, 0], (4, 1, 1)))

    def test_negative_and_non_integer_numbers(self):
        layer = gan.Layer.add(2)
        with self.assertRaises(ValueError) as cm:
            self.net.add(layer, [-1, 0])
        self.assertIn("node -1 is negative", str(cm.exception))
        with self.assertRaises(ValueError):
            self.net.node_shape(-1)
        with self.assertRaises(ValueError):
            self.net.layer_inputs(-1)
        with self.assertRaises(TypeError):
            self.net.add(layer, [0, 1.0])
        self.assertFalse(layer.closed)
        self.assertEqual(self.net.num_layers, 1)

    def test_input_counts(self):
        self.assertGanError(lambda: self.net.add(gan.Layer.concat(2)), "gan_net_add",
                            "concat layer 1 takes 2 inputs, 1 named")
        self.assertGanError(lambda: self.net.add(gan.Layer.add(3), [0, 1]), "add layer 1 takes 3 inputs, 2 named")
        self.assertGanError(lambda: self.net.add(gan.Layer.dense(4, 2), [0, 1]), "dense layer 1 takes 1 input, 2 named")
        self.assertGanError(lambda: self.net.add(gan.Layer.concat(2), []), "gan_net_add_from")
        self.net.add(gan.Layer.dense(4, 3), 0)  # one node as an int: a second branch from the input
        self.assertEqual((self.net.layer_inputs(1), self.net.node_shape(2)), ([0], (3, 1, 1)))

    def test_shapes_that_do_not_fit_name_the_nodes(self):
        n = gan.Net.image(2, 4, 4).add(gan.Layer.avgpool(2))
        self.assertGanError(lambda: n.add(gan.Layer.concat(2), [0, 1]), "node 0 (2x4x4), node 1 (2x2x2)")
        self.assertGanError(lambda: n.add(gan.Layer.add(2), [0, 1]), "node 0 (2x4x4), node 1 (2x2x2)")
        self.assertGanError(lambda: n.add(gan.Layer.slice(1, 2), [1]), "slice layer 1")
        self.assertGanError(lambda: gan.Net.image(2, 3, 4).add(gan.Layer.avgpool(2)), "avgpool layer 0")
        self.assertEqual(n.num_layers, 1)

    def test_views_block_add_with_inputs(self):
        p = self.net.params
        layer = gan.Layer.add(2)
        with self.assertRaises(BufferError):
            self.net.add(layer, [0, 1])
        del p
        self.net.add(layer, [0, 1])
        self.assertEqual(self.net.num_layers, 2)


if __name__ == "__main__":
    unittest.main(verbosity=2)

#!/usr/bin/env python3
"""Data sets of images from Python: Dataset.from_images on Debian's emoji (ruby-gemojione),
class folders and names, skipped files, shapes, get_rows, save_idx and a sampler's range."""
import os
import shutil
import tempfile
import unittest

import libgan as gan

EMOJI = "/usr/share/rubygems-integration/all/gems/gemojione-3.3.0/assets/png"


def flat(a):
    return [float(v) for v in gan.flat(a)]


@unittest.skipUnless(os.path.isdir(EMOJI), "Debian's ruby-gemojione is not installed")
class TestImageDatasets(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="gan-py-images-")
        for cls, names in (("cats", ["1F431.png", "1F408.png"]), ("dogs", ["1F436.png"])):
            os.makedirs(os.path.join(self.dir, "tree", cls))
            for name in names:
                shutil.copy(os.path.join(EMOJI, name), os.path.join(self.dir, "tree", cls, name))
        with open(os.path.join(self.dir, "tree", "cats", "broken.png"), "wb") as f:
            f.write(b"\x89PNG\r\n\x1a\nnot really")

    def tearDown(self):
        shutil.rmtree(self.dir)

    def test_emoji_folder(self):
        with gan.Dataset.from_images(EMOJI, 16, 16, channels=3) as ds:
            self.assertEqual(len(ds), 1794)
            self.assertEqual(ds.shape, (16, 16, 3))
            self.assertEqual(ds.dim, 16 * 16 * 3)
            self.assertIsNone(ds.class_names)
            rows = ds.get_rows(5, 2)
            self.assertTrue(all(0.0 <= v <= 1.0 for v in flat(rows)))
            self.assertEqual(flat(rows)[ds.dim:], flat(ds.get_rows(6, 1)))

    def test_class_folders_names_and_skipped(self):
        tree = os.path.join(self.dir, "tree")
        with self.assertRaises(gan.GanError) as err:
            gan.Dataset.from_images(tree, 8, 8, labels=True)
        self.assertIn("broken.png", str(err.exception))
        with gan.Dataset.from_images(tree, 8, 8, channels=1, labels=True, skip_bad=True) as ds:
            self.assertEqual(len(ds), 3)
            self.assertEqual(ds.class_names, ["cats", "dogs"])
            self.assertEqual(ds.labels, [0, 0, 1])
            count, names = ds.skipped
            self.assertEqual(count, 1)
            self.assertTrue(names[0].endswith("cats/broken.png"))
            images, labels = os.path.join(self.dir, "i.idx"), os.path.join(self.dir, "l.idx")
            ds.save_idx(images, labels)
            with gan.Dataset.load_idx(images, labels) as back:
                self.assertEqual(back.shape, (8, 8, 1))
                self.assertEqual(flat(back.get_rows()), flat(ds.get_rows()))
                self.assertEqual(back.labels, ds.labels)
                s = back.sampler()
                s.set_range(-1.0, 1.0)
                x, _ = s.sample(gan.Rng(3), 4)
                self.assertTrue(all(-1.0 <= v <= 1.0 for v in flat(x)))
                self.assertTrue(any(v < 0.0 for v in flat(x)))
                with self.assertRaises(gan.GanError):
                    s.set_range(1.0, -1.0)
                s.close()

    def test_arguments(self):
        for bad in ({"height": 0}, {"channels": 0}, {"pixel_limit_log2": 41}):
            args = dict(height=8, width=8, channels=3)
            args.update(bad)
            with self.assertRaises(ValueError):
                gan.Dataset.from_images(self.dir, **args)
        with self.assertRaises(gan.GanError) as err:
            gan.Dataset.from_images(self.dir, 8, 8, channels=2)
        self.assertIn("channels must be 1", str(err.exception))


if __name__ == "__main__":
    unittest.main()

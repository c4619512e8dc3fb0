#!/usr/bin/env python3
"""libgan.image: PNG files written and decoded back (with and without numpy), alpha on
white and on black, the pixel limit, and the errors."""
import os
import tempfile
import unittest

import libgan as gan

np = gan.numpy


def flat(a):
    return list(bytes(a.tobytes() if hasattr(a, "tobytes") else a))


class TestImage(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.TemporaryDirectory()
        self.path = os.path.join(self.dir.name, "x.png")

    def tearDown(self):
        self.dir.cleanup()

    def test_round_trip(self):
        h, w = 5, 7
        rgb = bytes((i * 37 + 11) % 256 for i in range(h * w * 3))
        if np is not None:
            pixels = np.frombuffer(rgb, np.uint8).reshape(h, w, 3)
            gan.image.write_png(self.path, pixels)
        else:
            gan.image.write_png(self.path, memoryview(rgb).cast("B", (h, w, 3)))
        with open(self.path, "rb") as f:
            data = f.read()
        self.assertEqual(data[:8], b"\x89PNG\r\n\x1a\n")
        out = gan.image.decode(data, 3, h, w)
        if np is not None:
            self.assertEqual((out.shape, out.dtype), ((h, w, 3), np.uint8))
        else:
            self.assertEqual(out.typecode, "B")
        self.assertEqual(flat(out), list(rgb))
        grey = gan.image.decode(data, 1, h, w)  # ITU-R 601 luma, PIL's convert('L')
        want = [(rgb[3 * i] * 19595 + rgb[3 * i + 1] * 38470 + rgb[3 * i + 2] * 7471 + 0x8000) >> 16
                for i in range(h * w)]
        self.assertEqual(flat(grey), want)
        # a flat buffer needs its shape; decode's array('B') without numpy goes back as it came
        gan.image.write_png(self.path, bytearray(rgb), shape=(h, w, 3))
        with open(self.path, "rb") as f:
            self.assertEqual(flat(gan.image.decode(f.read(), 3, h, w)), list(rgb))

    def test_alpha_on_white_and_black(self):
        ga = bytes([200, 128, 10, 0])  # grey + alpha, 2 x 1
        gan.image.write_png(self.path, ga, shape=(1, 2, 2))
        with open(self.path, "rb") as f:
            data = f.read()
        self.assertEqual(flat(gan.image.decode(data, 1, 1, 2)), [(128 * 200 + 127 * 255 + 127) // 255, 255])
        self.assertEqual(flat(gan.image.decode(data, 3, 1, 2, gan.IMAGE_BLACK)),
                         [(128 * 200 + 127) // 255] * 3 + [0] * 3)

    def test_resize_and_limit(self):
        px = bytes(range(16))  # 4 x 4 grey to 2 x 2: the means of 2 x 2 blocks, half up
        gan.image.write_png(self.path, px, shape=(4, 4))
        with open(self.path, "rb") as f:
            data = f.read()
        self.assertEqual(flat(gan.image.decode(data, 1, 2, 2)), [3, 5, 11, 13])  # 2.5 -> 3, 4.5 -> 5 ...
        self.assertEqual(gan.image.pixel_limit(4), 4 << 8)
        with self.assertRaises(gan.GanError) as cm:
            gan.image.decode(data, 1, 2, 2, gan.image.pixel_limit(3))
        self.assertEqual(cm.exception.code, gan.EFORMAT)
        self.assertIn("4 x 4 pixels, more than the limit of 2^3", str(cm.exception))
        self.assertEqual(len(flat(gan.image.decode(data, 1, 2, 2, gan.image.pixel_limit(4)))), 4)

    def test_errors(self):
        with self.assertRaises(gan.GanError) as cm:
            gan.image.decode(b"GIF89a....", 3, 4, 4)
        self.assertEqual(cm.exception.code, gan.EFORMAT)
        self.assertIn("gan_image_decode_mem: a GIF image, not PNG or JPEG", str(cm.exception))
        with self.assertRaises(ValueError):
            gan.image.decode(b"\x89PNG", 2, 4, 4)
        with self.assertRaises(ValueError):
            gan.image.decode(b"\x89PNG", 3, 0, 4)
        with self.assertRaises(ValueError):
            gan.image.pixel_limit(41)
        with self.assertRaises(ValueError):  # 5 bytes for 2 x 2
            gan.image.write_png(self.path, bytes(5), shape=(2, 2))
        with self.assertRaises(ValueError):  # a flat buffer without its shape
            gan.image.write_png(self.path, bytes(12))
        with self.assertRaises(gan.GanError) as cm:
            gan.image.write_png(os.path.join(self.dir.name, "missing", "x.png"), bytes(4), shape=(2, 2))
        self.assertEqual(cm.exception.code, gan.EIO)
        self.assertIn("No such file or directory", str(cm.exception))
        if np is not None:
            with self.assertRaises(TypeError):
                gan.image.write_png(self.path, np.zeros((2, 2), np.float32))

    def test_documented(self):
        self.assertTrue(gan.image.__doc__)
        for f in (gan.image.decode, gan.image.write_png, gan.image.pixel_limit):
            self.assertGreater(len(f.__doc__ or ""), 100, f.__name__)


if __name__ == "__main__":
    unittest.main(verbosity=2)

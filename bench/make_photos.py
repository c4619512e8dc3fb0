#!/usr/bin/env python3
"""Photo-like JPEG files for bench/images.sh: smooth random fields at several scales in
each channel (sky, shapes, shading), a gradient and sensor-like noise, so that the JPEG
coder works as hard as on a photograph (no flat regions). Nothing is downloaded.
Usage: make_photos.py DIR [COUNT] [WIDTH] [HEIGHT]"""
import os
import sys

import numpy as np
from PIL import Image


def field(rng, h, w):
    out = np.zeros((h, w), np.float32)
    for cells, weight in ((4, 1.0), (16, 0.5), (64, 0.25), (256, 0.12)):
        small = rng.standard_normal((cells * h // w + 1, cells + 1)).astype(np.float32)
        big = Image.fromarray(small).resize((w, h), Image.BICUBIC)
        out += weight * np.asarray(big)
    return out


def main():
    out_dir = sys.argv[1]
    count = int(sys.argv[2]) if len(sys.argv) > 2 else 1000
    w = int(sys.argv[3]) if len(sys.argv) > 3 else 1024
    h = int(sys.argv[4]) if len(sys.argv) > 4 else 768
    os.makedirs(out_dir, exist_ok=True)
    rng = np.random.default_rng(1)
    ramp = np.linspace(-1, 1, h, dtype=np.float32)[:, None]
    for i in range(count):
        img = np.stack([field(rng, h, w) + ramp * rng.uniform(-1, 1) for _ in range(3)], axis=2)
        img += 0.05 * rng.standard_normal(img.shape).astype(np.float32)
        img = 128 + 60 * img
        Image.fromarray(np.clip(img, 0, 255).astype(np.uint8)).save(
            os.path.join(out_dir, "photo%04d.jpg" % i), quality=90)


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""The peer of bench/images.c: PIL decodes and resizes the same files in a Python loop, as
torchvision's ImageFolder does (its default loader opens each file and converts it), with
the conversion gan.h states: alpha onto white, the largest centred box of the target's
aspect ratio, then BOX (area averaging) to shrink and BILINEAR to enlarge. Prints the best
of ROUNDS rounds' images/s.
Usage: peer_images.py PATH HEIGHT WIDTH CHANNELS [ROUNDS]"""
import os
import sys
import time

import numpy as np
from PIL import Image


def files(path):
    if os.path.isfile(path):
        base = os.path.dirname(path)
        with open(path) as f:
            return [os.path.join(base, line.split()[0]) for line in f if line.strip() and not line.startswith("#")]
    out = []
    for root, dirs, names in os.walk(path):
        dirs.sort()
        out += [os.path.join(root, n) for n in sorted(names)
                if not n.startswith(".") and n.lower().endswith((".png", ".jpg", ".jpeg"))]
    return out


def load(name, h, w, c):
    im = Image.open(name)
    if im.mode in ("RGBA", "LA", "P", "PA") or "transparency" in im.info:
        im = im.convert("RGBA")
        bg = Image.new("RGBA", im.size, (255, 255, 255, 255))
        im = Image.alpha_composite(bg, im)
    im = im.convert("RGB" if c == 3 else "L")
    sw, sh = im.size
    if sw * h > sh * w:  # wider than the target: crop the sides
        bw, bh = sh * w // h, sh
    else:
        bw, bh = sw, sw * h // w
    x0, y0 = (sw - bw) // 2, (sh - bh) // 2
    shrink = bw >= w and bh >= h
    im = im.resize((w, h), Image.BOX if shrink else Image.BILINEAR, box=(x0, y0, x0 + bw, y0 + bh))
    return np.asarray(im)


def main():
    path, h, w, c = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
    rounds = int(sys.argv[5]) if len(sys.argv) > 5 else 3
    names = files(path)
    best = 0.0
    for _ in range(rounds):
        t0 = time.perf_counter()
        out = np.empty((len(names), h, w, c), np.uint8)
        for i, name in enumerate(names):
            out[i] = load(name, h, w, c).reshape(h, w, c)
        best = max(best, len(names) / (time.perf_counter() - t0))
    print("pil images=%d size=%dx%dx%d best_of=%d images_per_s=%.0f" % (len(names), h, w, c, rounds, best))


if __name__ == "__main__":
    main()

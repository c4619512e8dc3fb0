#!/usr/bin/python3
"""Write the seed corpus of fuzz_image.c into corpus_image/: a small file of every PNG
colour type and bit depth, Adam7 too, and of every kind of JPEG (baseline 4:2:0 and
4:4:4, progressive, optimised Huffman tables, restart markers, grey, CMYK), plus broken
ones. Each seed is two bytes the harness reads as the target and flags (see
fuzz_image.c), then the file. Files named png-* and jpeg-* decode; bad-* do not
(tests/test_image.c checks both). Needs PIL and numpy (Debian: python3-pil,
python3-numpy); run once, commit the files. Every seed stays under 4 KB."""
import io
import os
import struct
import sys
import zlib

import numpy as np
from PIL import Image

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, ".."))
from image_reference import alpha, pattern, photo, png_bytes  # noqa: E402

OUT = os.path.join(HERE, "corpus_image")


def seed(name, data, target=3, flags=0):
    assert len(data) + 2 < 4096, (name, len(data))
    with open(os.path.join(OUT, name), "wb") as f:
        f.write(bytes([target, flags]) + data)


def pil(array, mode, fmt, **kw):
    b = io.BytesIO()
    im = Image.fromarray(array, mode)
    if "palette" in kw:
        im.putpalette(kw.pop("palette"))
    im.save(b, fmt, **kw)
    return b.getvalue()


def chunk(kind, data):
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xffffffff)


def main():
    os.makedirs(OUT, exist_ok=True)
    for f in os.listdir(OUT):
        os.unlink(os.path.join(OUT, f))
    h, w = 12, 16
    g8, rgb8, a8 = pattern(h, w, 1), pattern(h, w, 2, k=3), alpha(h, w, 3)
    g16, rgb16, a16 = pattern(h, w, 4, depth=16), pattern(h, w, 5, depth=16, k=3), alpha(h, w, 6, depth=16)
    pal = np.random.default_rng(7).integers(0, 256, (16, 3)).astype(np.uint8)
    trns = bytes([0, 90, 180, 255, 40])
    for d in (1, 2, 4, 8):
        v = (pattern(h, w, 8 + d).astype(np.int64) * (1 << d) // 256).astype(np.uint8)
        seed("png-grey%d" % d, png_bytes(v, 0, d), target=d)
        n = min(16, 1 << d)
        seed("png-palette%d-trns" % d, png_bytes(v % n, 3, d, palette=pal[:n], trns=trns[:n]),
             target=d + 1, flags=2)
    seed("png-grey16", png_bytes(g16, 0, 16), target=5)
    seed("png-grey8-trns", png_bytes(g8, 0, 8, trns=int(g8[2, 2])), target=6, flags=2)
    seed("png-grey16-trns", png_bytes(g16, 0, 16, trns=int(g16[2, 2])), target=7, flags=3)
    seed("png-grey-alpha8", png_bytes(np.dstack([g8, a8]), 4, 8), target=8, flags=1)
    seed("png-grey-alpha16", png_bytes(np.dstack([g16, a16]), 4, 16), target=9, flags=3)
    seed("png-rgb8", png_bytes(rgb8, 2, 8), target=10)
    seed("png-rgb8-trns", png_bytes(rgb8, 2, 8, trns=tuple(int(v) for v in rgb8[1, 1])), target=11, flags=2)
    seed("png-rgb16", png_bytes(rgb16, 2, 16), target=12, flags=1)
    seed("png-rgba8", png_bytes(np.dstack([rgb8, a8]), 6, 8), target=13, flags=2)
    seed("png-rgba16", png_bytes(np.dstack([rgb16, a16]), 6, 16), target=14, flags=3)
    seed("png-rgba8-adam7", png_bytes(np.dstack([rgb8, a8]), 6, 8, interlace=True), target=15)
    seed("png-grey16-adam7", png_bytes(g16, 0, 16, interlace=True), target=0, flags=1)
    seed("png-palette2-adam7", png_bytes(g8 % 4, 3, 2, palette=pal[:4], trns=trns[:2], interlace=True), target=1)
    seed("png-grey1-adam7-5x3", png_bytes(pattern(3, 5, 9) > 127, 0, 1, interlace=True), target=2)
    seed("png-pil-rgba", pil(np.dstack([rgb8, a8]), "RGBA", "PNG", optimize=True), target=4)
    seed("png-pil-palette", pil(g8 // 16, "P", "PNG", palette=pal.tobytes(), transparency=trns), target=5, flags=1)
    seed("png-1x1", png_bytes(np.array([[200]], np.uint8), 0, 8), target=6)

    ph = photo(h * 2, w * 2, 40)
    seed("jpeg-baseline", pil(ph, "RGB", "JPEG", quality=80), target=3)
    seed("jpeg-444", pil(ph, "RGB", "JPEG", quality=80, subsampling=0), target=7, flags=1)
    seed("jpeg-progressive", pil(ph, "RGB", "JPEG", quality=80, progressive=True), target=8)
    seed("jpeg-optimized", pil(ph, "RGB", "JPEG", quality=60, optimize=True), target=9, flags=1)
    seed("jpeg-restart", pil(ph, "RGB", "JPEG", quality=60, restart_marker_blocks=1), target=10)
    seed("jpeg-grey", pil(ph[..., 0].copy(), "L", "JPEG", quality=80), target=11, flags=1)
    seed("jpeg-grey-progressive", pil(ph[..., 1].copy(), "L", "JPEG", quality=80, progressive=True), target=12)
    seed("jpeg-cmyk", pil(np.dstack([255 - ph, ph[..., :1] // 3]).astype(np.uint8), "CMYK", "JPEG", quality=70),
         target=13)

    good = png_bytes(rgb8, 2, 8)
    seed("bad-png-truncated", good[:len(good) // 2])
    seed("bad-png-crc", good[:20] + bytes([good[20] ^ 1]) + good[21:])
    seed("bad-png-bomb", b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 100000, 100000, 8, 2, 0, 0, 0))
         + chunk(b"IDAT", zlib.compress(b"\0" * 1000)) + chunk(b"IEND", b""))
    seed("bad-png-no-idat", good[:33] + chunk(b"IEND", b""))
    jpg = pil(ph, "RGB", "JPEG", quality=80)
    seed("bad-jpeg-truncated", jpg[:len(jpg) * 2 // 3])
    sof = jpg.index(b"\xff\xc0")
    seed("bad-jpeg-bomb", jpg[:sof + 5] + struct.pack(">HH", 65000, 65000) + jpg[sof + 9:])
    seed("bad-not-an-image", b"GIF89a" + bytes(20))
    seed("bad-empty", b"")
    print("make_corpus_image.py: %d seeds in %s" % (len(os.listdir(OUT)), OUT))


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Write the seed corpus of fuzz_idx.c into corpus_idx/: small valid and invalid IDX pairs,
raw and gzip. Each file is a 4-byte little-endian split point, the images bytes, the labels
bytes (split == len(images) + len(labels) means "no labels")."""
import gzip
import os
import struct

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "corpus_idx")


def idx(dims, data, type_=0x08, ndims=None):
    nd = len(dims) if ndims is None else ndims
    return bytes([0, 0, type_, nd]) + b"".join(struct.pack(">I", d) for d in dims) + bytes(data)


def gz(b):
    return gzip.compress(b, compresslevel=9, mtime=0)


def seed(name, images, labels=None):
    labels = b"" if labels is None else labels
    split = len(images) if labels else len(images) + len(labels)
    with open(os.path.join(OUT, name), "wb") as f:
        f.write(struct.pack("<I", split) + images + labels)


pixels = [0, 255, 128, 1, 2, 3, 10, 20, 30, 40, 50, 60, 254, 253, 252, 127, 64, 32]
img = idx([3, 2, 3], pixels)
lbl = idx([3], [2, 0, 1])
os.makedirs(OUT, exist_ok=True)
seed("valid-raw", img, lbl)
seed("valid-raw-nolabels", img)
seed("valid-gzip", gz(img), gz(lbl))
seed("valid-gzip-raw-labels", gz(img), lbl)
seed("valid-gzip-two-members", gz(img[:10]) + gz(img[10:]), lbl)
seed("valid-28x28", idx([2, 28, 28], [(i * 7) % 256 for i in range(2 * 784)]), idx([2], [9, 3]))
seed("valid-8dims", idx([1, 1, 2, 1, 1, 1, 1, 2], [5, 6, 7, 8]))
seed("bad-magic", b"\x01" + img[1:], lbl)
seed("bad-type", img[:2] + b"\x0d" + img[3:], lbl)
seed("bad-ndims", img[:3] + b"\x09" + img[4:], lbl)
seed("bad-zero-dim", idx([3, 0, 3], []), lbl)
seed("bad-overflow", idx([0xFFFFFFFF] * 8, []))
seed("bad-truncated", img[:-1], lbl)
seed("bad-trailing", img + b"\x00", lbl)
seed("bad-label-count", img, idx([2], [1, 0]))
seed("bad-labels-ndims", img, idx([3, 1], [1, 0, 1]))
seed("bad-lying-header", idx([60000, 28, 28], pixels), lbl)
seed("bad-gzip-truncated", gz(img)[:-5], lbl)
seed("bad-gzip-trailing", gz(img + b"\x00"), lbl)
seed("bad-gzip-bomb", gz(idx([10, 10, 10], bytes(1000)) + bytes(1 << 20)))
seed("bad-gzip-garbage-after", gz(img) + b"\x00\x00\x08\x01", lbl)

#!/usr/bin/python3
"""Reference pixels for tests/test_image.c, from PIL (Debian's python3-pil) and numpy.

Usage: image_reference.py OUTDIR. Writes small images of every PNG colour type and bit
depth (grey 1/2/4/8/16, grey + alpha 8/16, palette with tRNS, grey and RGB with a tRNS
colour, RGB 8/16, RGBA 8/16, Adam7-interlaced ones) and JPEG (baseline 4:2:0 and 4:4:4,
progressive, optimised, grey baseline and progressive, CMYK), then for each of a set of
target sizes what gan_image_decode_mem must give, per gan.h:

  <case>.pil    PIL's decode, then the conversion: the alpha compositing and the 16-bit
                rounding of gan.h in numpy (PIL does neither that way: it ignores alpha in
                convert('L') and truncates 16-bit colour), RGB to grey by PIL's
                convert('L'), and PIL's resize of the centred box (BOX to shrink,
                BILINEAR to enlarge);
  <case>.exact  the same up to the resize, then gan.h's resize computed exactly in numpy
                (area averaging with fractional coverage, bilinear), rounded half up.
  manifest.txt  one line per case: case file channels height width flags kind, kind being
                same, crop, integer, fraction or enlarge.

PIL's BOX weighs whole pixels (a pixel counts fully when its centre is inside an output
pixel), so it is gan.h's area average only for integer shrink factors: the C test holds
every case to within one level of PIL except 'fraction', whose difference it reports, and
every case to within one level of the exact rule.

PNG files are written by PIL where it can, and by png_bytes() below where it cannot
(2- and 4-bit grey, 16-bit colour, tRNS colours, Adam7): those are checked to decode in
PIL to the data they were made from. Exits 77 (a skip for the C test) without PIL or numpy.
"""
import os
import struct
import sys
import zlib

try:
    import numpy as np
    from PIL import Image
except ImportError as e:  # the C test skips these cases
    print("image_reference.py: %s (Debian: python3-pil, python3-numpy)" % e, file=sys.stderr)
    sys.exit(77)

BOX = getattr(Image, "Resampling", Image).BOX
BILINEAR = getattr(Image, "Resampling", Image).BILINEAR
BLACK = 4  # GAN_IMAGE_BLACK

# ------------------------------------------------------------------ PNG encoder

ADAM7 = [(0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8), (2, 0, 4, 4), (0, 2, 2, 4), (1, 0, 2, 2), (0, 1, 1, 2)]


def _chunk(kind, data):
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xffffffff)


def _scanline(row, depth):
    """One row of samples (n,) or (n, k) as PNG bytes, filter type 0 in front."""
    flat = np.asarray(row).reshape(-1)
    if depth == 16:
        return b"\0" + flat.astype(">u2").tobytes()
    if depth == 8:
        return b"\0" + flat.astype(np.uint8).tobytes()
    per = 8 // depth
    out = bytearray()
    for i in range(0, len(flat), per):
        b = 0
        for j in range(per):
            v = int(flat[i + j]) if i + j < len(flat) else 0
            b |= v << (8 - depth * (j + 1))
        out.append(b)
    return b"\0" + bytes(out)


def png_bytes(data, color_type, depth, palette=None, trns=None, interlace=False, level=9):
    """A PNG file of `data`: (h, w) samples for grey and palette indices, (h, w, k)
    otherwise. palette: (n, 3) uint8; trns: bytes of palette alphas, or the grey value, or
    the (r, g, b) colour that is transparent."""
    data = np.asarray(data)
    h, w = data.shape[:2]
    raw = bytearray()
    passes = ADAM7 if interlace else [(0, 0, 1, 1)]
    for x0, y0, dx, dy in passes:
        sub = data[y0::dy, x0::dx]
        if sub.shape[0] == 0 or sub.shape[1] == 0:
            continue
        for row in sub:
            raw += _scanline(row, depth)
    out = b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, depth, color_type, 0, 0,
                                                            1 if interlace else 0))
    if palette is not None:
        out += _chunk(b"PLTE", np.asarray(palette, np.uint8).tobytes())
    if trns is not None:
        if color_type == 3:
            out += _chunk(b"tRNS", bytes(trns))
        elif color_type == 0:
            out += _chunk(b"tRNS", struct.pack(">H", trns))
        else:
            out += _chunk(b"tRNS", struct.pack(">HHH", *trns))
    out += _chunk(b"IDAT", zlib.compress(bytes(raw), level)) + _chunk(b"IEND", b"")
    return out


# ------------------------------------------------------------------ test images


def r8(v):
    """gan.h's 16 to 8 bits: round(v / 257)."""
    return ((np.asarray(v, np.int64) + 128) // 257).astype(np.uint8)


def pattern(h, w, seed, depth=8, k=1):
    """Gradients, a sharp edge and noise: structure for resizing to get wrong."""
    rng = np.random.default_rng(seed)
    top = (1 << depth) - 1
    y, x = np.mgrid[0:h, 0:w].astype(np.float64)
    chans = []
    for c in range(k):
        base = (0.5 + 0.45 * np.sin(x / (3.0 + c) + y / 5.0 + c)) * top
        base[:, w // 3:w // 3 + 2] = top if c % 2 == 0 else 0  # a thin line
        base += rng.normal(0, 0.12 * top, (h, w))
        chans.append(np.clip(np.rint(base), 0, top))
    a = np.stack(chans, -1).astype(np.uint16 if depth == 16 else np.uint8)
    return a[..., 0] if k == 1 else a


def alpha(h, w, seed, depth=8):
    """Opaque, transparent and everything between."""
    top = (1 << depth) - 1
    rng = np.random.default_rng(seed)
    a = rng.integers(0, top + 1, (h, w))
    a[: h // 4] = top
    a[h // 4: h // 3] = 0
    return a.astype(np.uint16 if depth == 16 else np.uint8)


def photo(h, w, seed):
    """A smooth picture, as photographs are, for JPEG."""
    y, x = np.mgrid[0:h, 0:w].astype(np.float64)
    rng = np.random.default_rng(seed)
    img = np.stack([127 + 100 * np.sin(x / 17.0 + c) * np.cos(y / 23.0 - c) + 20 * np.sin((x + y) / 5.0)
                    for c in range(3)], -1) + rng.normal(0, 4, (h, w, 3))
    return np.clip(np.rint(img), 0, 255).astype(np.uint8)


def make_images(outdir):
    """{name: (file name, truth)}: truth is the decoded image as 8-bit samples, (h, w, k)
    with k 1 (grey), 2 (grey + alpha), 3 (RGB) or 4 (RGBA), as gan.h's step 1 states it."""
    images = {}
    h, w = 48, 64

    def save_pil(name, array, mode, truth, **kw):
        path = name + (".jpg" if kw.pop("jpeg", False) else ".png")
        im = Image.fromarray(array) if mode == "1" else Image.fromarray(array, mode)  # bool: "1;8"
        assert im.mode == mode
        im.save(os.path.join(outdir, path), **kw)
        if truth is not None:  # PNG: PIL reads back what it was given
            back = np.asarray(Image.open(os.path.join(outdir, path)).convert("L" if mode == "1" else mode))
            if not np.array_equal(back.reshape(truth.shape), truth):
                sys.exit("image_reference.py: PIL does not read back %s as written" % path)
        images[name] = (path, truth)

    def save_raw(name, data, color_type, depth, truth, pil_view, **kw):
        path = name + ".png"
        with open(os.path.join(outdir, path), "wb") as f:
            f.write(png_bytes(data, color_type, depth, **kw))
        got = pil_view(Image.open(os.path.join(outdir, path)))
        if not np.array_equal(got, pil_expect(truth, data, depth, color_type, kw)):
            sys.exit("image_reference.py: PIL decodes %s differently from the data it was made of" % path)
        images[name] = (path, truth)

    def pil_expect(truth, data, depth, color_type, kw):
        if depth == 16 and color_type == 0 and kw.get("trns") is None:
            return np.asarray(data, np.int64)  # PIL keeps 16-bit grey whole (mode I)
        if depth == 16:
            return (np.asarray(data) >> 8).astype(np.uint8)  # PIL truncates 16-bit colour
        return truth

    g8, rgb8 = pattern(h, w, 1), pattern(h, w, 2, k=3)
    a8 = alpha(h, w, 3)
    # PIL's own encoder
    save_pil("grey8", g8, "L", g8[..., None])
    save_pil("grey_alpha8", np.dstack([g8, a8]), "LA", np.dstack([g8, a8]))
    save_pil("rgb8", rgb8, "RGB", rgb8)
    save_pil("rgba8", np.dstack([rgb8, a8]), "RGBA", np.dstack([rgb8, a8]))
    bits = pattern(h, w, 4) > 127
    save_pil("grey1", bits, "1", (bits * 255).astype(np.uint8)[..., None])
    pal = np.random.default_rng(5).integers(0, 256, (16, 3)).astype(np.uint8)
    pal_alpha = bytes([0, 60, 128, 200, 255, 255, 30])
    idx = (pattern(h, w, 6).astype(np.int64) * 16 // 256).astype(np.uint8)
    p_img = Image.fromarray(idx, "P")
    p_img.putpalette(pal.tobytes())
    p_img.save(os.path.join(outdir, "palette8_trns.png"), transparency=pal_alpha)
    full_alpha = np.frombuffer(pal_alpha + b"\xff" * (16 - len(pal_alpha)), np.uint8)
    images["palette8_trns"] = ("palette8_trns.png", np.dstack([pal[idx], full_alpha[idx]]))
    # png_bytes(): what PIL does not write
    for d in (2, 4):
        v = (pattern(h, w, 10 + d).astype(np.int64) * (1 << d) // 256).astype(np.uint8)
        save_raw("grey%d" % d, v, 0, d, (v.astype(np.int64) * 255 // ((1 << d) - 1)).astype(np.uint8)[..., None],
                 lambda im: np.asarray(im)[..., None])
    g16 = pattern(h, w, 20, depth=16)
    save_raw("grey16", g16, 0, 16, r8(g16)[..., None], lambda im: np.asarray(im, np.int64))
    a16 = alpha(h, w, 21, depth=16)
    ga16 = np.dstack([g16, a16])
    save_raw("grey_alpha16", ga16, 4, 16, r8(ga16), lambda im: np.asarray(im.convert("LA")))
    rgb16 = pattern(h, w, 22, depth=16, k=3)
    save_raw("rgb16", rgb16, 2, 16, r8(rgb16), lambda im: np.asarray(im))
    rgba16 = np.dstack([rgb16, a16])
    save_raw("rgba16", rgba16, 6, 16, r8(rgba16), lambda im: np.asarray(im))
    t = int(g8[5, 5])
    save_raw("grey8_trns", g8, 0, 8, np.dstack([g8, np.where(g8 == t, 0, 255).astype(np.uint8)]),
             lambda im: np.asarray(im.convert("LA")), trns=t)
    c = tuple(int(v) for v in rgb8[7, 9])
    rgb_a = np.where((rgb8 == np.array(c, np.uint8)).all(-1), 0, 255).astype(np.uint8)
    save_raw("rgb8_trns", rgb8, 2, 8, np.dstack([rgb8, rgb_a]), lambda im: np.asarray(im.convert("RGBA")), trns=c)
    idx4 = (pattern(h, w, 23).astype(np.int64) * 16 // 256).astype(np.uint8)
    save_raw("palette4_trns", idx4, 3, 4, np.dstack([pal[idx4], full_alpha[idx4]]),
             lambda im: np.asarray(im.convert("RGBA")), palette=pal, trns=pal_alpha)
    # Adam7, on the sizes above and on a small odd one (passes of one or no pixel)
    save_raw("rgba8_adam7", np.dstack([rgb8, a8]), 6, 8, np.dstack([rgb8, a8]), lambda im: np.asarray(im),
             interlace=True)
    save_raw("grey16_adam7", g16, 0, 16, r8(g16)[..., None], lambda im: np.asarray(im, np.int64), interlace=True)
    save_raw("rgb16_adam7", rgb16, 2, 16, r8(rgb16), lambda im: np.asarray(im), interlace=True)
    save_raw("palette4_adam7", idx4, 3, 4, np.dstack([pal[idx4], full_alpha[idx4]]),
             lambda im: np.asarray(im.convert("RGBA")), palette=pal, trns=pal_alpha, interlace=True)
    small = pattern(11, 13, 30)
    save_raw("grey1_adam7_13x11", small > 127, 0, 1, ((small > 127) * 255).astype(np.uint8)[..., None],
             lambda im: (np.asarray(im.convert("L")))[..., None], interlace=True)
    sga = np.dstack([pattern(11, 13, 31), alpha(11, 13, 32)])
    save_raw("grey_alpha8_adam7_13x11", sga, 4, 8, sga, lambda im: np.asarray(im), interlace=True)

    # JPEG through PIL (Debian's libjpeg62-turbo, the library libgan decodes with)
    ph = photo(h, w, 40)
    for name, kw in (("jpeg_baseline", {"quality": 90}),
                     ("jpeg_444", {"quality": 95, "subsampling": 0}),
                     ("jpeg_progressive", {"quality": 85, "progressive": True}),
                     ("jpeg_optimized", {"quality": 75, "optimize": True})):
        save_pil(name, ph, "RGB", None, jpeg=True, **kw)
    gph = ph[..., 1].copy()
    save_pil("jpeg_grey", gph, "L", None, jpeg=True, quality=90)
    save_pil("jpeg_grey_progressive", gph, "L", None, jpeg=True, quality=90, progressive=True)
    cmyk = np.dstack([255 - ph, np.minimum(ph[..., :1], 90)]).astype(np.uint8)
    save_pil("jpeg_cmyk", cmyk, "CMYK", None, jpeg=True, quality=90)
    big = photo(180, 240, 41)
    save_pil("jpeg_photo_240x180", big, "RGB", None, jpeg=True, quality=90)
    for name, (path, truth) in list(images.items()):
        if truth is None:  # JPEG: PIL's decode is the truth (CMYK through convert('RGB'))
            im = Image.open(os.path.join(outdir, path))
            a = np.asarray(im.convert("RGB") if im.mode == "CMYK" else im)
            images[name] = (path, a if a.ndim == 3 else a[..., None])
    return images


# ------------------------------------------------------------------ conversion


def composite(truth, bg):
    """gan.h step 2: alpha onto bg, round((a c + (255 - a) bg) / 255), as integers."""
    k = truth.shape[2]
    if k in (1, 3):
        return truth
    colour = truth[..., :k - 1].astype(np.int64)
    a = truth[..., k - 1:].astype(np.int64)
    return ((a * colour + (255 - a) * bg + 127) // 255).astype(np.uint8)


def to_channels(img, channels):
    """gan.h step 3, grey to RGB by replication, RGB to grey by PIL's convert('L')."""
    if img.shape[2] == channels:
        return img
    if channels == 3:
        return np.repeat(img, 3, axis=2)
    return np.asarray(Image.fromarray(img, "RGB").convert("L"))[..., None]


def box_of(w, h, W, H):
    """gan.h step 4: (x0, y0, bw, bh)."""
    if w * H >= h * W:
        bh, bw = h, max(1, h * W // H)
    else:
        bw, bh = w, max(1, w * H // W)
    return (w - bw) // 2, (h - bh) // 2, bw, bh


def axis_weights(size, start, s, n):
    """gan.h step 5 for one axis, an n x size matrix over the image's axis (the box is
    [start, start + s)), and whether it holds exact integers (area: weights in 1/n-ths of
    a source pixel, to be divided by s; copy: 1). Bilinear samples the image, not only the
    box: near the box's edges it reads the pixels beyond them, as PIL's resize(box=...)
    does, clamped at the image's edges."""
    m = np.zeros((n, size), np.float64)
    if s > n:  # area, fractional coverage
        for k in range(n):
            lo, hi = k * s, (k + 1) * s
            for i in range(lo // n, -(-hi // n)):
                m[k, start + i] = min(hi, (i + 1) * n) - max(lo, i * n)
        return m, s, True
    if s == n:
        m[np.arange(n), start + np.arange(n)] = 1
        return m, 1, True
    for k in range(n):  # bilinear between centres, clamped at the image's edges
        x = start + (k + 0.5) * s / n - 0.5
        if x <= 0:
            m[k, 0] = 1
        elif x >= size - 1:
            m[k, size - 1] = 1
        else:
            i = int(np.floor(x))
            m[k, i] += 1 - (x - i)
            m[k, i + 1] += x - i
    return m, 1, False


def exact_resize(img, box, W, H):
    x0, y0, bw, bh = box
    my, dy, ey = axis_weights(img.shape[0], y0, bh, H)
    mx, dx, ex = axis_weights(img.shape[1], x0, bw, W)
    out = np.empty((H, W, img.shape[2]), np.uint8)
    for c in range(img.shape[2]):
        plane = img[..., c].astype(np.int64)
        if ey and ex:  # integers: the exact mean, rounded half up
            s = my.astype(np.int64) @ plane @ mx.astype(np.int64).T
            d = dx * dy
            out[..., c] = (2 * s + d) // (2 * d)
        else:
            v = (my @ plane.astype(np.float64) @ mx.T) / (dx * dy)
            out[..., c] = np.clip(np.floor(v + 0.5), 0, 255)
    return out


def pil_resize(img, box, W, H):
    """PIL's resize of the box: BOX on a shrinking axis, BILINEAR on an enlarging one, one
    axis after the other when they differ (as PIL's own two passes run)."""
    x0, y0, bw, bh = box
    mode = "L" if img.shape[2] == 1 else "RGB"
    im = Image.fromarray(img[..., 0] if mode == "L" else img, mode)
    fx = BOX if bw > W else BILINEAR
    fy = BOX if bh > H else BILINEAR
    if bw == W:
        fx = fy
    if bh == H:
        fy = fx
    if fx == fy:
        im = im.resize((W, H), fx, box=(x0, y0, x0 + bw, y0 + bh))
    else:
        im = im.resize((W, bh), fx, box=(x0, y0, x0 + bw, y0 + bh)).resize((W, H), fy, box=(0, 0, W, bh))
    a = np.asarray(im)
    return a[..., None] if a.ndim == 2 else a


def kind_of(w, h, box, W, H):
    x0, y0, bw, bh = box
    if (bw, bh) == (W, H):
        return "same" if (bw, bh) == (w, h) else "crop"
    shrink = [s > n for s, n in ((bw, W), (bh, H)) if s != n]
    enlarge = [s < n for s, n in ((bw, W), (bh, H)) if s != n]
    assert not (any(shrink) and any(enlarge)), "an axis shrinks while the other enlarges"
    if any(enlarge):
        return "enlarge"
    return "integer" if all(s % n == 0 for s, n in ((bw, W), (bh, H))) else "fraction"


TARGETS = {  # (height, width) per source size (w, h)
    (64, 48): [(48, 64), (48, 48), (24, 32), (12, 16), (16, 16), (24, 24), (1, 1), (20, 30), (37, 29), (47, 20),
               (5, 7), (96, 128), (100, 77), (5, 200)],
    (13, 11): [(11, 13), (11, 11), (1, 1), (5, 5), (3, 4), (22, 26), (40, 9)],
    (240, 180): [(180, 240), (60, 60), (45, 45), (36, 48), (90, 120), (64, 64), (50, 70), (256, 256)],
}


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: image_reference.py OUTDIR")
    outdir = sys.argv[1]
    os.makedirs(outdir, exist_ok=True)
    images = make_images(outdir)
    lines = []
    for name, (path, truth) in sorted(images.items()):
        h, w = truth.shape[:2]
        has_alpha = truth.shape[2] in (2, 4)
        for H, W in TARGETS[(w, h)]:
            for channels in (1, 3):
                for flags in ((0, BLACK) if has_alpha else (0,)):
                    img = to_channels(composite(truth, 0 if flags & BLACK else 255), channels)
                    box = box_of(w, h, W, H)
                    case = "%s-%dx%dx%d-%d" % (name, H, W, channels, flags)
                    with open(os.path.join(outdir, case + ".pil"), "wb") as f:
                        f.write(pil_resize(img, box, W, H).tobytes())
                    with open(os.path.join(outdir, case + ".exact"), "wb") as f:
                        f.write(exact_resize(img, box, W, H).tobytes())
                    lines.append("%s %s %d %d %d %d %s\n" % (case, path, channels, H, W, flags,
                                                             kind_of(w, h, box, W, H)))
    with open(os.path.join(outdir, "manifest.txt"), "w") as f:
        f.writelines(lines)
    print("image_reference.py: %d images, %d cases in %s" % (len(images), len(lines), outdir))


if __name__ == "__main__":
    main()

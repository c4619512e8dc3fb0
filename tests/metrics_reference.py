#!/usr/bin/python3
"""Reference values for tests/test_metrics.c, from numpy and scipy (Debian's python3-scipy).

The inputs are formulas that the C test evaluates the same way (in double, rounded to
float), so both sides score the very same float rows:
    a[i][j] = sin(0.37 i (j + 1) + 0.11 j) + 0.05 j cos(1.3 i)      i < 40, j < 6
    b[i][j] = 0.8 cos(0.23 i (j + 2) - 0.4 j) + 0.45                i < 40, j < 6
Run: /usr/bin/python3 tests/metrics_reference.py, and paste its output into the test.
"""
import numpy as np
from scipy import linalg

N, DIM = 40, 6
i, j = np.meshgrid(np.arange(N, dtype=np.float64), np.arange(DIM, dtype=np.float64), indexing="ij")
a = (np.sin(0.37 * i * (j + 1) + 0.11 * j) + 0.05 * j * np.cos(1.3 * i)).astype(np.float32).astype(np.float64)
b = (0.8 * np.cos(0.23 * i * (j + 2) - 0.4 * j) + 0.45).astype(np.float32).astype(np.float64)


def frechet(x, y):
    mx, my = x.mean(0), y.mean(0)
    sx, sy = np.cov(x, rowvar=False), np.cov(y, rowvar=False)
    root = linalg.sqrtm(sx @ sy).real
    return float(((mx - my) ** 2).sum() + np.trace(sx + sy - 2 * root))


def kid_full(x, y):
    """The unbiased MMD^2 with the cubic kernel on the whole sets (one subset of all rows)."""
    d = x.shape[1]
    k = lambda p, q: (p @ q.T / d + 1) ** 3
    m = x.shape[0]
    kxx, kyy, kxy = k(x, x), k(y, y), k(x, y)
    return float((kxx.sum() - np.trace(kxx)) / (m * (m - 1)) + (kyy.sum() - np.trace(kyy)) / (m * (m - 1))
                 - 2 * kxy.mean())


def radii(x, k):
    d2 = ((x[:, None, :] - x[None, :, :]) ** 2).sum(-1)
    return np.sort(d2, axis=1)[:, k]  # the (k+1)-th smallest: the row itself is the first


def coverage(q, r, rad):
    d2 = ((q[:, None, :] - r[None, :, :]) ** 2).sum(-1)
    return float((d2 <= rad[None, :]).any(axis=1).mean())


def precision_recall(real, fake, k):
    return coverage(fake, real, radii(real, k)), coverage(real, fake, radii(fake, k))


p, r = precision_recall(a, b, 3)
print(f"#define REF_FD {frechet(a, b)!r}")
print(f"#define REF_KID {kid_full(a, b)!r}")
print(f"#define REF_PRECISION {p!r}")
print(f"#define REF_RECALL {r!r}")
# Margins of the k-NN decisions: the test's float distances must not flip any of them.
for name, q, rr in (("precision", b, a), ("recall", a, b)):
    rad = radii(rr, 3)
    d2 = ((q[:, None, :] - rr[None, :, :]) ** 2).sum(-1)
    print(f"/* smallest |d2 - radius| over {name}'s decisions: {np.abs(d2 - rad[None, :]).min():.3g} */")

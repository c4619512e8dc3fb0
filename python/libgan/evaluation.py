"""Evaluation: Parzen-window log-likelihood, nearest neighbours, image grids, and the
metrics on features (Frechet and kernel distances, precision and recall, softmax
cross-entropy).

Row sets are (n, dim) arrays (or (n, h, w, c) images, dim their product); a 1-D input
is n rows of width 1 unless dim says otherwise. The second set must have the first's
row shape. Features for the metrics typically come from a classifier's penultimate layer,
Net.forward_to(x, depth); docs/evaluation.md says which metric to use when.
"""

import ctypes
import math

from . import _arrays
from ._capi import C, c_double, c_float, c_size, c_u8


def _pair(fn, a, a_name, b, b_name, dim):
    """(a's float *, its rows, b's float *, its rows, dim), b checked against a's rows."""
    pa, shape = _arrays.read(a, "%s: %s" % (fn, a_name))
    if dim is None:
        dim = math.prod(shape[1:]) if len(shape) > 1 else 1
    image = tuple(shape[1:]) if len(shape) > 2 else None
    na = _arrays.rows_of("%s: %s" % (fn, a_name), shape, dim, image=image)
    pb, nb = _arrays.floats_in(b, "%s: %s" % (fn, b_name), dim, image=image)
    return pa, na, pb, nb, dim


def parzen_log_likelihood(samples, test, sigma, dim=None):
    """(mean, standard error) of the Parzen-window log-likelihood of the test rows under
    an isotropic Gaussian kernel of width sigma on the sample rows."""
    ps, n, pt, m, dim = _pair("parzen_log_likelihood", samples, "samples", test, "test", dim)
    mean, se = c_double(), c_double()
    C.gan_parzen_log_likelihood(ctypes.byref(mean), ctypes.byref(se), ps, n, pt, m, dim, sigma)
    return mean.value, se.value


def parzen_select_sigma(samples, valid, sigmas=None, dim=None):
    """(sigma, its mean log-likelihood): the candidate in sigmas (default: the paper's grid
    logspace(-1, 0, 10)) that gives the validation rows the highest log-likelihood."""
    ps, n, pv, m, dim = _pair("parzen_select_sigma", samples, "samples", valid, "valid", dim)
    cand, k = None, 0
    if sigmas is not None:
        cand, k = _arrays.floats_in(sigmas, "parzen_select_sigma: sigmas", 1)
    best, ll = c_float(), c_double()
    C.gan_parzen_select_sigma(ctypes.byref(best), ctypes.byref(ll), ps, n, pv, m, dim, cand, k)
    return best.value, ll.value


def nearest_neighbors(queries, refs, dim=None):
    """(index, dist2): for each query row, the index of its nearest reference row
    (Euclidean; ties to the lowest index) and the squared distance. numpy arrays, else
    a list of ints and an array('f')."""
    pq, nq, pr, nr, dim = _pair("nearest_neighbors", queries, "queries", refs, "refs", dim)
    index, dist2 = (c_size * nq)(), _arrays.zeros(nq, 1)
    C.gan_nearest_neighbors(index, _arrays.writable(dist2, "dist2")[0], pq, nq, pr, nr, dim)
    if _arrays.numpy is not None:
        return _arrays.numpy.array(index, dtype=_arrays.numpy.intp), dist2.reshape(-1)
    return list(index), dist2


def image_grid(images, height, width, channels=1, cols=None, pad=2, scale=1):
    """Tile images (each height x width x channels floats in [0, 1], channels last; the
    array (n, height * width * channels), (n, height, width, channels), or (n, height,
    width) for one channel) into one 8-bit picture, cols per row (default: a square
    grid), pad black pixels apart, each pixel drawn as scale x scale. Returns uint8
    pixels of shape (grid height, grid width) for one channel or (grid height, grid
    width, 3) for RGB: a numpy array, else a memoryview 'B' of that shape
    (gan_image_grid2)."""
    if min(height, width, channels) < 1:
        raise ValueError("image_grid: height, width and channels must be positive, got %d, %d, %d"
                         % (height, width, channels))
    ptr, n = _arrays.floats_in(images, "image_grid: images", height * width * channels,
                               image=(height, width, channels))
    cols = cols or math.isqrt(max(n - 1, 0)) + 1
    w, h = c_size(), c_size()
    C.gan_image_grid2_size(ctypes.byref(w), ctypes.byref(h), n, channels, height, width, cols, pad, scale)
    pixels = bytearray(w.value * h.value * channels)
    C.gan_image_grid2((c_u8 * len(pixels)).from_buffer(pixels), ptr, n, channels, height, width, cols, pad, scale)
    return _arrays.bytes_out(pixels, (h.value, w.value) + ((channels,) if channels > 1 else ()))


def frechet_distance(feats_a, feats_b, dim=None):
    """The Frechet distance between Gaussians fitted to two sets of feature rows (FID on
    these features): |mu_a - mu_b|^2 + tr(S_a + S_b - 2 (S_a S_b)^1/2), unbiased
    covariances; each set needs 2 rows or more, dim at most 8192 (gan_frechet_distance)."""
    pa, na, pb, nb, dim = _pair("frechet_distance", feats_a, "feats_a", feats_b, "feats_b", dim)
    fd = c_double()
    C.gan_frechet_distance(ctypes.byref(fd), pa, na, pb, nb, dim)
    return fd.value


def kernel_distance(feats_a, feats_b, rng, subset_size=None, subsets=100, dim=None):
    """(kid, kid_std): the kernel distance (KID, Binkowski et al. 2018), the unbiased
    squared MMD with the kernel (x.y / dim + 1)^3, averaged over `subsets` pairs of random
    subsets of subset_size rows (default min(1000, rows of either set)) drawn from rng (an
    Rng); kid_std is their standard deviation divided by subsets. Unbiased, so it may be
    slightly negative (gan_kernel_distance)."""
    pa, na, pb, nb, dim = _pair("kernel_distance", feats_a, "feats_a", feats_b, "feats_b", dim)
    if subset_size is None:
        subset_size = min(1000, na, nb)
    kid, std = c_double(), c_double()
    C.gan_kernel_distance(ctypes.byref(kid), ctypes.byref(std), pa, na, pb, nb, dim, subset_size, subsets, rng._ptr)
    return kid.value, std.value


def precision_recall(real, fake, k=3, dim=None):
    """(precision, recall), improved precision and recall (Kynkaanniemi et al. 2019): the
    fraction of fake rows inside some real row's k-nearest-neighbour ball (quality), and of
    real rows inside some fake row's (coverage); k in [1, min(rows) - 1], the paper's 3
    (gan_precision_recall)."""
    pr, nr, pf, nf, dim = _pair("precision_recall", real, "real", fake, "fake", dim)
    precision, recall = c_double(), c_double()
    C.gan_precision_recall(ctypes.byref(precision), ctypes.byref(recall), pr, nr, pf, nf, dim, k)
    return precision.value, recall.value


def softmax_cross_entropy(logits, labels, classes=None, grad=False):
    """The mean over rows of -log softmax(logits)[label] for logits of shape (n, classes)
    (a flat buffer needs classes) and n int labels in [0, classes). With grad, returns
    (loss, dlogits): the (n, classes) gradient of the mean loss, (softmax - onehot) / n
    (gan_softmax_cross_entropy)."""
    where = "softmax_cross_entropy: logits"
    ptr, shape = _arrays.read(logits, where)
    if classes is None:
        if len(shape) != 2:
            raise ValueError("%s has shape %s: give classes, or logits of shape (n, classes)"
                             % (where, _arrays.text(shape)))
        classes = shape[1]
    n = _arrays.rows_of(where, shape, classes)
    lab = _arrays.ints_in(labels, "softmax_cross_entropy: labels", n)
    loss = c_double()
    dlogits = _arrays.zeros(n, classes) if grad else None
    C.gan_softmax_cross_entropy(ctypes.byref(loss), _arrays.writable(dlogits, "dlogits")[0] if grad else None, ptr,
                                lab, n, classes)
    return (loss.value, dlogits) if grad else loss.value

"""Data sets (IDX files, folders of images or the caller's floats), splits and samplers."""

import ctypes
import math
import os

from . import _arrays
from .image import pixel_limit
from ._capi import IMAGE_BLACK, IMAGE_LABELS, IMAGE_SKIP_BAD, SAMPLE_MODES, C, Handle, c_size, c_void_p, enum, make


class Dataset(Handle):
    """A data set (gan_dataset): n rows of dim values with optional labels. Images and IDX
    files keep bytes (a row's value is byte / 255); get_rows() converts rows to floats.
    Its contents never change; rows and row(i) are read-only float views into it (for a
    set of bytes the first makes a float copy of the whole set, which the set keeps), and
    close() refuses (BufferError) while one of them is alive."""
    _free = staticmethod(C.gan_dataset_free)
    _view_sources = "Dataset.rows or row(i)"

    @classmethod
    def load_idx(cls, images_path, labels_path=None):
        """gan_dataset_load_idx: an IDX image file (raw or gzip; pixels scaled to [0, 1])
        and optionally its label file."""
        labels = os.fsencode(labels_path) if labels_path is not None else None
        return cls(make(C.gan_dataset_load_idx, os.fsencode(images_path), labels))

    @classmethod
    def from_idx_bytes(cls, images, labels=None):
        """gan_dataset_load_idx_mem: like load_idx from the files' bytes."""
        images = bytes(images)
        labels = bytes(labels) if labels is not None else None
        return cls(make(C.gan_dataset_load_idx_mem, images, len(images), labels, len(labels or b"")))

    @classmethod
    def from_images(cls, path, height, width, channels=3, labels=False, skip_bad=False, black=False,
                    pixel_limit_log2=0):
        """gan_dataset_load_images: a folder of PNG and JPEG files (read recursively in
        sorted order; with labels, its first-level sub-folders are the classes) or a list
        file of `path [label]` lines, every image converted to (height, width, channels)
        bytes (channels 1 or 3). skip_bad skips files that cannot be decoded (see skipped)
        instead of failing; black composites alpha onto black instead of white;
        pixel_limit_log2 (1-40, 0 for the default 27) bounds an image's decoded pixels."""
        for name, v in (("height", height), ("width", width), ("channels", channels)):
            if not isinstance(v, int) or isinstance(v, bool) or v <= 0:
                raise ValueError("Dataset.from_images: %s must be a positive int, got %r" % (name, v))
        if not isinstance(pixel_limit_log2, int) or not 0 <= pixel_limit_log2 <= 40:
            raise ValueError("Dataset.from_images: pixel_limit_log2 must be in [0, 40], got %r" % (pixel_limit_log2,))
        flags = ((IMAGE_LABELS if labels else 0) | (IMAGE_SKIP_BAD if skip_bad else 0) | (IMAGE_BLACK if black else 0)
                 | (pixel_limit(pixel_limit_log2) if pixel_limit_log2 else 0))
        return cls(make(C.gan_dataset_load_images, os.fsencode(path), channels, height, width, flags))

    @classmethod
    def from_floats(cls, rows, labels=None, num_classes=None, dim=None):
        """gan_dataset_create_from_floats: a copy of rows, shape (n, dim) (or (n, h, w, c)
        images, dim their product; a flat buffer needs dim), and of n int labels.
        num_classes defaults to the largest label + 1 (0 without labels). NaN and
        infinities are refused (GanError EINVAL)."""
        where = "Dataset.from_floats: rows"
        ptr, shape = _arrays.read(rows, where)
        if dim is not None:
            n = _arrays.rows_of(where, shape, dim)
        elif len(shape) >= 2:
            n, dim = shape[0], math.prod(shape[1:])
        else:
            raise ValueError("%s has shape %s: give dim, or rows of shape (n, dim)" % (where, _arrays.text(shape)))
        lab = None
        if labels is not None:
            lab = _arrays.ints_in(labels, "Dataset.from_floats: labels", n)
            if num_classes is None:  # as IDX files: the largest label + 1 (C refuses the negative ones)
                num_classes = max([lab[i] for i in range(n)] + [0]) + 1
        return cls(make(C.gan_dataset_create_from_floats, ptr, n, dim, lab, num_classes or 0))

    @property
    def size(self):
        """The number of rows."""
        return C.gan_dataset_size(self._ptr)

    def __len__(self):
        """The number of rows."""
        return self.size

    @property
    def dim(self):
        """The width of a row."""
        return C.gan_dataset_dim(self._ptr)

    @property
    def num_classes(self):
        """The number of classes, the width of one-hot conditions (0 without labels)."""
        return C.gan_dataset_num_classes(self._ptr)

    @property
    def shape(self):
        """A row's shape (height, width, channels), as rows are laid out (HWC): images and
        IDX items of H x W (x C); (1, 1, dim) for any other set."""
        c, h, w = c_size(), c_size(), c_size()
        C.gan_dataset_shape(self._ptr, ctypes.byref(c), ctypes.byref(h), ctypes.byref(w))
        return h.value, w.value, c.value

    @property
    def class_names(self):
        """The class names (folders, or a list file's names), in label order, or None for a
        set without names."""
        names = [C.gan_dataset_class_name(self._ptr, k) for k in range(self.num_classes)]
        return [os.fsdecode(n) for n in names] if names and names[0] is not None else None

    @property
    def skipped(self):
        """(count, first names) of the files from_images skipped (skip_bad); at most ten names."""
        n = C.gan_dataset_num_skipped(self._ptr)
        names = [C.gan_dataset_skipped_name(self._ptr, k) for k in range(min(n, 10))]
        return n, [os.fsdecode(p) for p in names if p is not None]

    def get_rows(self, first=0, n=None):
        """Rows [first, first + n) as new floats in [0, 1] (byte / 255 for a set of bytes):
        numpy (n, dim), else a flat array 'f'."""
        if n is None:
            n = self.size - first
        if not (isinstance(first, int) and isinstance(n, int)) or first < 0 or n < 0 or first + n > self.size:
            raise IndexError("Dataset.get_rows: rows [%r, %r + %r) of %d" % (first, first, n, self.size))
        out = _arrays.zeros(n, self.dim)
        C.gan_dataset_get_rows(self._ptr, first, n, _arrays.writable(out, "out")[0])
        return out

    def save_idx(self, images_path, labels_path=None):
        """gan_dataset_save_idx: pack a set of bytes (images, IDX files) into IDX files,
        each written atomically; labels (below 256) only when labels_path is given."""
        labels = os.fsencode(labels_path) if labels_path is not None else None
        C.gan_dataset_save_idx(self._ptr, os.fsencode(images_path), labels)

    def _row_address(self, i):
        addr = C.gan_dataset_row(self._ptr, i)
        if not addr:  # a set of bytes whose float copy could not be made
            raise MemoryError(C.gan_error_last().decode(errors="replace"))
        return addr

    def _index(self, i):
        n = self.size
        if not -n <= i < n:
            raise IndexError("Dataset: row %d out of range for %d rows" % (i, n))
        return i % n

    def row(self, i):
        """Row i (negative counts from the end): a read-only view of dim floats (close()
        raises BufferError while it is alive)."""
        return _arrays.view(self._row_address(self._index(i)), self.dim, None, self, readonly=True)

    @property
    def rows(self):
        """All rows: a read-only view, numpy (size, dim), else a flat memoryview 'f' (close()
        raises BufferError while it is alive; copy it to keep the values beyond the data set)."""
        return _arrays.view(self._row_address(0), self.size, self.dim, self, readonly=True)

    def label(self, i):
        """The label of row i (negative counts from the end), or None without labels."""
        v = C.gan_dataset_label(self._ptr, self._index(i))
        return v if v >= 0 else None

    @property
    def labels(self):
        """A list of every row's label, or None without labels."""
        if not self.num_classes:
            return None
        return [C.gan_dataset_label(self._ptr, i) for i in range(self.size)]

    def split(self, n_first, rng=None):
        """(first n_first rows, the rest) as two new Datasets; drawn in a random order
        from rng when given, else in order."""
        a, b = c_void_p(), c_void_p()
        C.gan_dataset_split(ctypes.byref(a), ctypes.byref(b), self._ptr, n_first,
                              rng._ptr if rng is not None else None)
        return Dataset(a), Dataset(b)

    def sampler(self, mode="epochs", one_hot=False):
        """A Sampler over this data set (see Sampler)."""
        return Sampler(self, mode, one_hot)


class Sampler(Handle):
    """Draws batches from a Dataset (gan_sampler), which it keeps alive.

    mode: SAMPLE_* or 'epochs' (each row once per epoch, as the C examples draw) or
    'uniform' (with replacement). With one_hot, conditions are the one-hot labels
    (width dataset.num_classes). Give it to Trainer.set_data: it then runs in C.
    """
    _free = staticmethod(C.gan_sampler_free)

    def __init__(self, dataset, mode="epochs", one_hot=False):
        super().__init__(make(C.gan_sampler_create, dataset._ptr, enum(mode, SAMPLE_MODES, "sample mode"),
                              1 if one_hot else 0))
        dataset._lend()
        self.dataset = dataset
        self.one_hot = bool(one_hot)

    def _release(self):
        super()._release()
        ds, self.dataset = getattr(self, "dataset", None), None
        if ds is not None:
            ds._give_back()

    @property
    def epoch(self):
        """Epochs completed ('epochs' mode; 0 in 'uniform' mode)."""
        return C.gan_sampler_epoch(self._ptr)

    def set_shard(self, rank, ranks):
        """Data-parallel training (Trainer.set_comm): fill only rank's rows of each batch,
        rows [rank * batch // ranks, (rank + 1) * batch // ranks), still drawing for the
        whole batch (the rng stream and the epoch stay those of one process); the other
        rows are left as they are. ranks=1 fills every row again (gan_sampler_set_shard)."""
        C.gan_sampler_set_shard(self._ptr, rank, ranks)

    def set_range(self, lo, hi):
        """Rows in [lo, hi] instead of [0, 1]: a value v becomes lo + (hi - lo) v ([-1, 1]
        for a tanh G); gan_sampler_set_range."""
        C.gan_sampler_set_range(self._ptr, lo, hi)

    def sample(self, rng, batch):
        """(x, cond): batch rows (batch, dim) drawn with rng, and their one-hot labels
        (batch, num_classes), or None without one_hot."""
        ds = self.dataset
        x = _arrays.zeros(batch, ds.dim)
        cond = _arrays.zeros(batch, ds.num_classes) if self.one_hot else None
        C.gan_dataset_sampler(self._ptr, rng._ptr, _arrays.writable(x, "x")[0],
                              _arrays.writable(cond, "cond")[0] if self.one_hot else None, batch)
        return x, cond

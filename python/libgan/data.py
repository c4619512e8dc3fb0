"""Data sets (IDX files or the caller's floats), splits and samplers."""

import ctypes
import math
import os

from . import _arrays
from ._capi import SAMPLE_MODES, C, Handle, c_void_p, enum, make


class Dataset(Handle):
    """An in-memory data set (gan_dataset): n rows of dim floats with optional labels.
    Its contents never change; rows and row(i) are read-only views into it, and close()
    refuses (BufferError) while one of them is alive."""
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

    def _index(self, i):
        n = self.size
        if not -n <= i < n:
            raise IndexError("Dataset: row %d out of range for %d rows" % (i, n))
        return i % n

    def row(self, i):
        """Row i (negative counts from the end): a read-only view of dim floats (close()
        raises BufferError while it is alive)."""
        return _arrays.view(C.gan_dataset_row(self._ptr, self._index(i)), self.dim, None, self, readonly=True)

    @property
    def rows(self):
        """All rows: a read-only view, numpy (size, dim), else a flat memoryview 'f' (close()
        raises BufferError while it is alive; copy it to keep the values beyond the data set)."""
        return _arrays.view(C.gan_dataset_row(self._ptr, 0), self.size, self.dim, self, readonly=True)

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

    def sample(self, rng, batch):
        """(x, cond): batch rows (batch, dim) drawn with rng, and their one-hot labels
        (batch, num_classes), or None without one_hot."""
        ds = self.dataset
        x = _arrays.zeros(batch, ds.dim)
        cond = _arrays.zeros(batch, ds.num_classes) if self.one_hot else None
        C.gan_dataset_sampler(self._ptr, rng._ptr, _arrays.writable(x, "x")[0],
                              _arrays.writable(cond, "cond")[0] if self.one_hot else None, batch)
        return x, cond

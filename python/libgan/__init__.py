"""libgan: train GANs from Python through the C library libgan (include/gan.h), over ctypes.

Nothing to compile: the package loads libgan.so.0 from the environment variable
LIBGAN_PATH when it is set, else the installed library (the soname libgan.so.0 on the
loader's path, then ctypes.util.find_library('gan')). numpy is optional: with it, arrays
come back as float32 numpy arrays of shape (rows, cols); without it as flat array('f')
copies and flat memoryviews of format 'f'. Inputs may be numpy arrays, array('f'),
memoryviews or (nested) lists; their shape is checked (a (2, 3) array where (3, 2) is
expected is a ValueError naming both), a 1-D input being rows laid end to end.

    import libgan as gan
    with gan.Net(2) as g:
        g.add(gan.Layer.dense(2, 16)).add(gan.Layer.activation('relu')).add(gan.Layer.dense(16, 1))
        g.init(gan.Rng(1), 'he')
        y = g.forward([[0.5, -1.0]])

Nets are graphs: node 0 is the input, node k the output of the k-th layer added;
Net.add(layer) reads the last node, Net.add(layer, [i, j]) the nodes named (a residual
join: g.add(gan.Layer.add(2), [3, 0])), and Net.node_shape / layer_inputs describe them.

Errors: every negative status raises GanError(code, message) carrying gan_strerror(code)
and gan_error_last(). An exception raised inside a Python callback (data, noise,
on_step) is caught before it reaches C, the callback returns non-zero (the library
stops the call with GAN_EUSER and leaves the trainer as it was), and the original
exception is re-raised once the C call has returned.

Ownership mirrors the C API (docs/conventions.md): objects own their handles and free
them on close(), on leaving a `with` block, or when garbage-collected. A Layer belongs
to the Net once Net.add() succeeds. A Trainer borrows its nets and optimizers, a Sampler
its Dataset, and both keep them alive (closing a borrowed object first raises
GanError(ESTATE)). Views returned by Net.params / grads / state and Dataset.rows /
row(i) show the C library's memory: while one of them (or an array derived from it) is
alive, its owner refuses close() and Net refuses add(), which would free or move that
memory, with BufferError; a view also keeps its owner from being garbage-collected. The
arrays handed to callbacks are the package's own, copied into the trainer after the call.
See docs/ffi.md.

Data-parallel training on Python threads: ThreadGroup, Trainer.set_comm and sync (see
libgan.scale). Images: libgan.image.decode (PNG and JPEG with the library's conversion)
and libgan.image.write_png.
"""

from ._capi import (ACT_IDENTITY, ACT_LEAKY_RELU, ACT_RELU, ACT_SIGMOID, ACT_TANH, AUGMENT_COLOR, AUGMENT_CUTOUT,
                    AUGMENT_NONE, AUGMENT_TRANSLATION, C, EDIVERGED, EFORMAT, EINVAL,
                    EIO, ENOMEM, ESTATE, EUSER, EVERSION, FEATURE_BLIS, FEATURE_OPENBLAS, FEATURE_REFBLAS,
                    FEATURE_ZLIB, IMAGE_BLACK, IMAGE_LABELS, IMAGE_SKIP_BAD, INIT_DCGAN, INIT_HE, INIT_UNIFORM,
                    INIT_XAVIER, LAYER_ACTIVATION, LAYER_ADD, LAYER_AVGPOOL, LAYER_BATCHNORM, LAYER_CONCAT,
                    LAYER_CONV2D, LAYER_CONV2D_TRANSPOSE, LAYER_DENSE, LAYER_DOT, LAYER_DROPOUT, LAYER_GLOBAL_SUM,
                    LAYER_MAXOUT, LAYER_MODULATE, LAYER_RESHAPE, LAYER_SLICE, LAYER_TILE, LAYER_UPSAMPLE, LOSS_HINGE,
                    LOSS_LEAST_SQUARES, LOSS_MINIMAX, LOSS_NON_SATURATING, LOSS_WASSERSTEIN, OK, PENALTY_NONE,
                    PENALTY_R1, PENALTY_WGAN_GP, SAMPLE_EPOCHS, SAMPLE_UNIFORM, STATS_BATCH, STATS_RUNNING,
                    STREAM_DATA, STREAM_DROPOUT, STREAM_INIT, STREAM_NOISE,
                    UPDATE_ALTERNATING, UPDATE_SIMULTANEOUS, UPDATE_REUSE_FAKES, GanError, StepStats, error_last, features, strerror,
                    version, version_number)
from ._arrays import flat, numpy, zeros
from .core import Layer, Net, Optim, Rng
from .data import Dataset, Sampler
from . import image  # images: image.decode, image.write_png
from .evaluation import (frechet_distance, image_grid, kernel_distance, nearest_neighbors, parzen_log_likelihood,
                         parzen_select_sigma, precision_recall, softmax_cross_entropy)
from .scale import Comm, ThreadGroup
from .trainer import Trainer

__version__ = "0.2.0"  # the binding's; version() is the loaded library's

__all__ = [
    "GanError", "StepStats", "Rng", "Layer", "Net", "Optim", "Trainer", "Dataset", "Sampler", "ThreadGroup", "Comm",
    "parzen_log_likelihood", "parzen_select_sigma", "nearest_neighbors", "image_grid",
    "frechet_distance", "kernel_distance", "precision_recall", "softmax_cross_entropy",
    "zeros", "flat", "version", "version_number", "features", "strerror", "error_last", "numpy", "C",
    "OK", "EINVAL", "ENOMEM", "EIO", "EFORMAT", "EVERSION", "EUSER", "EDIVERGED", "ESTATE",
    "FEATURE_OPENBLAS", "FEATURE_REFBLAS", "FEATURE_BLIS", "FEATURE_ZLIB",
    "ACT_RELU", "ACT_LEAKY_RELU", "ACT_SIGMOID", "ACT_TANH", "ACT_IDENTITY",
    "LAYER_DENSE", "LAYER_MAXOUT", "LAYER_ACTIVATION", "LAYER_DROPOUT",
    "LAYER_RESHAPE", "LAYER_CONV2D", "LAYER_CONV2D_TRANSPOSE", "LAYER_BATCHNORM",
    "LAYER_CONCAT", "LAYER_ADD", "LAYER_SLICE", "LAYER_TILE", "LAYER_UPSAMPLE",
    "LAYER_AVGPOOL", "LAYER_GLOBAL_SUM", "LAYER_MODULATE", "LAYER_DOT",
    "INIT_UNIFORM", "INIT_XAVIER", "INIT_HE", "INIT_DCGAN",
    "LOSS_MINIMAX", "LOSS_NON_SATURATING", "LOSS_LEAST_SQUARES", "LOSS_HINGE", "LOSS_WASSERSTEIN",
    "UPDATE_ALTERNATING", "UPDATE_SIMULTANEOUS", "UPDATE_REUSE_FAKES",
    "STREAM_INIT", "STREAM_DATA", "STREAM_NOISE", "STREAM_DROPOUT",
    "STATS_RUNNING", "STATS_BATCH",
    "SAMPLE_UNIFORM", "SAMPLE_EPOCHS",
    "PENALTY_NONE", "PENALTY_WGAN_GP", "PENALTY_R1", "AUGMENT_NONE", "AUGMENT_COLOR", "AUGMENT_TRANSLATION",
    "AUGMENT_CUTOUT",
    "image", "IMAGE_LABELS", "IMAGE_SKIP_BAD", "IMAGE_BLACK",
]

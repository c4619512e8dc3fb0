"""The C library: loading, constants, prototypes, errors and the handle base (internal)."""

import ctypes
import ctypes.util
import os

# ----------------------------------------------------------------- loading

NEEDS = (0, 2)  # the oldest library with every function prototyped below


def _load():
    """LIBGAN_PATH when set, else the installed library: its soname (the loader's path,
    rpath, ld.so cache), then whatever ctypes.util.find_library('gan') finds."""
    path = os.environ.get("LIBGAN_PATH")
    names = [path] if path else ["libgan.so.0", None]
    tried = []
    for name in names:
        name = name or ctypes.util.find_library("gan")  # slow (runs ldconfig): only as a fallback
        if not name:
            continue
        try:
            lib = ctypes.CDLL(name)
            break
        except OSError as e:
            tried.append(str(e))
    else:
        raise ImportError("libgan: cannot load the C library (%s); install libgan, or set LIBGAN_PATH to "
                          "the path of libgan.so.0" % ("; ".join(tried) or "not found"))
    lib.gan_version_number.restype = ctypes.c_uint
    v = lib.gan_version_number()
    if (v // 10000, v // 100 % 100) < NEEDS:
        raise ImportError("libgan: %s is version %d.%d.%d; this binding needs %d.%d or newer"
                          % (name, v // 10000, v // 100 % 100, v % 100, *NEEDS))
    return lib


_lib = _load()

# ------------------------------------------------------------- constants

OK, EINVAL, ENOMEM, EIO, EFORMAT, EVERSION, EUSER, EDIVERGED, ESTATE = 0, -1, -2, -3, -4, -5, -6, -7, -8
FEATURE_OPENBLAS, FEATURE_REFBLAS, FEATURE_BLIS, FEATURE_ZLIB = 1, 2, 4, 8
ACT_RELU, ACT_LEAKY_RELU, ACT_SIGMOID, ACT_TANH, ACT_IDENTITY = 1, 2, 3, 4, 5
LAYER_DENSE, LAYER_MAXOUT, LAYER_ACTIVATION, LAYER_DROPOUT = 1, 2, 3, 4
LAYER_RESHAPE, LAYER_CONV2D, LAYER_CONV2D_TRANSPOSE, LAYER_BATCHNORM = 5, 6, 7, 8
LAYER_CONCAT, LAYER_ADD, LAYER_SLICE, LAYER_TILE, LAYER_UPSAMPLE = 9, 10, 11, 12, 13  # kinds for graphs (0.3)
LAYER_AVGPOOL, LAYER_GLOBAL_SUM, LAYER_MODULATE, LAYER_DOT = 14, 15, 16, 17
INIT_UNIFORM, INIT_XAVIER, INIT_HE, INIT_DCGAN = 1, 2, 3, 4
LOSS_MINIMAX, LOSS_NON_SATURATING, LOSS_LEAST_SQUARES, LOSS_HINGE, LOSS_WASSERSTEIN = 1, 2, 3, 4, 5
UPDATE_ALTERNATING, UPDATE_SIMULTANEOUS, UPDATE_REUSE_FAKES = 1, 2, 3
STREAM_INIT, STREAM_DATA, STREAM_NOISE, STREAM_DROPOUT = 0, 1, 2, 3
STATS_RUNNING, STATS_BATCH = 0, 1
SAMPLE_UNIFORM, SAMPLE_EPOCHS = 1, 2
PENALTY_NONE, PENALTY_WGAN_GP, PENALTY_R1 = 0, 1, 2  # gradient penalties (0.3)
AUGMENT_NONE, AUGMENT_COLOR, AUGMENT_TRANSLATION, AUGMENT_CUTOUT = 0, 1, 2, 4  # DiffAugment bits (0.3)
IMAGE_LABELS, IMAGE_SKIP_BAD, IMAGE_BLACK = 1, 2, 4  # flags; GAN_IMAGE_PIXEL_LIMIT is image.pixel_limit()
# python/tests/test_coverage.py checks every enum of include/gan.h against these, and each
# table below against its enum.

# Enum arguments also accept these names.
ACTS = {"relu": ACT_RELU, "leaky_relu": ACT_LEAKY_RELU, "sigmoid": ACT_SIGMOID, "tanh": ACT_TANH,
        "identity": ACT_IDENTITY}
INITS = {"uniform": INIT_UNIFORM, "xavier": INIT_XAVIER, "he": INIT_HE, "dcgan": INIT_DCGAN}
LOSSES = {"minimax": LOSS_MINIMAX, "non_saturating": LOSS_NON_SATURATING, "least_squares": LOSS_LEAST_SQUARES,
          "hinge": LOSS_HINGE, "wasserstein": LOSS_WASSERSTEIN}
UPDATES = {"alternating": UPDATE_ALTERNATING, "simultaneous": UPDATE_SIMULTANEOUS, "reuse_fakes": UPDATE_REUSE_FAKES}
STREAMS = {"init": STREAM_INIT, "data": STREAM_DATA, "noise": STREAM_NOISE, "dropout": STREAM_DROPOUT}
NORM_STATS = {"running": STATS_RUNNING, "batch": STATS_BATCH}
SAMPLE_MODES = {"uniform": SAMPLE_UNIFORM, "epochs": SAMPLE_EPOCHS}
PENALTIES = {"none": PENALTY_NONE, "wgan_gp": PENALTY_WGAN_GP, "r1": PENALTY_R1}
AUGMENTS = {"color": AUGMENT_COLOR, "translation": AUGMENT_TRANSLATION, "cutout": AUGMENT_CUTOUT}
KINDS = {LAYER_DENSE: "dense", LAYER_MAXOUT: "maxout", LAYER_ACTIVATION: "activation", LAYER_DROPOUT: "dropout",
         LAYER_RESHAPE: "reshape", LAYER_CONV2D: "conv2d", LAYER_CONV2D_TRANSPOSE: "conv2d_transpose",
         LAYER_BATCHNORM: "batchnorm", LAYER_CONCAT: "concat", LAYER_ADD: "add", LAYER_SLICE: "slice",
         LAYER_TILE: "tile", LAYER_UPSAMPLE: "upsample", LAYER_AVGPOOL: "avgpool", LAYER_GLOBAL_SUM: "global_sum",
         LAYER_MODULATE: "modulate", LAYER_DOT: "dot"}


def enum(value, names, what):
    """An enum argument given as its value or its name."""
    if isinstance(value, str):
        try:
            return names[value]
        except KeyError:
            raise ValueError("unknown %s %r (one of %s)" % (what, value, ", ".join(sorted(names)))) from None
    return int(value)


# ------------------------------------------------------------------ errors


class GanError(Exception):
    """A libgan call returned a negative status.

    code: the GAN_E* status; strerror: gan_strerror(code); detail: gan_error_last()
    read right after the failing call (may be ""). str(e) combines them.
    """

    def __init__(self, code, message, detail=""):
        super().__init__(code, message)
        self.code = code
        self.message = message
        self.strerror = strerror(code)
        self.detail = detail

    def __str__(self):
        return self.message


def _errcheck(result, func, args):
    if result < 0:
        detail = error_last()  # thread-local: this thread's failure, read before any other call
        # The detail names the function already ("gan_layer_dense: dimensions must be ...").
        msg = "%s: %s" % (strerror(result), detail) if detail else "%s: %s" % (func.__name__, strerror(result))
        raise GanError(result, msg, detail)
    return result


# -------------------------------------------------------------- prototypes


class StepStats(ctypes.Structure):
    """struct gan_step_stats (the library fills the fields that fit in `size`)."""
    _fields_ = [("size", ctypes.c_uint32), ("reserved", ctypes.c_uint32), ("step", ctypes.c_uint64),
                ("loss_d", ctypes.c_double), ("loss_g", ctypes.c_double), ("d_real", ctypes.c_double),
                ("d_fake", ctypes.c_double), ("grad_norm_d", ctypes.c_double), ("grad_norm_g", ctypes.c_double),
                ("lr_d", ctypes.c_double), ("lr_g", ctypes.c_double),
                ("penalty", ctypes.c_double), ("input_grad_norm", ctypes.c_double)]

    def to_dict(self):
        """The statistics as a dict, without the size and reserved fields. A field past
        `size` (a library older than the field: penalty and input_grad_norm came in 0.3)
        is 0, not read."""
        cls = type(self)
        return {name: getattr(self, name) if getattr(cls, name).offset + getattr(cls, name).size <= self.size
                else 0.0 for name, _ in self._fields_[2:]}


class CommStruct(ctypes.Structure):
    """struct gan_comm: the collectives a trainer calls (filled by gan_comm_threads)."""
    _fields_ = [("size", ctypes.c_uint32), ("reserved", ctypes.c_uint32), ("rank", ctypes.c_int),
                ("ranks", ctypes.c_int), ("allreduce_sum", ctypes.c_void_p), ("agree_min", ctypes.c_void_p),
                ("broadcast", ctypes.c_void_p), ("ctx", ctypes.c_void_p)]


P = ctypes.POINTER
RNG, LAYER, NET, OPTIM, TRAINER, DATASET, SAMPLER, GROUP = (ctypes.c_void_p,) * 8  # opaque handles
c_int, c_uint, c_float, c_size, c_u64 = ctypes.c_int, ctypes.c_uint, ctypes.c_float, ctypes.c_size_t, ctypes.c_uint64
c_double, c_char_p, c_void_p, c_u8 = ctypes.c_double, ctypes.c_char_p, ctypes.c_void_p, ctypes.c_uint8
FLOATS = P(c_float)

# Callbacks receive float buffers as plain addresses (c_void_p: an int, or None for NULL).
DATA_FN = ctypes.CFUNCTYPE(c_int, c_void_p, RNG, c_void_p, c_void_p, c_size)
NOISE_FN = ctypes.CFUNCTYPE(c_int, c_void_p, RNG, c_void_p, c_size, c_size)
STEP_FN = ctypes.CFUNCTYPE(c_int, c_void_p, P(StepStats))

_STATUS = object()  # restype marker: an int status, negative raises GanError

_PROTOTYPES = [
    # version and errors
    ("gan_version_number", c_uint),
    ("gan_version_string", c_char_p),
    ("gan_features", c_uint),
    ("gan_strerror", c_char_p, c_int),
    ("gan_error_last", c_char_p),
    # rng
    ("gan_rng_create", _STATUS, P(RNG), c_u64),
    ("gan_rng_free", None, RNG),
    ("gan_rng_seed", _STATUS, RNG, c_u64),
    ("gan_rng_uniform", c_float, RNG),
    ("gan_rng_normal", c_float, RNG),
    ("gan_rng_fill_uniform", _STATUS, RNG, FLOATS, c_size, c_float, c_float),
    ("gan_rng_fill_normal", _STATUS, RNG, FLOATS, c_size, c_float, c_float),
    # layers
    ("gan_layer_dense", _STATUS, P(LAYER), c_size, c_size),
    ("gan_layer_maxout", _STATUS, P(LAYER), c_size, c_size, c_size),
    ("gan_layer_activation", _STATUS, P(LAYER), c_int),
    ("gan_layer_leaky_relu", _STATUS, P(LAYER), c_float),
    ("gan_layer_dropout", _STATUS, P(LAYER), c_float),
    ("gan_layer_reshape", _STATUS, P(LAYER), c_size, c_size, c_size),
    ("gan_layer_conv2d", _STATUS, P(LAYER), c_size, c_size, c_size, c_size, c_size),
    ("gan_layer_conv2d_transpose", _STATUS, P(LAYER), c_size, c_size, c_size, c_size, c_size, c_size),
    ("gan_layer_batchnorm", _STATUS, P(LAYER), c_size, c_float, c_float),
    ("gan_layer_set_bias", _STATUS, LAYER, c_int),
    ("gan_layer_spectral_norm", _STATUS, LAYER, c_size),
    ("gan_layer_concat", _STATUS, P(LAYER), c_size),
    ("gan_layer_add", _STATUS, P(LAYER), c_size),
    ("gan_layer_slice", _STATUS, P(LAYER), c_size, c_size),
    ("gan_layer_tile", _STATUS, P(LAYER), c_size, c_size),
    ("gan_layer_upsample", _STATUS, P(LAYER), c_size),
    ("gan_layer_avgpool", _STATUS, P(LAYER), c_size),
    ("gan_layer_global_sum", _STATUS, P(LAYER)),
    ("gan_layer_modulate", _STATUS, P(LAYER)),
    ("gan_layer_dot", _STATUS, P(LAYER)),
    ("gan_layer_free", None, LAYER),
    ("gan_layer_kind", c_int, LAYER),
    ("gan_layer_in_dim", c_size, LAYER),
    ("gan_layer_out_dim", c_size, LAYER),
    ("gan_layer_num_params", c_size, LAYER),
    # nets
    ("gan_net_create", _STATUS, P(NET), c_size),
    ("gan_net_create_image", _STATUS, P(NET), c_size, c_size, c_size),
    ("gan_net_in_shape", _STATUS, NET, P(c_size), P(c_size), P(c_size)),
    ("gan_net_out_shape", _STATUS, NET, P(c_size), P(c_size), P(c_size)),
    ("gan_net_free", None, NET),
    ("gan_net_add", _STATUS, NET, LAYER),
    ("gan_net_add_from", _STATUS, NET, LAYER, P(c_size), c_size),
    ("gan_net_node_shape", _STATUS, NET, c_size, P(c_size), P(c_size), P(c_size)),
    ("gan_net_layer_inputs", _STATUS, NET, c_size, P(c_size), c_size, P(c_size)),
    ("gan_net_in_dim", c_size, NET),
    ("gan_net_out_dim", c_size, NET),
    ("gan_net_num_params", c_size, NET),
    ("gan_net_num_layers", c_size, NET),
    ("gan_net_layer", LAYER, NET, c_size),
    ("gan_net_layer_params", _STATUS, NET, c_size, P(c_size), P(c_size)),
    ("gan_net_init", _STATUS, NET, RNG, c_int, c_float),
    ("gan_net_set_rng", _STATUS, NET, RNG),
    ("gan_net_forward", _STATUS, NET, FLOATS, c_size, FLOATS, c_int),
    ("gan_net_forward_to", _STATUS, NET, FLOATS, c_size, c_size, FLOATS),
    ("gan_net_backward", _STATUS, NET, FLOATS, FLOATS),
    ("gan_net_params", c_void_p, NET),
    ("gan_net_grads", c_void_p, NET),
    ("gan_net_state", c_void_p, NET),
    ("gan_net_num_state", c_size, NET),
    ("gan_net_zero_grads", _STATUS, NET),
    ("gan_net_save", _STATUS, NET, c_char_p),
    ("gan_net_load", _STATUS, P(NET), c_char_p),
    ("gan_net_save_mem", _STATUS, NET, c_void_p, c_size, P(c_size)),
    ("gan_net_load_mem", _STATUS, P(NET), c_void_p, c_size),
    # optimizers
    ("gan_optim_sgd", _STATUS, P(OPTIM), c_float, c_float, c_int),
    ("gan_optim_adam", _STATUS, P(OPTIM), c_float, c_float, c_float, c_float),
    ("gan_optim_free", None, OPTIM),
    ("gan_optim_step", _STATUS, OPTIM, NET),
    ("gan_optim_reset", _STATUS, OPTIM),
    ("gan_optim_set_lr", _STATUS, OPTIM, c_float),
    ("gan_optim_get_lr", c_float, OPTIM),
    ("gan_optim_set_momentum", _STATUS, OPTIM, c_float),
    ("gan_optim_get_momentum", c_float, OPTIM),
    ("gan_optim_steps", c_u64, OPTIM),
    # trainer
    ("gan_trainer_create", _STATUS, P(TRAINER), NET, NET, OPTIM, OPTIM),
    ("gan_trainer_free", None, TRAINER),
    ("gan_trainer_set_data", _STATUS, TRAINER, DATA_FN, c_void_p),
    ("gan_trainer_set_noise", _STATUS, TRAINER, NOISE_FN, c_void_p),
    ("gan_trainer_set_noise_uniform", _STATUS, TRAINER, c_float),
    ("gan_trainer_set_noise_normal", _STATUS, TRAINER, c_float),
    ("gan_trainer_set_batch_size", _STATUS, TRAINER, c_size),
    ("gan_trainer_set_d_steps", _STATUS, TRAINER, c_uint),
    ("gan_trainer_set_g_steps", _STATUS, TRAINER, c_uint),
    ("gan_trainer_set_update", _STATUS, TRAINER, c_int),
    ("gan_trainer_set_loss", _STATUS, TRAINER, c_int),
    ("gan_trainer_set_seed", _STATUS, TRAINER, c_u64),
    ("gan_trainer_set_cond_dim", _STATUS, TRAINER, c_size),
    ("gan_trainer_set_label_smoothing", _STATUS, TRAINER, c_float),
    ("gan_trainer_set_clip", _STATUS, TRAINER, c_float),
    ("gan_trainer_set_augment", _STATUS, TRAINER, c_uint),
    ("gan_trainer_set_gradient_penalty", _STATUS, TRAINER, c_int, c_float, c_uint),
    ("gan_trainer_set_ema", _STATUS, TRAINER, c_float),
    ("gan_trainer_set_generate_stats", _STATUS, TRAINER, c_int),
    ("gan_trainer_rng", RNG, TRAINER, c_int),
    ("gan_trainer_noise_dim", c_size, TRAINER),
    ("gan_trainer_data_dim", c_size, TRAINER),
    ("gan_trainer_cond_dim", c_size, TRAINER),
    ("gan_trainer_steps", c_u64, TRAINER),
    ("gan_trainer_step", _STATUS, TRAINER, P(StepStats)),
    ("gan_trainer_run", _STATUS, TRAINER, c_u64, STEP_FN, c_void_p),
    ("gan_trainer_generate", _STATUS, TRAINER, FLOATS, FLOATS, c_size, FLOATS),
    ("gan_trainer_save", _STATUS, TRAINER, c_char_p),
    ("gan_trainer_load", _STATUS, TRAINER, c_char_p),
    ("gan_trainer_save_mem", _STATUS, TRAINER, c_void_p, c_size, P(c_size)),
    ("gan_trainer_load_mem", _STATUS, TRAINER, c_void_p, c_size),
    # data-parallel training
    ("gan_trainer_set_comm", _STATUS, TRAINER, P(CommStruct)),
    ("gan_trainer_sync", _STATUS, TRAINER),
    ("gan_thread_group_create", _STATUS, P(GROUP), c_int),
    ("gan_thread_group_free", None, GROUP),
    ("gan_comm_threads", _STATUS, P(CommStruct), GROUP, c_int),
    # data sets and samplers
    ("gan_dataset_load_idx", _STATUS, P(DATASET), c_char_p, c_char_p),
    ("gan_dataset_load_idx_mem", _STATUS, P(DATASET), c_void_p, c_size, c_void_p, c_size),
    ("gan_dataset_create_from_floats", _STATUS, P(DATASET), FLOATS, c_size, c_size, P(c_int), c_size),
    ("gan_dataset_free", None, DATASET),
    ("gan_dataset_size", c_size, DATASET),
    ("gan_dataset_dim", c_size, DATASET),
    ("gan_dataset_row", c_void_p, DATASET, c_size),
    ("gan_dataset_label", c_int, DATASET, c_size),
    ("gan_dataset_num_classes", c_size, DATASET),
    ("gan_dataset_split", _STATUS, P(DATASET), P(DATASET), DATASET, c_size, RNG),
    ("gan_sampler_create", _STATUS, P(SAMPLER), DATASET, c_int, c_int),
    ("gan_sampler_free", None, SAMPLER),
    ("gan_sampler_epoch", c_u64, SAMPLER),
    ("gan_sampler_set_shard", _STATUS, SAMPLER, c_int, c_int),
    ("gan_sampler_set_range", _STATUS, SAMPLER, c_float, c_float),
    ("gan_dataset_load_images", _STATUS, P(DATASET), c_char_p, c_size, c_size, c_size, c_uint),
    ("gan_dataset_get_rows", _STATUS, DATASET, c_size, c_size, FLOATS),
    ("gan_dataset_shape", _STATUS, DATASET, P(c_size), P(c_size), P(c_size)),
    ("gan_dataset_class_name", c_char_p, DATASET, c_size),
    ("gan_dataset_num_skipped", c_size, DATASET),
    ("gan_dataset_skipped_name", c_char_p, DATASET, c_size),
    ("gan_dataset_save_idx", _STATUS, DATASET, c_char_p, c_char_p),
    ("gan_dataset_sampler", _STATUS, c_void_p, RNG, FLOATS, FLOATS, c_size),
    # evaluation
    ("gan_parzen_log_likelihood", _STATUS, P(c_double), P(c_double), FLOATS, c_size, FLOATS, c_size, c_size, c_float),
    ("gan_parzen_select_sigma", _STATUS, P(c_float), P(c_double), FLOATS, c_size, FLOATS, c_size, c_size, FLOATS,
     c_size),
    ("gan_nearest_neighbors", _STATUS, P(c_size), FLOATS, FLOATS, c_size, FLOATS, c_size, c_size),
    ("gan_image_grid2_size", _STATUS, P(c_size), P(c_size), c_size, c_size, c_size, c_size, c_size, c_size, c_size),
    ("gan_image_grid2", _STATUS, P(c_u8), FLOATS, c_size, c_size, c_size, c_size, c_size, c_size, c_size),
    # images
    ("gan_image_decode_mem", _STATUS, P(c_u8), c_void_p, c_size, c_size, c_size, c_size, c_uint),
    ("gan_image_write_png", _STATUS, c_char_p, P(c_u8), c_size, c_size, c_size),
    # metrics
    ("gan_frechet_distance", _STATUS, P(c_double), FLOATS, c_size, FLOATS, c_size, c_size),
    ("gan_kernel_distance", _STATUS, P(c_double), P(c_double), FLOATS, c_size, FLOATS, c_size, c_size, c_size,
     c_size, RNG),
    ("gan_precision_recall", _STATUS, P(c_double), P(c_double), FLOATS, c_size, FLOATS, c_size, c_size, c_size),
    ("gan_softmax_cross_entropy", _STATUS, P(c_double), FLOATS, FLOATS, P(c_int), c_size, c_size),
]

# The GAN_API functions of include/gan.h the package does not bind, and why. Every other
# one is in _PROTOTYPES and called by the classes; python/tests/test_coverage.py parses
# the header and fails on a function that is neither.
EXCLUDED = {
    "gan_set_allocator":
        "process-wide, and only valid before the first libgan object exists or while none is alive; a Python "
        "allocator would be a ctypes thunk called for every allocation from any thread (taking the GIL inside "
        "training calls), and for objects the garbage collector frees at interpreter exit after the thunk and "
        "the interpreter are gone. Install an allocator from C (the program that embeds Python) instead.",
    "gan_image_grid_size":
        "the 0.1 grayscale form of gan_image_grid2_size (width before height), which image_grid() calls: "
        "channels=1, scale=1 give the same size.",
    "gan_image_grid":
        "the 0.1 grayscale form of gan_image_grid2, which image_grid() calls: channels=1, scale=1 give the "
        "same pixels.",
}


class _Api:
    """The raw prototyped C functions, for what the classes do not cover:
    libgan.C.gan_net_num_layers(net._ptr). Negative statuses raise GanError."""


C = _Api()
for _name, _restype, *_argtypes in _PROTOTYPES:
    _f = getattr(_lib, _name)
    _f.argtypes = _argtypes
    if _restype is _STATUS:
        _f.restype = c_int
        _f.errcheck = _errcheck
    else:
        _f.restype = _restype
    setattr(C, _name, _f)
del _name, _restype, _argtypes, _f

# gan_dataset_sampler is also a ready data callback: its address, as the trainer takes it.
SAMPLER_FN = DATA_FN(ctypes.cast(_lib.gan_dataset_sampler, c_void_p).value)


def version():
    """The runtime library's version string, e.g. '0.2.0'."""
    return C.gan_version_string().decode()


def version_number():
    """MAJOR * 10000 + MINOR * 100 + PATCH of the runtime library."""
    return C.gan_version_number()


def features():
    """Bitwise OR of the FEATURE_* flags of this build of the library."""
    return C.gan_features()


def strerror(code):
    """gan_strerror(code): a static description of a status code."""
    return C.gan_strerror(code).decode()


def error_last():
    """gan_error_last(): the detail of the calling thread's last failure, or ''."""
    return C.gan_error_last().decode(errors="replace")


def make(ctor, *args):
    """Call a C constructor ctor(&out, *args) and return the new handle."""
    h = c_void_p()
    ctor(ctypes.byref(h), *args)
    return h


# ----------------------------------------------------------------- handles


class _ViewKeeper:
    """Counts one view of a handle's memory: the view's ctypes array holds it, so it goes
    (and tells its owner) when the last numpy array or memoryview over that array goes."""
    __slots__ = ("owner",)

    def __init__(self, owner):
        owner._views += 1
        self.owner = owner

    def __del__(self):
        try:
            self.owner._view_gone()
        except Exception:  # never raise from a finalizer
            pass


class Handle:
    """Owns one C handle.

    Objects lent to others (a Trainer's nets and optimizers, a net's rng, a sampler's data
    set) count their borrowers, and close() refuses (GanError ESTATE) while one lives.
    Objects that hand out views of their memory (Net.params/grads/state, Dataset.rows/
    row(i)) count the live views, and close() (and Net.add, which moves the buffers)
    refuses with BufferError while one lives: memory a view points to is never freed or
    moved. A view holds its owner, so the garbage collector never finalizes an owner
    before its views; when it finalizes both in one cycle, or a `with` block ends with an
    exception while views live, the free waits for the last borrower and view instead."""
    _free = None  # the C destructor, as a staticmethod
    _view_sources = "its properties"  # what hands out views, for BufferError's message

    def __init__(self, handle):
        self._h = handle
        self._borrowers = 0
        self._views = 0
        self._close_pending = False

    @property
    def _ptr(self):
        if self._h is None or self._close_pending:
            raise ValueError("%s is closed" % type(self).__name__)
        return self._h

    @property
    def closed(self):
        """True once the handle is closed (close(), a `with` block's end, or moved away)."""
        return self._h is None or self._close_pending

    def close(self):
        """Free the handle now. Idempotent. GanError(ESTATE) while something borrows it,
        BufferError while a view of its memory (Net.params, Dataset.rows ...) lives."""
        if self.closed:
            return
        if self._borrowers:
            raise GanError(ESTATE, "%s.close: %s: borrowed by a live object (close that first)"
                           % (type(self).__name__, strerror(ESTATE)))
        self._check_no_views("%s.close" % type(self).__name__)
        self._release()

    def _check_no_views(self, where):
        """Raise BufferError while views of this handle's memory are alive."""
        if self._views:
            raise BufferError("%s: %d view%s of the %s's memory still alive (numpy arrays or memoryviews from "
                              "%s): delete them, or keep copies instead, first"
                              % (where, self._views, "s" if self._views > 1 else "", type(self).__name__,
                                 self._view_sources))

    def _track(self, buf):
        """Count buf (a ctypes array over this handle's memory) as a view until it dies."""
        buf._keeper = _ViewKeeper(self)

    def _view_gone(self):
        self._views -= 1
        self._maybe_release()

    def _maybe_release(self):
        if self._close_pending and not self._borrowers and not self._views:
            self._release()

    def _release(self):
        h, self._h = self._h, None
        self._close_pending = False
        if h is not None and self._free is not None:
            self._free(h)

    def _lend(self):
        self._ptr  # noqa: B018 -- raises if closed
        self._borrowers += 1

    def _give_back(self):
        self._borrowers -= 1
        self._maybe_release()

    def __enter__(self):
        return self

    def __exit__(self, exc_type, *exc):
        if exc_type is not None and self._views and not self._borrowers and self._h is not None:
            self._close_pending = True  # unwinding: do not hide the exception behind a BufferError
            return
        self.close()

    def __del__(self):
        try:
            if getattr(self, "_h", None) is None:
                return
            if self._borrowers or self._views:  # finalized in one cycle with a borrower or a view
                self._close_pending = True
            else:
                self._release()
        except Exception:  # never raise from a finalizer, e.g. at interpreter exit
            pass

"""libgan.py: a ctypes binding of libgan (include/gan.h). Nothing to compile.

The library is found through the environment variable LIBGAN_PATH (a path to
libgan.so.0), else ctypes.util.find_library('gan'), else 'libgan.so.0' on the loader's
path. numpy is optional: with it, arrays come back as float32 numpy arrays of shape
(rows, cols); without it (or with LIBGAN_NO_NUMPY=1) as flat array('f') copies and
flat memoryviews of format 'f'. Inputs may be anything float-like: numpy arrays,
array('f'), memoryviews, lists (of numbers or of rows).

    import libgan as gan
    with gan.Net(2) as g:
        g.add(gan.Layer.dense(2, 16)).add(gan.Layer.activation('relu')).add(gan.Layer.dense(16, 1))
        g.init(gan.Rng(1), 'he')
        y = g.forward([[0.5, -1.0]])

Errors: every negative status raises GanError(code, message) carrying gan_strerror(code)
and gan_error_last(). An exception raised inside a Python callback (data, noise,
on_step) is caught before it reaches C, the callback returns non-zero (the library
stops the call with GAN_EUSER and leaves the trainer as it was), and the original
exception is re-raised once the C call has returned.

Ownership mirrors the C API (docs/conventions.md): objects own their handles and free
them on close(), on leaving a `with` block, or when garbage-collected. A Layer belongs
to the Net once Net.add() succeeds. A Trainer borrows its nets and optimizers and keeps
them alive (closing a borrowed object first raises GanError(ESTATE)). Views returned by
Net.params / Net.grads and the buffers handed to callbacks are borrowed memory: views
stay valid until the net changes shape or is closed; callback buffers only during the
callback. See docs/ffi.md.
"""

import array
import ctypes
import ctypes.util
import numbers
import os
import weakref

try:
    if os.environ.get("LIBGAN_NO_NUMPY"):
        raise ImportError("LIBGAN_NO_NUMPY is set")
    import numpy
except ImportError:
    numpy = None

__all__ = [
    "GanError", "Rng", "Layer", "Net", "Optim", "Trainer",
    "zeros", "flat", "version", "version_number", "features", "strerror", "error_last", "numpy",
]

# ----------------------------------------------------------------- loading


def _load():
    path = os.environ.get("LIBGAN_PATH") or ctypes.util.find_library("gan") or "libgan.so.0"
    try:
        return ctypes.CDLL(path)
    except OSError as e:
        raise OSError("libgan: cannot load %s (%s); set LIBGAN_PATH to libgan.so.0" % (path, e)) from None


_lib = _load()

# ------------------------------------------------------------- constants

OK, EINVAL, ENOMEM, EIO, EFORMAT, EVERSION, EUSER, EDIVERGED, ESTATE = 0, -1, -2, -3, -4, -5, -6, -7, -8
FEATURE_OPENBLAS, FEATURE_REFBLAS, FEATURE_BLIS, FEATURE_ZLIB = 1, 2, 4, 8
ACT_RELU, ACT_LEAKY_RELU, ACT_SIGMOID, ACT_TANH, ACT_IDENTITY = 1, 2, 3, 4, 5
LAYER_DENSE, LAYER_MAXOUT, LAYER_ACTIVATION, LAYER_DROPOUT = 1, 2, 3, 4
INIT_UNIFORM, INIT_XAVIER, INIT_HE = 1, 2, 3
LOSS_MINIMAX, LOSS_NON_SATURATING, LOSS_LEAST_SQUARES, LOSS_HINGE, LOSS_WASSERSTEIN = 1, 2, 3, 4, 5
UPDATE_ALTERNATING, UPDATE_SIMULTANEOUS = 1, 2
STREAM_INIT, STREAM_DATA, STREAM_NOISE, STREAM_DROPOUT = 0, 1, 2, 3

# Enum arguments also accept these names.
_ACTS = {"relu": ACT_RELU, "leaky_relu": ACT_LEAKY_RELU, "sigmoid": ACT_SIGMOID, "tanh": ACT_TANH,
         "identity": ACT_IDENTITY}
_INITS = {"uniform": INIT_UNIFORM, "xavier": INIT_XAVIER, "he": INIT_HE}
_LOSSES = {"minimax": LOSS_MINIMAX, "non_saturating": LOSS_NON_SATURATING, "least_squares": LOSS_LEAST_SQUARES,
           "hinge": LOSS_HINGE, "wasserstein": LOSS_WASSERSTEIN}
_UPDATES = {"alternating": UPDATE_ALTERNATING, "simultaneous": UPDATE_SIMULTANEOUS}
_STREAMS = {"init": STREAM_INIT, "data": STREAM_DATA, "noise": STREAM_NOISE, "dropout": STREAM_DROPOUT}
_KINDS = {LAYER_DENSE: "dense", LAYER_MAXOUT: "maxout", LAYER_ACTIVATION: "activation", LAYER_DROPOUT: "dropout"}


def _enum(value, names, what):
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


class _gan_rng(ctypes.Structure):
    pass


class _gan_layer(ctypes.Structure):
    pass


class _gan_net(ctypes.Structure):
    pass


class _gan_optim(ctypes.Structure):
    pass


class _gan_trainer(ctypes.Structure):
    pass


class StepStats(ctypes.Structure):
    """struct gan_step_stats (the library fills the fields that fit in `size`)."""
    _fields_ = [("size", ctypes.c_uint32), ("reserved", ctypes.c_uint32), ("step", ctypes.c_uint64),
                ("loss_d", ctypes.c_double), ("loss_g", ctypes.c_double), ("d_real", ctypes.c_double),
                ("d_fake", ctypes.c_double), ("grad_norm_d", ctypes.c_double), ("grad_norm_g", ctypes.c_double),
                ("lr_d", ctypes.c_double), ("lr_g", ctypes.c_double)]

    def to_dict(self):
        return {name: getattr(self, name) for name, _ in self._fields_[2:]}


_P = ctypes.POINTER
_RNG, _LAYER, _NET, _OPTIM, _TRAINER = _P(_gan_rng), _P(_gan_layer), _P(_gan_net), _P(_gan_optim), _P(_gan_trainer)
_c_int, _c_uint, _c_float, _c_size = ctypes.c_int, ctypes.c_uint, ctypes.c_float, ctypes.c_size_t
_c_u64 = ctypes.c_uint64
_c_double, _c_char_p, _c_void_p = ctypes.c_double, ctypes.c_char_p, ctypes.c_void_p
_FLOATS = _P(_c_float)

# Callbacks receive float buffers as plain addresses (c_void_p: an int, or None for NULL).
_DATA_FN = ctypes.CFUNCTYPE(_c_int, _c_void_p, _RNG, _c_void_p, _c_void_p, _c_size)
_NOISE_FN = ctypes.CFUNCTYPE(_c_int, _c_void_p, _RNG, _c_void_p, _c_size, _c_size)
_STEP_FN = ctypes.CFUNCTYPE(_c_int, _c_void_p, _P(StepStats))

_STATUS = object()  # restype marker: an int status, negative raises GanError

_PROTOTYPES = [
    # version and errors
    ("gan_version_number", _c_uint),
    ("gan_version_string", _c_char_p),
    ("gan_features", _c_uint),
    ("gan_strerror", _c_char_p, _c_int),
    ("gan_error_last", _c_char_p),
    # rng
    ("gan_rng_create", _STATUS, _P(_RNG), _c_u64),
    ("gan_rng_free", None, _RNG),
    ("gan_rng_seed", _STATUS, _RNG, _c_u64),
    ("gan_rng_uniform", _c_float, _RNG),
    ("gan_rng_normal", _c_float, _RNG),
    ("gan_rng_fill_uniform", _STATUS, _RNG, _FLOATS, _c_size, _c_float, _c_float),
    ("gan_rng_fill_normal", _STATUS, _RNG, _FLOATS, _c_size, _c_float, _c_float),
    # layers
    ("gan_layer_dense", _STATUS, _P(_LAYER), _c_size, _c_size),
    ("gan_layer_maxout", _STATUS, _P(_LAYER), _c_size, _c_size, _c_size),
    ("gan_layer_activation", _STATUS, _P(_LAYER), _c_int),
    ("gan_layer_leaky_relu", _STATUS, _P(_LAYER), _c_float),
    ("gan_layer_dropout", _STATUS, _P(_LAYER), _c_float),
    ("gan_layer_free", None, _LAYER),
    ("gan_layer_kind", _c_int, _LAYER),
    ("gan_layer_in_dim", _c_size, _LAYER),
    ("gan_layer_out_dim", _c_size, _LAYER),
    ("gan_layer_num_params", _c_size, _LAYER),
    # nets
    ("gan_net_create", _STATUS, _P(_NET), _c_size),
    ("gan_net_free", None, _NET),
    ("gan_net_add", _STATUS, _NET, _LAYER),
    ("gan_net_in_dim", _c_size, _NET),
    ("gan_net_out_dim", _c_size, _NET),
    ("gan_net_num_params", _c_size, _NET),
    ("gan_net_num_layers", _c_size, _NET),
    ("gan_net_layer", _LAYER, _NET, _c_size),
    ("gan_net_layer_params", _STATUS, _NET, _c_size, _P(_c_size), _P(_c_size)),
    ("gan_net_init", _STATUS, _NET, _RNG, _c_int, _c_float),
    ("gan_net_set_rng", _STATUS, _NET, _RNG),
    ("gan_net_forward", _STATUS, _NET, _FLOATS, _c_size, _FLOATS, _c_int),
    ("gan_net_backward", _STATUS, _NET, _FLOATS, _FLOATS),
    ("gan_net_params", _c_void_p, _NET),
    ("gan_net_grads", _c_void_p, _NET),
    ("gan_net_zero_grads", _STATUS, _NET),
    ("gan_net_save", _STATUS, _NET, _c_char_p),
    ("gan_net_load", _STATUS, _P(_NET), _c_char_p),
    ("gan_net_save_mem", _STATUS, _NET, _c_void_p, _c_size, _P(_c_size)),
    ("gan_net_load_mem", _STATUS, _P(_NET), _c_void_p, _c_size),
    # optimizers
    ("gan_optim_sgd", _STATUS, _P(_OPTIM), _c_float, _c_float, _c_int),
    ("gan_optim_adam", _STATUS, _P(_OPTIM), _c_float, _c_float, _c_float, _c_float),
    ("gan_optim_free", None, _OPTIM),
    ("gan_optim_step", _STATUS, _OPTIM, _NET),
    ("gan_optim_reset", _STATUS, _OPTIM),
    ("gan_optim_set_lr", _STATUS, _OPTIM, _c_float),
    ("gan_optim_get_lr", _c_float, _OPTIM),
    ("gan_optim_set_momentum", _STATUS, _OPTIM, _c_float),
    ("gan_optim_get_momentum", _c_float, _OPTIM),
    ("gan_optim_steps", _c_u64, _OPTIM),
    # trainer
    ("gan_trainer_create", _STATUS, _P(_TRAINER), _NET, _NET, _OPTIM, _OPTIM),
    ("gan_trainer_free", None, _TRAINER),
    ("gan_trainer_set_data", _STATUS, _TRAINER, _DATA_FN, _c_void_p),
    ("gan_trainer_set_noise", _STATUS, _TRAINER, _NOISE_FN, _c_void_p),
    ("gan_trainer_set_noise_uniform", _STATUS, _TRAINER, _c_float),
    ("gan_trainer_set_noise_normal", _STATUS, _TRAINER, _c_float),
    ("gan_trainer_set_batch_size", _STATUS, _TRAINER, _c_size),
    ("gan_trainer_set_d_steps", _STATUS, _TRAINER, _c_uint),
    ("gan_trainer_set_g_steps", _STATUS, _TRAINER, _c_uint),
    ("gan_trainer_set_update", _STATUS, _TRAINER, _c_int),
    ("gan_trainer_set_loss", _STATUS, _TRAINER, _c_int),
    ("gan_trainer_set_seed", _STATUS, _TRAINER, _c_u64),
    ("gan_trainer_set_cond_dim", _STATUS, _TRAINER, _c_size),
    ("gan_trainer_set_label_smoothing", _STATUS, _TRAINER, _c_float),
    ("gan_trainer_set_clip", _STATUS, _TRAINER, _c_float),
    ("gan_trainer_set_ema", _STATUS, _TRAINER, _c_float),
    ("gan_trainer_rng", _RNG, _TRAINER, _c_int),
    ("gan_trainer_noise_dim", _c_size, _TRAINER),
    ("gan_trainer_steps", _c_u64, _TRAINER),
    ("gan_trainer_step", _STATUS, _TRAINER, _P(StepStats)),
    ("gan_trainer_run", _STATUS, _TRAINER, _c_u64, _STEP_FN, _c_void_p),
    ("gan_trainer_generate", _STATUS, _TRAINER, _FLOATS, _FLOATS, _c_size, _FLOATS),
    ("gan_trainer_save", _STATUS, _TRAINER, _c_char_p),
    ("gan_trainer_load", _STATUS, _TRAINER, _c_char_p),
    ("gan_trainer_save_mem", _STATUS, _TRAINER, _c_void_p, _c_size, _P(_c_size)),
    ("gan_trainer_load_mem", _STATUS, _TRAINER, _c_void_p, _c_size),
]


class _Api:
    pass


C = _Api()  # the raw prototyped functions: C.gan_net_forward(...), for what the classes do not cover
for _name, _restype, *_argtypes in _PROTOTYPES:
    _f = getattr(_lib, _name)
    _f.argtypes = _argtypes
    if _restype is _STATUS:
        _f.restype = _c_int
        _f.errcheck = _errcheck
    else:
        _f.restype = _restype
    setattr(C, _name, _f)
del _name, _restype, _argtypes, _f


def version():
    """The runtime library's version string, e.g. '0.1.0'."""
    return C.gan_version_string().decode()


def version_number():
    """MAJOR * 10000 + MINOR * 100 + PATCH of the runtime library."""
    return C.gan_version_number()


def features():
    """Bitwise OR of FEATURE_* flags of this build."""
    return C.gan_features()


def strerror(code):
    """gan_strerror(code): a static description of a status code."""
    return C.gan_strerror(code).decode()


def error_last():
    """gan_error_last(): the detail of the calling thread's last failure, or ''."""
    return C.gan_error_last().decode(errors="replace")


# ----------------------------------------------------------------- buffers

_FLOAT_FORMATS = ("f", "<f", "=f", "@f")


def _floats(x):
    """(ctypes float array, count) for x: C-contiguous float32 buffers are used in place,
    anything else (lists of numbers or rows, float64 arrays...) is copied to float32."""
    try:
        m = memoryview(x)
    except TypeError:
        m = None
    if m is not None and m.format in _FLOAT_FORMATS and m.c_contiguous:
        n = m.nbytes // 4
        if m.readonly:
            return (_c_float * n).from_buffer_copy(m), n
        return (_c_float * n).from_buffer(m), n
    if numpy is not None:
        a = numpy.ascontiguousarray(x, dtype=numpy.float32)
        return (_c_float * a.size).from_buffer(a), a.size
    a = array.array("f")
    for v in x:
        if isinstance(v, (int, float)):
            a.append(v)
        else:
            a.extend(v)  # a row
    return (_c_float * len(a)).from_buffer(a), len(a)


def _writable_floats(x):
    """(ctypes float array, count) over the memory of a writable, C-contiguous float32 buffer."""
    m = memoryview(x)
    if m.format not in _FLOAT_FORMATS or not m.c_contiguous or m.readonly:
        raise TypeError("need a writable, C-contiguous float32 buffer (numpy float32, array('f'), memoryview 'f')")
    n = m.nbytes // 4
    return (_c_float * n).from_buffer(m), n


def zeros(rows, cols):
    """A zeroed float32 buffer: numpy (rows, cols), else a flat array('f') of rows * cols."""
    if numpy is not None:
        return numpy.zeros((rows, cols), dtype=numpy.float32)
    return array.array("f", bytes(4 * rows * cols))


def _view(addr, rows, cols, owner=None):
    """Borrowed float32 memory at addr: numpy (rows, cols) (or 1-D when cols is None), else a flat
    memoryview 'f'. The view keeps `owner` alive."""
    n = rows * (cols or 1)
    if not addr or not n:  # an empty net has no buffer
        return numpy.zeros(0, numpy.float32) if numpy is not None else memoryview(b"").cast("f")
    buf = (_c_float * n).from_address(addr)
    buf._owner = owner
    if numpy is not None:
        a = numpy.frombuffer(buf, dtype=numpy.float32)
        return a if cols is None else a.reshape(rows, cols)
    return memoryview(buf).cast("B").cast("f")


def flat(buf):
    """A flat 1-D view of an array this module returned or handed to a callback."""
    if numpy is not None and isinstance(buf, numpy.ndarray):
        return buf.reshape(-1)
    return buf


# ----------------------------------------------------------------- handles


class _Handle:
    """Owns one C handle. Objects lent to others (a Trainer's nets and optimizers, a net's
    rng) count their borrowers and are freed only once the last borrower is gone."""
    _free = None  # the C destructor, as a staticmethod

    def __init__(self, handle):
        self._h = handle
        self._borrowers = 0
        self._close_pending = False

    @property
    def _ptr(self):
        if self._h is None:
            raise ValueError("%s is closed" % type(self).__name__)
        return self._h

    @property
    def closed(self):
        return self._h is None

    def close(self):
        """Free the handle now. Idempotent. GanError(ESTATE) while something borrows it."""
        if self._h is None:
            return
        if self._borrowers:
            raise GanError(ESTATE, "%s.close: %s: borrowed by a live object (close that first)"
                           % (type(self).__name__, strerror(ESTATE)))
        self._release()

    def _release(self):
        h, self._h = self._h, None
        if h is not None and self._free is not None:
            self._free(h)

    def _lend(self):
        self._ptr  # noqa: B018 -- raises if closed
        self._borrowers += 1

    def _give_back(self):
        self._borrowers -= 1
        if not self._borrowers and self._close_pending:
            self._release()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def __del__(self):
        try:
            if getattr(self, "_h", None) is None:
                return
            if self._borrowers:  # a borrower's finalizer has not run yet (e.g. both in one cycle)
                self._close_pending = True
            else:
                self._release()
        except Exception:  # never raise from a finalizer, e.g. at interpreter exit
            pass


class Rng(_Handle):
    """A seeded PCG32 stream (gan_rng). One thread at a time."""
    _free = staticmethod(C.gan_rng_free)

    def __init__(self, seed=0):
        h = _RNG()
        C.gan_rng_create(ctypes.byref(h), seed)
        super().__init__(h)
        self._owner = None

    @classmethod
    def _borrowed(cls, handle, owner):
        """A stream owned by `owner` (a Trainer): never freed here, unusable once owner is closed."""
        r = cls.__new__(cls)
        _Handle.__init__(r, handle)
        r._owner = owner
        r._free = None
        return r

    @property
    def _ptr(self):
        if self._owner is not None and self._owner._h is None:
            raise ValueError("Rng belongs to a closed %s" % type(self._owner).__name__)
        return _Handle._ptr.fget(self)

    def seed(self, seed):
        """Reset to the state Rng(seed) starts in."""
        C.gan_rng_seed(self._ptr, seed)

    def uniform(self):
        """A uniform float in [0, 1)."""
        return C.gan_rng_uniform(self._ptr)

    def normal(self):
        """A standard normal float."""
        return C.gan_rng_normal(self._ptr)

    def fill_uniform(self, dst, lo=0.0, hi=1.0):
        """Fill a writable float32 buffer with uniform floats in [lo, hi); returns dst."""
        buf, n = _writable_floats(dst)
        C.gan_rng_fill_uniform(self._ptr, buf, n, lo, hi)
        return dst

    def fill_normal(self, dst, mean=0.0, std=1.0):
        """Fill a writable float32 buffer with normal floats; returns dst."""
        buf, n = _writable_floats(dst)
        C.gan_rng_fill_normal(self._ptr, buf, n, mean, std)
        return dst


class Layer(_Handle):
    """A layer, owned by Python until Net.add() moves it into a net."""
    _free = staticmethod(C.gan_layer_free)

    @classmethod
    def _make(cls, ctor, *args):
        h = _LAYER()
        ctor(ctypes.byref(h), *args)
        return cls(h)

    @classmethod
    def dense(cls, in_dim, out_dim):
        """Fully connected: y = x W + b."""
        return cls._make(C.gan_layer_dense, in_dim, out_dim)

    @classmethod
    def maxout(cls, in_dim, units, pieces):
        """`units` outputs, each the max of `pieces` affine pieces."""
        return cls._make(C.gan_layer_maxout, in_dim, units, pieces)

    @classmethod
    def activation(cls, act):
        """ACT_* or 'relu', 'leaky_relu', 'sigmoid', 'tanh', 'identity'."""
        return cls._make(C.gan_layer_activation, _enum(act, _ACTS, "activation"))

    @classmethod
    def leaky_relu(cls, slope=0.2):
        return cls._make(C.gan_layer_leaky_relu, slope)

    @classmethod
    def dropout(cls, keep_prob):
        """Inverted dropout keeping each unit with probability keep_prob in training mode."""
        return cls._make(C.gan_layer_dropout, keep_prob)

    @property
    def kind(self):
        return _KINDS.get(C.gan_layer_kind(self._ptr))

    @property
    def num_params(self):
        return C.gan_layer_num_params(self._ptr)


class Net(_Handle):
    """A feed-forward net (gan_net) with one flat parameter and one flat gradient buffer."""
    _free = staticmethod(C.gan_net_free)

    def __init__(self, in_dim=None, _handle=None):
        if _handle is None:
            _handle = _NET()
            C.gan_net_create(ctypes.byref(_handle), in_dim)
        super().__init__(_handle)
        self._rng = None  # an Rng lent with set_rng

    def _release(self):
        super()._release()
        if self._rng is not None:
            self._rng._give_back()
            self._rng = None

    def add(self, layer):
        """Append a Layer; the net owns it from then on (on failure Python still does). Returns self."""
        C.gan_net_add(self._ptr, layer._ptr)
        layer._h = None  # moved: the net frees it
        return self

    in_dim = property(lambda self: C.gan_net_in_dim(self._ptr))
    out_dim = property(lambda self: C.gan_net_out_dim(self._ptr))
    num_params = property(lambda self: C.gan_net_num_params(self._ptr))
    num_layers = property(lambda self: C.gan_net_num_layers(self._ptr))

    def layers(self):
        """[{'kind', 'in_dim', 'out_dim', 'num_params', 'offset'}] for each layer."""
        out = []
        for i in range(self.num_layers):
            layer = C.gan_net_layer(self._ptr, i)
            off, cnt = _c_size(), _c_size()
            C.gan_net_layer_params(self._ptr, i, ctypes.byref(off), ctypes.byref(cnt))
            out.append({"kind": _KINDS.get(C.gan_layer_kind(layer)), "in_dim": C.gan_layer_in_dim(layer),
                        "out_dim": C.gan_layer_out_dim(layer), "num_params": cnt.value, "offset": off.value})
        return out

    def init(self, rng, scheme="he", scale=1.0):
        """Initialise every parameter from rng: INIT_* or 'uniform', 'xavier', 'he'."""
        C.gan_net_init(self._ptr, rng._ptr, _enum(scheme, _INITS, "init scheme"), scale)

    def set_rng(self, rng):
        """Lend the net an Rng for dropout (kept alive while lent); None detaches it."""
        C.gan_net_set_rng(self._ptr, rng._ptr if rng is not None else None)
        if rng is not None:
            rng._lend()
        if self._rng is not None:
            self._rng._give_back()
        self._rng = rng

    def forward(self, x, train=False):
        """y = net(x) for a batch x of rows of in_dim floats; y has out_dim columns."""
        buf, n = _floats(x)
        batch, rest = divmod(n, self.in_dim)
        if rest or not batch:
            raise ValueError("forward: %d floats are not whole rows of %d" % (n, self.in_dim))
        y = zeros(batch, self.out_dim)
        ybuf, _ = _writable_floats(y)
        C.gan_net_forward(self._ptr, buf, batch, ybuf, 1 if train else 0)
        return y

    def backward(self, dy, want_dx=True):
        """Backward pass for the last forward: adds to the gradients, returns dx (or None)."""
        buf, n = _floats(dy)
        dx = dxbuf = None
        if want_dx:
            dx = zeros(n // max(self.out_dim, 1), self.in_dim)
            dxbuf, _ = _writable_floats(dx)
        C.gan_net_backward(self._ptr, buf, dxbuf)
        return dx

    def zero_grads(self):
        C.gan_net_zero_grads(self._ptr)

    @property
    def params(self):
        """A live, writable view of the flat parameter buffer (borrowed: valid until the net
        changes shape or is closed)."""
        return _view(C.gan_net_params(self._ptr), self.num_params, None, self)

    @property
    def grads(self):
        """A live view of the flat gradient buffer, same layout as params."""
        return _view(C.gan_net_grads(self._ptr), self.num_params, None, self)

    def get_params(self):
        """A copy of the parameters (1-D)."""
        v = self.params
        if numpy is not None:
            return v.copy()
        a = array.array("f")
        a.frombytes(v.cast("B"))
        return a

    def set_params(self, values):
        """Copy num_params floats into the parameters."""
        buf, n = _floats(values)
        if n != self.num_params:
            raise ValueError("set_params: %d floats for %d parameters" % (n, self.num_params))
        ctypes.memmove(C.gan_net_params(self._ptr), buf, 4 * n)

    def save(self, path):
        """gan_net_save: layers and parameters, written atomically."""
        C.gan_net_save(self._ptr, os.fsencode(path))

    @classmethod
    def load(cls, path):
        """gan_net_load: a new Net from a file written by save()."""
        h = _NET()
        C.gan_net_load(ctypes.byref(h), os.fsencode(path))
        return cls(_handle=h)

    def to_bytes(self):
        """gan_net_save_mem: the file's bytes."""
        size = _c_size()
        C.gan_net_save_mem(self._ptr, None, 0, ctypes.byref(size))
        buf = ctypes.create_string_buffer(size.value)
        C.gan_net_save_mem(self._ptr, buf, size.value, ctypes.byref(size))
        return buf.raw[:size.value]

    @classmethod
    def from_bytes(cls, data):
        """gan_net_load_mem: a new Net from bytes of to_bytes() or a file."""
        h = _NET()
        data = bytes(data)
        C.gan_net_load_mem(ctypes.byref(h), data, len(data))
        return cls(_handle=h)


class Optim(_Handle):
    """An optimizer (gan_optim): Optim.sgd(...) or Optim.adam(...)."""
    _free = staticmethod(C.gan_optim_free)

    @classmethod
    def _make(cls, ctor, *args):
        h = _OPTIM()
        ctor(ctypes.byref(h), *args)
        return cls(h)

    @classmethod
    def sgd(cls, lr, momentum=0.0, nesterov=False):
        return cls._make(C.gan_optim_sgd, lr, momentum, 1 if nesterov else 0)

    @classmethod
    def adam(cls, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8):
        return cls._make(C.gan_optim_adam, lr, beta1, beta2, eps)

    def step(self, net):
        """One update of net from its gradients."""
        C.gan_optim_step(self._ptr, net._ptr)

    def reset(self):
        C.gan_optim_reset(self._ptr)

    @property
    def lr(self):
        return C.gan_optim_get_lr(self._ptr)

    @lr.setter
    def lr(self, value):
        C.gan_optim_set_lr(self._ptr, value)

    @property
    def momentum(self):
        """SGD's momentum or Adam's beta1."""
        return C.gan_optim_get_momentum(self._ptr)

    @momentum.setter
    def momentum(self, value):
        C.gan_optim_set_momentum(self._ptr, value)

    @property
    def steps(self):
        return C.gan_optim_steps(self._ptr)


class Trainer(_Handle):
    """The minimax trainer (gan_trainer). Borrows g, d, opt_g and opt_d and keeps them alive.

    Callbacks are Python callables, called on the thread that called step/run/generate:
      data(rng, x, cond, batch)   fill x (batch x data_dim) and, with a condition, cond
      noise(rng, z, batch, dim)   fill z (batch x dim)
      on_step(stats)              stats: a dict of gan_step_stats' fields
    rng is an Rng over the trainer's stream: draw only from it (or from a generator seeded
    from it) so a run is reproducible from the seed. x, z, cond are borrowed buffers, valid
    during the call: numpy (rows, cols) arrays, or flat memoryviews 'f' without numpy.
    Return None (or 0, False) to go on; a non-zero integer or True stops the call
    (GanError EUSER); other values are ignored. An exception is re-raised from the
    step/run/generate call.
    """
    _free = staticmethod(C.gan_trainer_free)

    def __init__(self, g, d, opt_g, opt_d):
        h = _TRAINER()
        C.gan_trainer_create(ctypes.byref(h), g._ptr, d._ptr, opt_g._ptr, opt_d._ptr)
        super().__init__(h)
        self.g, self.d, self.opt_g, self.opt_d = g, d, opt_g, opt_d
        self._borrowed = (g, d, opt_g, opt_d)
        for obj in self._borrowed:
            obj._lend()
        self._pending = None  # an exception raised in a callback, re-raised after the C call
        self._data_cb = self._noise_cb = None  # the ctypes thunks: C keeps only their addresses

    def _release(self):
        super()._release()
        for obj in getattr(self, "_borrowed", ()):
            obj._give_back()
        self._borrowed = ()

    # -- callbacks
    def _callback(self, fn, adapt):
        """A C callback calling fn(*adapt(args)) with exceptions caught and stored.
        It holds the trainer weakly (no reference cycle through the thunk)."""
        me = weakref.ref(self)

        def thunk(*args):
            t = me()
            if t is None or t._pending is not None:
                return 1
            try:
                rc = fn(*adapt(t, *args))
                return 1 if isinstance(rc, numbers.Integral) and rc else 0
            except BaseException as e:  # noqa: B036 -- KeyboardInterrupt too: stop the C loop cleanly
                t._pending = e
                return 1
        return thunk

    def _call(self, func, *args):
        """Call a C function that may run callbacks; re-raise what a callback raised."""
        self._pending = None
        try:
            return func(*args)
        except GanError:
            if self._pending is None:
                raise
        finally:
            pending, self._pending = self._pending, None
            if pending is not None:
                raise pending

    @property
    def data_dim(self):
        return self.g.out_dim

    @property
    def cond_dim(self):
        return self.g.in_dim - self.noise_dim

    def set_data(self, fn):
        """Set the data callback fn(rng, x, cond, batch) (required before training)."""
        def adapt(t, payload, rng, x, cond, batch):
            c = t.cond_dim
            return (Rng._borrowed(rng, t), _view(x, batch, t.data_dim),
                    _view(cond, batch, c) if c and cond else None, batch)
        cb = _DATA_FN(self._callback(fn, adapt))
        C.gan_trainer_set_data(self._ptr, cb, None)
        self._data_cb = cb

    def set_noise(self, fn):
        """Set a custom noise callback fn(rng, z, batch, dim)."""
        def adapt(t, payload, rng, z, batch, dim):
            return Rng._borrowed(rng, t), _view(z, batch, dim), batch, dim
        cb = _NOISE_FN(self._callback(fn, adapt))
        C.gan_trainer_set_noise(self._ptr, cb, None)
        self._noise_cb = cb

    def set_noise_uniform(self, a=1.0):
        C.gan_trainer_set_noise_uniform(self._ptr, a)
        self._noise_cb = None

    def set_noise_normal(self, std=1.0):
        C.gan_trainer_set_noise_normal(self._ptr, std)
        self._noise_cb = None

    # -- settings
    def set_batch_size(self, n):
        C.gan_trainer_set_batch_size(self._ptr, n)

    def set_d_steps(self, k):
        C.gan_trainer_set_d_steps(self._ptr, k)

    def set_g_steps(self, k):
        C.gan_trainer_set_g_steps(self._ptr, k)

    def set_update(self, mode):
        """UPDATE_* or 'alternating', 'simultaneous'."""
        C.gan_trainer_set_update(self._ptr, _enum(mode, _UPDATES, "update mode"))

    def set_loss(self, loss):
        """LOSS_* or 'minimax', 'non_saturating', 'least_squares', 'hinge', 'wasserstein'."""
        C.gan_trainer_set_loss(self._ptr, _enum(loss, _LOSSES, "loss"))

    def set_seed(self, seed):
        C.gan_trainer_set_seed(self._ptr, seed)

    def set_cond_dim(self, c):
        C.gan_trainer_set_cond_dim(self._ptr, c)

    def set_label_smoothing(self, real_target):
        C.gan_trainer_set_label_smoothing(self._ptr, real_target)

    def set_clip(self, c):
        C.gan_trainer_set_clip(self._ptr, c)

    def set_ema(self, decay):
        C.gan_trainer_set_ema(self._ptr, decay)

    def rng(self, stream):
        """The trainer's stream STREAM_* or 'init', 'data', 'noise', 'dropout' (borrowed)."""
        h = C.gan_trainer_rng(self._ptr, _enum(stream, _STREAMS, "stream"))
        if not h:
            raise GanError(EINVAL, "gan_trainer_rng: %s: no stream %r" % (strerror(EINVAL), stream))
        return Rng._borrowed(h, self)

    @property
    def noise_dim(self):
        return C.gan_trainer_noise_dim(self._ptr)

    @property
    def steps(self):
        return C.gan_trainer_steps(self._ptr)

    # -- training
    def step(self):
        """One training step; returns its statistics as a dict."""
        stats = StepStats(size=ctypes.sizeof(StepStats))
        self._call(C.gan_trainer_step, self._ptr, ctypes.byref(stats))
        return stats.to_dict()

    def run(self, steps, on_step=None):
        """Run `steps` steps, calling on_step(stats_dict) after each when given."""
        cb = _STEP_FN()  # NULL
        if on_step is not None:
            cb = _STEP_FN(self._callback(on_step, lambda t, payload, s: (s.contents.to_dict(),)))
        self._call(C.gan_trainer_run, self._ptr, steps, cb, None)

    def generate(self, n, z=None, cond=None):
        """n samples (n x data_dim) in evaluation mode from noise z (n x noise_dim), or from
        the noise stream when z is None; cond (n x cond_dim) when conditioned."""
        zbuf = cbuf = None
        if z is not None:
            zbuf, nz = _floats(z)
            if nz != n * self.noise_dim:
                raise ValueError("generate: z has %d floats, need %d x %d" % (nz, n, self.noise_dim))
        if cond is not None:
            cbuf, nc = _floats(cond)
            if nc != n * self.cond_dim:
                raise ValueError("generate: cond has %d floats, need %d x %d" % (nc, n, self.cond_dim))
        out = zeros(n, self.data_dim)
        obuf, _ = _writable_floats(out)
        self._call(C.gan_trainer_generate, self._ptr, zbuf, cbuf, n, obuf)
        return out

    # -- checkpoints
    def save(self, path):
        """gan_trainer_save: a full checkpoint (not the callbacks), written atomically."""
        C.gan_trainer_save(self._ptr, os.fsencode(path))

    def load(self, path):
        """gan_trainer_load: restore a checkpoint into this trainer (same architectures)."""
        C.gan_trainer_load(self._ptr, os.fsencode(path))

    def to_bytes(self):
        size = _c_size()
        C.gan_trainer_save_mem(self._ptr, None, 0, ctypes.byref(size))
        buf = ctypes.create_string_buffer(size.value)
        C.gan_trainer_save_mem(self._ptr, buf, size.value, ctypes.byref(size))
        return buf.raw[:size.value]

    def load_bytes(self, data):
        data = bytes(data)
        C.gan_trainer_load_mem(self._ptr, data, len(data))

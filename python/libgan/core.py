"""Random streams, layers, nets and optimizers."""

import ctypes
import os

from . import _arrays
from ._capi import ACTS, INITS, KINDS, C, Handle, c_size, enum, make

# The C examples' Adam (examples/mixture2d.c, cgan.c, gaussian1d.c, cpp/ring.cpp).
ADAM_LR, ADAM_BETA1, ADAM_BETA2, ADAM_EPS = 1e-3, 0.5, 0.999, 1e-8


class Rng(Handle):
    """A seeded PCG32 stream (gan_rng). One thread at a time."""
    _free = staticmethod(C.gan_rng_free)

    def __init__(self, seed=0):
        super().__init__(make(C.gan_rng_create, seed))
        self._owner = None

    @classmethod
    def _borrowed(cls, handle, owner):
        """A stream owned by `owner` (a Trainer): never freed here, unusable once owner is closed."""
        r = cls.__new__(cls)
        Handle.__init__(r, handle)
        r._owner = owner
        r._free = None
        return r

    @property
    def _ptr(self):
        if self._owner is not None and self._owner._h is None:
            raise ValueError("Rng belongs to a closed %s" % type(self._owner).__name__)
        return Handle._ptr.fget(self)

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
        buf, n = _arrays.writable(dst, "Rng.fill_uniform: dst")
        C.gan_rng_fill_uniform(self._ptr, buf, n, lo, hi)
        return dst

    def fill_normal(self, dst, mean=0.0, std=1.0):
        """Fill a writable float32 buffer with normal floats; returns dst."""
        buf, n = _arrays.writable(dst, "Rng.fill_normal: dst")
        C.gan_rng_fill_normal(self._ptr, buf, n, mean, std)
        return dst


class Layer(Handle):
    """A layer, owned by Python until Net.add() moves it into a net."""
    _free = staticmethod(C.gan_layer_free)

    @classmethod
    def dense(cls, in_dim, out_dim):
        """Fully connected: y = x W + b."""
        return cls(make(C.gan_layer_dense, in_dim, out_dim))

    @classmethod
    def maxout(cls, in_dim, units, pieces):
        """`units` outputs, each the max of `pieces` affine pieces."""
        return cls(make(C.gan_layer_maxout, in_dim, units, pieces))

    @classmethod
    def activation(cls, act):
        """ACT_* or 'relu', 'leaky_relu', 'sigmoid', 'tanh', 'identity'."""
        return cls(make(C.gan_layer_activation, enum(act, ACTS, "activation")))

    @classmethod
    def leaky_relu(cls, slope=0.2):
        """Leaky ReLU: x > 0 ? x : slope * x."""
        return cls(make(C.gan_layer_leaky_relu, slope))

    @classmethod
    def dropout(cls, keep_prob):
        """Inverted dropout keeping each unit with probability keep_prob in training mode."""
        return cls(make(C.gan_layer_dropout, keep_prob))

    @property
    def kind(self):
        """'dense', 'maxout', 'activation', 'dropout', or None for a kind this binding does not name."""
        return KINDS.get(C.gan_layer_kind(self._ptr))

    @property
    def num_params(self):
        """The number of parameters (weights and biases)."""
        return C.gan_layer_num_params(self._ptr)


class Net(Handle):
    """A feed-forward net (gan_net) with one flat parameter and one flat gradient buffer."""
    _free = staticmethod(C.gan_net_free)

    def __init__(self, in_dim=None, _handle=None):
        super().__init__(_handle if _handle is not None else make(C.gan_net_create, in_dim))
        self._rng = None  # an Rng lent with set_rng
        self._batch = None  # rows of the last Net.forward: the batch backward differentiates

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

    @property
    def in_dim(self):
        """The width of an input row."""
        return C.gan_net_in_dim(self._ptr)

    @property
    def out_dim(self):
        """The width of an output row (the input width for a net without layers)."""
        return C.gan_net_out_dim(self._ptr)

    @property
    def num_params(self):
        """The number of parameters, the length of params and grads."""
        return C.gan_net_num_params(self._ptr)

    @property
    def num_layers(self):
        """The number of layers."""
        return C.gan_net_num_layers(self._ptr)

    def layers(self):
        """[{'kind', 'in_dim', 'out_dim', 'num_params', 'offset'}] for each layer."""
        out = []
        for i in range(self.num_layers):
            layer = C.gan_net_layer(self._ptr, i)
            off, cnt = c_size(), c_size()
            C.gan_net_layer_params(self._ptr, i, ctypes.byref(off), ctypes.byref(cnt))
            out.append({"kind": KINDS.get(C.gan_layer_kind(layer)), "in_dim": C.gan_layer_in_dim(layer),
                        "out_dim": C.gan_layer_out_dim(layer), "num_params": cnt.value, "offset": off.value})
        return out

    def init(self, rng, scheme="he", scale=1.0):
        """Initialise every parameter from rng: INIT_* or 'uniform', 'xavier', 'he'."""
        C.gan_net_init(self._ptr, rng._ptr, enum(scheme, INITS, "init scheme"), scale)

    def set_rng(self, rng):
        """Lend the net an Rng for dropout (kept alive while lent); None detaches it."""
        C.gan_net_set_rng(self._ptr, rng._ptr if rng is not None else None)
        if rng is not None:
            rng._lend()
        if self._rng is not None:
            self._rng._give_back()
        self._rng = rng

    def forward(self, x, train=False):
        """y = net(x) for a batch x of shape (batch, in_dim) (or a flat buffer of whole
        rows); y has shape (batch, out_dim)."""
        buf, batch = _arrays.floats_in(x, "Net.forward: x", self.in_dim)
        y = _arrays.zeros(batch, self.out_dim)
        C.gan_net_forward(self._ptr, buf, batch, _arrays.writable(y, "y")[0], 1 if train else 0)
        self._batch = batch
        return y

    def backward(self, dy, want_dx=True):
        """Backward pass for the last forward: dy has shape (batch, out_dim) of that
        forward. Adds to the gradients; returns dx (batch, in_dim), or None."""
        if self._batch is None:  # C would differentiate a forward whose batch Python does not know
            raise ValueError("Net.backward: no Net.forward to differentiate (a trainer's runs do not count)")
        buf, batch = _arrays.floats_in(dy, "Net.backward: dy", self.out_dim, self._batch)
        dx = _arrays.zeros(batch, self.in_dim) if want_dx else None
        C.gan_net_backward(self._ptr, buf, _arrays.writable(dx, "dx")[0] if want_dx else None)
        return dx

    def zero_grads(self):
        """Set every gradient to 0 (backward adds to them)."""
        C.gan_net_zero_grads(self._ptr)

    @property
    def params(self):
        """A live, writable view of the flat parameter buffer (borrowed: valid until the net
        changes shape or is closed)."""
        return _arrays.view(C.gan_net_params(self._ptr), self.num_params, None, self)

    @property
    def grads(self):
        """A live view of the flat gradient buffer, same layout as params."""
        return _arrays.view(C.gan_net_grads(self._ptr), self.num_params, None, self)

    def get_params(self):
        """A copy of the parameters (1-D)."""
        return _arrays.copy(self.params)

    def set_params(self, values):
        """Copy num_params floats (a 1-D sequence) into the parameters."""
        buf, _ = _arrays.floats_in(values, "Net.set_params: values", 1, self.num_params)
        ctypes.memmove(C.gan_net_params(self._ptr), buf, 4 * self.num_params)

    def save(self, path):
        """gan_net_save: layers and parameters, written atomically."""
        C.gan_net_save(self._ptr, os.fsencode(path))

    @classmethod
    def load(cls, path):
        """gan_net_load: a new Net from a file written by save()."""
        return cls(_handle=make(C.gan_net_load, os.fsencode(path)))

    def to_bytes(self):
        """gan_net_save_mem: the file's bytes."""
        size = c_size()
        C.gan_net_save_mem(self._ptr, None, 0, ctypes.byref(size))
        buf = ctypes.create_string_buffer(size.value)
        C.gan_net_save_mem(self._ptr, buf, size.value, ctypes.byref(size))
        return buf.raw[:size.value]

    @classmethod
    def from_bytes(cls, data):
        """gan_net_load_mem: a new Net from bytes of to_bytes() or a file."""
        data = bytes(data)
        return cls(_handle=make(C.gan_net_load_mem, data, len(data)))


class Optim(Handle):
    """An optimizer (gan_optim): Optim.sgd(...) or Optim.adam(...)."""
    _free = staticmethod(C.gan_optim_free)

    @classmethod
    def sgd(cls, lr, momentum=0.0, nesterov=False):
        """Stochastic gradient descent with optional (Nesterov) momentum."""
        return cls(make(C.gan_optim_sgd, lr, momentum, 1 if nesterov else 0))

    @classmethod
    def adam(cls, lr=ADAM_LR, beta1=ADAM_BETA1, beta2=ADAM_BETA2, eps=ADAM_EPS):
        """Adam; the defaults are the C examples' (lr 1e-3, betas 0.5 and 0.999, eps 1e-8)."""
        return cls(make(C.gan_optim_adam, lr, beta1, beta2, eps))

    def step(self, net):
        """One update of net from its gradients."""
        C.gan_optim_step(self._ptr, net._ptr)

    def reset(self):
        """Forget the state (velocity, moments) so the optimizer can serve another net."""
        C.gan_optim_reset(self._ptr)

    @property
    def lr(self):
        """The learning rate (settable)."""
        return C.gan_optim_get_lr(self._ptr)

    @lr.setter
    def lr(self, value):
        C.gan_optim_set_lr(self._ptr, value)

    @property
    def momentum(self):
        """SGD's momentum or Adam's beta1 (settable)."""
        return C.gan_optim_get_momentum(self._ptr)

    @momentum.setter
    def momentum(self, value):
        C.gan_optim_set_momentum(self._ptr, value)

    @property
    def steps(self):
        """The number of updates made."""
        return C.gan_optim_steps(self._ptr)

"""Random streams, layers, nets and optimizers."""

import ctypes
import operator
import os

from . import _arrays
from ._capi import ACTS, INITS, KINDS, C, GanError, Handle, c_size, enum, make

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
    """A layer, owned by Python until Net.add() moves it into a net.

    Shapes are (channels, height, width), a vector being (n, 1, 1); a row holds an image
    as H*W*C floats, channels last (HWC). Sizes are checked by the C library, against
    the net's shape when the layer is added (GanError EINVAL naming both).

    The kinds for graphs (concat, add, slice, tile, upsample, avgpool, global_sum,
    modulate, dot; libgan 0.3) have no parameters. Those of several inputs (concat, add,
    modulate, dot) go into a net with Net.add(layer, inputs), which names the nodes they
    read."""
    _free = staticmethod(C.gan_layer_free)

    @classmethod
    def _made(cls, handle, bias=True):
        layer = cls(handle)
        if not bias:
            try:
                layer.set_bias(False)
            except BaseException:
                layer.close()
                raise
        return layer

    @classmethod
    def dense(cls, in_dim, out_dim, bias=True):
        """Fully connected: y = x W + b, W in_dim x out_dim (then out_dim biases, unless
        bias is False)."""
        return cls._made(make(C.gan_layer_dense, in_dim, out_dim), bias)

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

    @classmethod
    def reshape(cls, channels, height, width):
        """The same values seen as a (channels, height, width) image (rows stay HWC, so
        nothing moves): a dense layer feeding a convolution, say (gan_layer_reshape)."""
        return cls(make(C.gan_layer_reshape, channels, height, width))

    @classmethod
    def conv2d(cls, in_channels, out_channels, kernel, stride=1, padding=0, bias=True):
        """2-D convolution as PyTorch's nn.Conv2d (zero padding, dilation 1, groups 1), channels
        last: (in_channels, H, W) -> (out_channels, (H + 2 padding - kernel) // stride + 1, W
        alike). Weights (kernel*kernel*in_channels) x out_channels, then out_channels biases
        unless bias is False; from PyTorch: weight.permute(2, 3, 1, 0).reshape(-1, out)
        (gan_layer_conv2d)."""
        return cls._made(make(C.gan_layer_conv2d, in_channels, out_channels, kernel, stride, padding), bias)

    @classmethod
    def conv2d_transpose(cls, in_channels, out_channels, kernel, stride=1, padding=0, output_padding=0, bias=True):
        """Transposed 2-D convolution as PyTorch's nn.ConvTranspose2d, channels last:
        (in_channels, H, W) -> (out_channels, (H - 1) stride - 2 padding + kernel +
        output_padding, W alike). Weights in_channels x (kernel*kernel*out_channels), then
        out_channels biases unless bias is False; from PyTorch:
        weight.permute(0, 2, 3, 1).reshape(in, -1) (gan_layer_conv2d_transpose)."""
        return cls._made(make(C.gan_layer_conv2d_transpose, in_channels, out_channels, kernel, stride, padding,
                              output_padding), bias)

    @classmethod
    def batchnorm(cls, channels, momentum=0.1, eps=1e-5):
        """Batch normalization with PyTorch's semantics (defaults too), per channel of an
        image or per feature of a vector. Parameters: channels scales, then channels shifts;
        state (Net.state): channels running means, then channels running variances
        (gan_layer_batchnorm)."""
        return cls(make(C.gan_layer_batchnorm, channels, momentum, eps))

    @classmethod
    def concat(cls, n_inputs=2):
        """Concatenation along channels, pixel by pixel: n_inputs (in [2, 16]) inputs of one
        height and width, (c1, h, w) ... (cn, h, w) -> (c1 + ... + cn, h, w); vectors
        concatenate end to end. Add it with Net.add(layer, inputs) (gan_layer_concat)."""
        return cls(make(C.gan_layer_concat, n_inputs))

    @classmethod
    def add(cls, n_inputs=2):
        """The elementwise sum of n_inputs (in [2, 16]) inputs of one shape, a residual
        block's join. Add it with Net.add(layer, inputs) (gan_layer_add)."""
        return cls(make(C.gan_layer_add, n_inputs))

    @classmethod
    def slice(cls, first, count):
        """Channels [first, first + count) of the input: (c, h, w) -> (count, h, w); on a
        vector, elements (how a net splits a row [x | cond]). The net refuses a range
        beyond the input's channels (gan_layer_slice)."""
        return cls(make(C.gan_layer_slice, first, count))

    @classmethod
    def tile(cls, height, width):
        """A vector repeated at every pixel: (c, 1, 1) -> (c, height, width); a class as
        constant feature maps is the tile of its one-hot vector (gan_layer_tile)."""
        return cls(make(C.gan_layer_tile, height, width))

    @classmethod
    def upsample(cls, factor):
        """Nearest-neighbour upsampling: (c, h, w) -> (c, h * factor, w * factor), factor in
        [1, 16] (gan_layer_upsample)."""
        return cls(make(C.gan_layer_upsample, factor))

    @classmethod
    def avgpool(cls, size):
        """Average pooling over size x size blocks at stride size (size in [1, 16]): (c, h,
        w) -> (c, h / size, w / size); the net refuses a height or width size does not
        divide (gan_layer_avgpool)."""
        return cls(make(C.gan_layer_avgpool, size))

    @classmethod
    def global_sum(cls):
        """The sum over all pixels of each channel: (c, h, w) -> (c, 1, 1) (SNGAN's D ends
        with it) (gan_layer_global_sum)."""
        return cls(make(C.gan_layer_global_sum))

    @classmethod
    def modulate(cls):
        """Feature-wise modulation of two inputs, x (C, H, W) and s of 2C values (any shape):
        y = x * (1 + s[:C]) + s[C:], channel by channel at every pixel. After a batch norm
        without its affine (set_bias(False)) it is conditional batch norm, s a dense layer
        of the class. Add it with Net.add(layer, [x_node, s_node]) (gan_layer_modulate)."""
        return cls(make(C.gan_layer_modulate))

    @classmethod
    def dot(cls):
        """The inner product of two inputs of equal size, one value per row: (1, 1, 1), the
        projection discriminator's term. Add it with Net.add(layer, [a, b]) (gan_layer_dot)."""
        return cls(make(C.gan_layer_dot))

    def set_bias(self, on):
        """Keep (True) or drop (False) the biases of a dense or (transposed) convolution
        layer not yet in a net: one followed by a batch norm needs none. On a batch norm,
        its whole affine (scales and shifts; libgan 0.3): without it the layer gives the
        normalised input, for a modulate layer to scale and shift. Returns self."""
        C.gan_layer_set_bias(self._ptr, 1 if on else 0)
        return self

    def spectral_norm(self, power_iterations=1):
        """Spectral normalization (Miyato et al. 2018) of a dense, maxout or (transposed)
        convolution layer not yet in a net: it runs on W / sigma(W), sigma estimated by
        power_iterations steps (in [1, 64]) per training forward; its vectors are state
        (Net.state). Returns self (gan_layer_spectral_norm)."""
        C.gan_layer_spectral_norm(self._ptr, power_iterations)
        return self

    @property
    def kind(self):
        """'dense', 'maxout', 'activation', 'dropout', 'reshape', 'conv2d', 'conv2d_transpose',
        'batchnorm', 'concat', 'add', 'slice', 'tile', 'upsample', 'avgpool', 'global_sum',
        'modulate', 'dot', or None for a kind this binding does not name."""
        return KINDS.get(C.gan_layer_kind(self._ptr))

    @property
    def in_dim(self):
        """The width of an input row, the first input's for a layer of several (0 for a layer
        that adopts its input's shape, activation or dropout, not yet in a net)."""
        return C.gan_layer_in_dim(self._ptr)

    @property
    def out_dim(self):
        """The width of an output row (0 for an activation or dropout layer not yet in a net)."""
        return C.gan_layer_out_dim(self._ptr)

    @property
    def num_params(self):
        """The number of parameters (weights and biases)."""
        return C.gan_layer_num_params(self._ptr)


def _shape(fn, net):
    c, h, w = c_size(), c_size(), c_size()
    fn(net, ctypes.byref(c), ctypes.byref(h), ctypes.byref(w))
    return c.value, h.value, w.value


def _number(value, where, what):
    """A node or layer number for C: an int (TypeError otherwise), not negative (ValueError:
    ctypes would pass it on as a huge size_t)."""
    try:
        number = operator.index(value)
    except TypeError:
        raise TypeError("%s: a %s number must be an int, not %s" % (where, what, type(value).__name__)) from None
    if number < 0:
        raise ValueError("%s: %s %d is negative (%s)" % (where, what, number, "node 0 is the input, node k layer "
                                                         "k - 1's output" if what == "node" else "layers count from 0"))
    return number


def _image(shape):
    """(height, width, channels), the shape of an input row as an image, or None for a vector."""
    c, h, w = shape
    return (h, w, c) if h * w > 1 else None


class Net(Handle):
    """A feed-forward net (gan_net) with three flat buffers: parameters, their gradients,
    and state (batch-norm running statistics, spectral-norm vectors).

    Net(in_dim) takes vectors, Net.image(channels, height, width) images (rows of H*W*C
    floats, channels last). params, grads and state are live views of the buffers: the
    net refuses close() and add() (BufferError) while one of them is alive.

    A net is a graph of nodes: node 0 is the input, node k the output of layer k - 1 (the
    k-th added). Net.add(layer) reads the last node (a chain); Net.add(layer, inputs)
    reads the nodes it names, e.g. a residual block:

        n = Net(8)                                          # node 0
        n.add(Layer.dense(8, 8)).add(Layer.activation('relu')).add(Layer.dense(8, 8))  # 1-3
        n.add(Layer.add(2), [3, 0])                         # node 4: branch + input

    node_shape(k) and layer_inputs(i) describe the graph; the net's output is its last
    node. A node read by several layers gets the sum of their gradients in backward."""
    _free = staticmethod(C.gan_net_free)
    _view_sources = "Net.params, grads or state"

    def __init__(self, in_dim=None, _handle=None):
        super().__init__(_handle if _handle is not None else make(C.gan_net_create, in_dim))
        self._rng = None  # an Rng lent with set_rng
        self._batch = None  # rows of the last Net.forward: the batch backward differentiates
        self._out_cols = None  # and the width of its output (forward_to stops early)

    @classmethod
    def image(cls, channels, height, width):
        """An empty net taking images of height x width pixels of channels values, a row
        being H*W*C floats, channels last; from PyTorch's NCHW: x.permute(0, 2, 3, 1)
        (gan_net_create_image)."""
        return cls(_handle=make(C.gan_net_create_image, channels, height, width))

    def _release(self):
        super()._release()
        if self._rng is not None:
            self._rng._give_back()
            self._rng = None

    def add(self, layer, inputs=None):
        """Append a Layer; the net owns it from then on (on failure Python still does). Returns
        self; the layer's output is node num_layers.

        inputs: None reads the last node (the net's output so far; gan_net_add), else the
        node numbers the layer reads, in the order it takes them, a list or a single int
        (gan_net_add_from): node 0 is the input, node k the output of layer k - 1. concat,
        add, modulate and dot need them. A node that does not exist yet, a count the layer
        does not take or shapes that do not fit raise GanError(EINVAL) with the library's
        message naming the nodes; a negative number ValueError. The C library may move the
        buffers: BufferError while a view of params, grads or state is alive."""
        if inputs is None:
            self._check_no_views("Net.add")
            C.gan_net_add(self._ptr, layer._ptr)
        else:
            try:
                nodes = [operator.index(inputs)]
            except TypeError:
                nodes = list(inputs)
            nodes = [_number(node, "Net.add", "node") for node in nodes]
            self._check_no_views("Net.add")
            C.gan_net_add_from(self._ptr, layer._ptr, (c_size * max(len(nodes), 1))(*nodes), len(nodes))
        layer._h = None  # moved: the net frees it
        return self

    def node_shape(self, node):
        """The shape (channels, height, width) of node `node`: 0 the input, k the output of
        layer k - 1, in [0, num_layers] (GanError EINVAL beyond; gan_net_node_shape)."""
        c, h, w = c_size(), c_size(), c_size()
        C.gan_net_node_shape(self._ptr, _number(node, "Net.node_shape", "node"), ctypes.byref(c), ctypes.byref(h),
                             ctypes.byref(w))
        return c.value, h.value, w.value

    def layer_inputs(self, index):
        """The node numbers layer `index` (in [0, num_layers); GanError EINVAL beyond) reads,
        in the order it takes them: [index] for a layer added without inputs
        (gan_net_layer_inputs)."""
        index = _number(index, "Net.layer_inputs", "layer")
        n, cap = c_size(), 16  # the most inputs a layer of libgan 0.3 takes
        while True:
            nodes = (c_size * cap)()
            try:
                C.gan_net_layer_inputs(self._ptr, index, nodes, cap, ctypes.byref(n))
            except GanError:
                if n.value <= cap:
                    raise
                cap = n.value  # a later library's layer of more inputs
                continue
            return list(nodes[:n.value])

    @property
    def in_dim(self):
        """The width of an input row."""
        return C.gan_net_in_dim(self._ptr)

    @property
    def out_dim(self):
        """The width of an output row (the input width for a net without layers)."""
        return C.gan_net_out_dim(self._ptr)

    @property
    def in_shape(self):
        """The shape of an input row, (channels, height, width); (in_dim, 1, 1) for vectors."""
        return _shape(C.gan_net_in_shape, self._ptr)

    @property
    def out_shape(self):
        """The shape of an output row, (channels, height, width): the last layer's, (n, 1, 1)
        after a dense layer; the input shape for a net without layers."""
        return _shape(C.gan_net_out_shape, self._ptr)

    @property
    def num_params(self):
        """The number of parameters, the length of params and grads."""
        return C.gan_net_num_params(self._ptr)

    @property
    def num_state(self):
        """The number of state values, the length of state (0 without batch norm or spectral norm)."""
        return C.gan_net_num_state(self._ptr)

    @property
    def num_layers(self):
        """The number of layers."""
        return C.gan_net_num_layers(self._ptr)

    def layers(self):
        """[{'kind', 'in_dim', 'out_dim', 'num_params', 'offset', 'inputs'}] for each layer,
        inputs the node numbers it reads (layer_inputs)."""
        out = []
        for i in range(self.num_layers):
            layer = C.gan_net_layer(self._ptr, i)
            off, cnt = c_size(), c_size()
            C.gan_net_layer_params(self._ptr, i, ctypes.byref(off), ctypes.byref(cnt))
            out.append({"kind": KINDS.get(C.gan_layer_kind(layer)), "in_dim": C.gan_layer_in_dim(layer),
                        "out_dim": C.gan_layer_out_dim(layer), "num_params": cnt.value, "offset": off.value,
                        "inputs": self.layer_inputs(i)})
        return out

    def init(self, rng, scheme="he", scale=1.0):
        """Initialise every parameter and the state from rng: INIT_* or 'uniform', 'xavier',
        'he', 'dcgan' (weights normal(0, 0.02 scale), batch-norm scales normal(1, 0.02 scale))."""
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
        """y = net(x) for a batch x of shape (batch, in_dim) (an image net's also (batch,
        height, width, channels); or a flat buffer of whole rows); y has shape (batch,
        out_dim), rows of an image output being H*W*C values."""
        buf, batch = _arrays.floats_in(x, "Net.forward: x", self.in_dim, image=_image(self.in_shape))
        y = _arrays.zeros(batch, self.out_dim)
        C.gan_net_forward(self._ptr, buf, batch, _arrays.writable(y, "y")[0], 1 if train else 0)
        self._batch, self._out_cols = batch, self.out_dim
        return y

    def forward_to(self, x, depth):
        """The output of the first depth layers (0 to num_layers) in evaluation mode, of
        shape (batch, that layer's out_dim): a classifier's penultimate layer as features,
        say. backward() after it differentiates those layers (gan_net_forward_to)."""
        buf, batch = _arrays.floats_in(x, "Net.forward_to: x", self.in_dim, image=_image(self.in_shape))
        if not 0 <= depth <= self.num_layers:  # needed before the call, to size y
            raise ValueError("Net.forward_to: depth %d is not in [0, %d]" % (depth, self.num_layers))
        cols = C.gan_layer_out_dim(C.gan_net_layer(self._ptr, depth - 1)) if depth > 0 else self.in_dim
        y = _arrays.zeros(batch, cols)
        C.gan_net_forward_to(self._ptr, buf, batch, depth, _arrays.writable(y, "y")[0])
        self._batch, self._out_cols = batch, cols
        return y

    def backward(self, dy, want_dx=True):
        """Backward pass for the last forward (or forward_to): dy has the shape of that
        call's output. Adds to the gradients; returns dx (batch, in_dim), or None."""
        if self._batch is None:  # C would differentiate a forward whose batch Python does not know
            raise ValueError("Net.backward: no Net.forward to differentiate (a trainer's runs do not count)")
        cols = self._out_cols
        image = _image(self.out_shape) if cols == self.out_dim else None
        buf, batch = _arrays.floats_in(dy, "Net.backward: dy", cols, self._batch, image=image)
        dx = _arrays.zeros(batch, self.in_dim) if want_dx else None
        C.gan_net_backward(self._ptr, buf, _arrays.writable(dx, "dx")[0] if want_dx else None)
        return dx

    def zero_grads(self):
        """Set every gradient to 0 (backward adds to them)."""
        C.gan_net_zero_grads(self._ptr)

    @property
    def params(self):
        """A live, writable 1-D view of the flat parameter buffer (numpy, else a memoryview
        'f'). While it (or a view derived from it) is alive, close() and add() raise
        BufferError: the memory it shows is never freed or moved under it."""
        return _arrays.view(C.gan_net_params(self._ptr), self.num_params, None, self)

    @property
    def grads(self):
        """A live view of the flat gradient buffer, same layout and rules as params."""
        return _arrays.view(C.gan_net_grads(self._ptr), self.num_params, None, self)

    @property
    def state(self):
        """A live, writable view of the flat state buffer (batch-norm running means and
        variances, spectral-norm vectors; num_state values), with the rules of params."""
        return _arrays.view(C.gan_net_state(self._ptr), self.num_state, None, self)

    def get_state(self):
        """A copy of the state (1-D)."""
        return _arrays.copy(self.state)

    def set_state(self, values):
        """Copy num_state floats (a 1-D sequence) into the state."""
        buf, _ = _arrays.floats_in(values, "Net.set_state: values", 1, self.num_state)
        if self.num_state:
            ctypes.memmove(C.gan_net_state(self._ptr), buf, 4 * self.num_state)

    def get_params(self):
        """A copy of the parameters (1-D)."""
        return _arrays.copy(self.params)

    def set_params(self, values):
        """Copy num_params floats (a 1-D sequence) into the parameters."""
        buf, _ = _arrays.floats_in(values, "Net.set_params: values", 1, self.num_params)
        if self.num_params:
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

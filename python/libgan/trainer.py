"""The minimax trainer."""

import ctypes
import numbers
import os
import weakref

from . import _arrays
from ._capi import (AUGMENTS, DATA_FN, EINVAL, LOSSES, NOISE_FN, NORM_STATS, PENALTIES, SAMPLER_FN, STEP_FN, STREAMS,
                    UPDATES, C, GanError, Handle, StepStats, c_size, enum, make, strerror)
from .core import Optim, Rng
from .data import Sampler

# The C examples' recipe (examples/mixture2d.c, cgan.c, cpp/ring.cpp), which the C
# trainer's own defaults (the paper's: batch 100, uniform noise) do not follow.
BATCH_SIZE, NOISE_STD, LOSS = 256, 1.0, "non_saturating"


class Trainer(Handle):
    """The minimax trainer (gan_trainer). Borrows g, d, opt_g and opt_d and keeps them alive.

    Starts from the C examples' recipe rather than the C trainer's bare defaults: Adam
    (lr 1e-3, betas 0.5 and 0.999) for an optimizer not given, batch 256, normal noise
    of std 1, the non-saturating loss. Optimizers it made itself are closed with it.

    Callbacks are Python callables, called on the thread that called step/run/generate:
      data(rng, x, cond, batch)   fill x (batch x data_dim) and, with a condition, cond
      noise(rng, z, batch, dim)   fill z (batch x dim)
      on_step(stats)              stats: a dict of gan_step_stats' fields
    rng is an Rng over the trainer's stream: draw only from it (or from a generator seeded
    from it) so a run is reproducible from the seed. x, z, cond are zeroed arrays of the
    package, numpy (rows, cols) or flat array('f') without numpy, copied into the
    trainer's buffers when the callback returns to go on: keeping one is harmless, but
    writing to it later changes nothing.
    Return None (or 0, False) to go on; a non-zero integer or True stops the call
    (GanError EUSER); other values are ignored. An exception is re-raised from the
    step/run/generate call. set_data also takes a Sampler, which runs in C.
    """
    _free = staticmethod(C.gan_trainer_free)

    def __init__(self, g, d, opt_g=None, opt_d=None, *, batch_size=BATCH_SIZE, noise_std=NOISE_STD, loss=LOSS,
                 cond_dim=0, seed=0):
        made = (opt_g is None, opt_d is None)
        opt_g = Optim.adam() if opt_g is None else opt_g
        opt_d = Optim.adam() if opt_d is None else opt_d
        super().__init__(make(C.gan_trainer_create, g._ptr, d._ptr, opt_g._ptr, opt_d._ptr))
        self.g, self.d, self.opt_g, self.opt_d = g, d, opt_g, opt_d
        self._borrowed = (g, d, opt_g, opt_d)
        for obj in self._borrowed:
            obj._lend()
        self._owned = [o for o, m in zip((opt_g, opt_d), made) if m]  # closed with the trainer
        self._pending = None  # an exception raised in a callback, re-raised after the C call
        self._data_cb = self._noise_cb = None  # the ctypes thunks: C keeps only their addresses
        self._sampler = None  # a Sampler lent as the data source
        self._group = None  # the ThreadGroup of the comm set with set_comm
        self.set_batch_size(batch_size)
        self.set_noise_normal(noise_std)
        self.set_loss(loss)
        self.set_seed(seed)
        if cond_dim:
            self.set_cond_dim(cond_dim)

    def _release(self):
        super()._release()
        for obj in getattr(self, "_borrowed", ()):
            obj._give_back()
        self._borrowed = ()
        self._lend_sampler(None)
        self._lend_group(None)
        for opt in getattr(self, "_owned", ()):
            opt.close()
        self._owned = []

    def _lend_group(self, group):
        if group is not None:
            group._lend()
        if getattr(self, "_group", None) is not None:
            self._group._give_back()
        self._group = group

    def _lend_sampler(self, sampler):
        if sampler is not None:
            sampler._lend()
        if getattr(self, "_sampler", None) is not None:
            self._sampler._give_back()
        self._sampler = sampler

    # -- callbacks
    def _callback(self, fn, adapt):
        """A C callback calling fn(*args) for (args, outs) = adapt(t, *c_args), with
        exceptions caught and stored. outs are (C address, array of the package) pairs: fn
        fills arrays the package owns, copied to the trainer's buffers when it returns to
        go on, so that no view of the trainer's memory outlives the call. The thunk holds
        the trainer weakly (no reference cycle through it)."""
        me = weakref.ref(self)

        def thunk(*c_args):
            t = me()
            if t is None or t._pending is not None:
                return 1
            try:
                args, outs = adapt(t, *c_args)
                rc = fn(*args)
                if isinstance(rc, numbers.Integral) and rc:
                    return 1
                for addr, buf in outs:
                    _arrays.copy_into(addr, buf)
                return 0
            except BaseException as e:  # noqa: B036 -- KeyboardInterrupt too: stop the C loop cleanly
                t._pending = e
                return 1
        return thunk

    def _check_sampler(self, where):
        """The C sampler writes its data set's widths unchecked: refuse before it overruns."""
        s = self._sampler
        if s is None:
            return
        ds = s.dataset
        if ds.dim != self.data_dim:
            raise ValueError("%s: the Sampler's rows have %d values, the trainer's data rows %d"
                             % (where, ds.dim, self.data_dim))
        if s.one_hot and ds.num_classes != self.cond_dim:
            raise ValueError("%s: the Sampler's one-hot conditions have %d values, the trainer's condition rows %d "
                             "(set_cond_dim)" % (where, ds.num_classes, self.cond_dim))

    def _call(self, func, *args):
        """Call a C function that may run callbacks; re-raise what a callback raised."""
        self._pending = None
        try:
            return func(*args)
        except GanError:
            if self._pending is None:
                raise
        finally:
            self.g._batch = self.d._batch = None  # the trainer ran them: Net.backward has no forward of its own
            pending, self._pending = self._pending, None
            if pending is not None:
                raise pending

    @property
    def data_dim(self):
        """The width of a data row (gan_trainer_data_dim: G's output width)."""
        return C.gan_trainer_data_dim(self._ptr)

    @property
    def cond_dim(self):
        """The width of a condition row (gan_trainer_cond_dim; 0 without conditions)."""
        return C.gan_trainer_cond_dim(self._ptr)

    @property
    def noise_dim(self):
        """The width of a noise row (G's input width minus cond_dim)."""
        return C.gan_trainer_noise_dim(self._ptr)

    def set_data(self, fn):
        """Set the data source (required before training): a Sampler over a Dataset (kept
        alive while set; step and run check its widths against data_dim and cond_dim),
        or a callback fn(rng, x, cond, batch)."""
        if isinstance(fn, Sampler):
            C.gan_trainer_set_data(self._ptr, SAMPLER_FN, fn._ptr)
            self._lend_sampler(fn)
            self._data_cb = None
            return

        def adapt(t, payload, rng, x, cond, batch):
            c = t.cond_dim
            xs = _arrays.zeros(batch, t.data_dim)
            cs = _arrays.zeros(batch, c) if c and cond else None
            outs = [(x, xs)] + ([(cond, cs)] if cs is not None else [])
            return (Rng._borrowed(rng, t), xs, cs, batch), outs
        cb = DATA_FN(self._callback(fn, adapt))
        C.gan_trainer_set_data(self._ptr, cb, None)
        self._data_cb = cb
        self._lend_sampler(None)

    def set_noise(self, fn):
        """Set a custom noise callback fn(rng, z, batch, dim)."""
        def adapt(t, payload, rng, z, batch, dim):
            zs = _arrays.zeros(batch, dim)
            return (Rng._borrowed(rng, t), zs, batch, dim), [(z, zs)]
        cb = NOISE_FN(self._callback(fn, adapt))
        C.gan_trainer_set_noise(self._ptr, cb, None)
        self._noise_cb = cb

    def set_noise_uniform(self, a=1.0):
        """Built-in noise, uniform in [-a, a]."""
        C.gan_trainer_set_noise_uniform(self._ptr, a)
        self._noise_cb = None

    def set_noise_normal(self, std=1.0):
        """Built-in noise, normal with mean 0 and standard deviation std."""
        C.gan_trainer_set_noise_normal(self._ptr, std)
        self._noise_cb = None

    # -- settings
    def set_batch_size(self, n):
        """Samples per batch; D sees twice as many rows."""
        C.gan_trainer_set_batch_size(self._ptr, n)

    def set_d_steps(self, k):
        """D updates per step (alternating updates)."""
        C.gan_trainer_set_d_steps(self._ptr, k)

    def set_g_steps(self, k):
        """G updates per step (alternating updates)."""
        C.gan_trainer_set_g_steps(self._ptr, k)

    def set_update(self, mode):
        """UPDATE_* or 'alternating', 'simultaneous', 'reuse_fakes'."""
        C.gan_trainer_set_update(self._ptr, enum(mode, UPDATES, "update mode"))

    def set_loss(self, loss):
        """LOSS_* or 'minimax', 'non_saturating', 'least_squares', 'hinge', 'wasserstein'."""
        C.gan_trainer_set_loss(self._ptr, enum(loss, LOSSES, "loss"))

    def set_seed(self, seed):
        """Reseed every stream from seed and restart the step count at 0."""
        C.gan_trainer_set_seed(self._ptr, seed)

    def set_cond_dim(self, c):
        """The condition width c (0: none): G's input is noise + c, D's is data + c."""
        C.gan_trainer_set_cond_dim(self._ptr, c)

    def set_label_smoothing(self, real_target):
        """One-sided label smoothing: D's target for real data, in (0, 1]."""
        C.gan_trainer_set_label_smoothing(self._ptr, real_target)

    def set_clip(self, c):
        """D's weight clipping range [-c, c] for the Wasserstein loss."""
        C.gan_trainer_set_clip(self._ptr, c)

    def set_gradient_penalty(self, kind, weight=10.0, interval=1):
        """A gradient penalty on D: PENALTY_* or 'none', 'wgan_gp' (weight * (|grad D| - 1)^2
        on interpolates), 'r1' (weight / 2 * |grad D|^2 on real rows). weight: finite, > 0
        (ignored for 'none'); interval: take it on every interval-th step (steps 0, interval,
        ... counted before the step) with its weight times interval. Not with batch norm in
        D (GanError EINVAL). Saved in checkpoints; step stats report penalty and
        input_grad_norm."""
        C.gan_trainer_set_gradient_penalty(self._ptr, enum(kind, PENALTIES, "gradient penalty"), weight, interval)

    def set_augment(self, policy):
        """DiffAugment on every row D sees, real and generated, in D's updates and G's, with
        G's gradient through it: AUGMENT_* bits OR-ed, or a comma-separated string of
        'color', 'translation', 'cutout' ('color,translation,cutout' is the paper's choice
        for small sets), or 'none' / 0. The data rows must be images in [-1, 1] (D made
        with an image shape, or G ending in one): otherwise GanError EINVAL. Saved in
        checkpoints."""
        if isinstance(policy, str):
            bits = 0
            for name in filter(None, (p.strip() for p in policy.split(","))):
                if name == "none":
                    continue
                if name not in AUGMENTS:
                    raise ValueError("unknown augmentation %r; one of: none, %s" % (name, ", ".join(AUGMENTS)))
                bits |= AUGMENTS[name]
            policy = bits
        C.gan_trainer_set_augment(self._ptr, policy)

    def set_ema(self, decay):
        """An exponential moving average of G's weights for generate (0 turns it off)."""
        C.gan_trainer_set_ema(self._ptr, decay)

    def set_generate_stats(self, stats):
        """What batch norm in G uses when generate() runs it: STATS_* or 'running' (the
        running statistics, evaluation mode; the default) or 'batch' (each generated
        batch's own, as the DCGAN reference code samples). Saved in checkpoints."""
        C.gan_trainer_set_generate_stats(self._ptr, enum(stats, NORM_STATS, "batch-norm statistics"))

    def set_comm(self, comm):
        """Train data-parallel with the other ranks of comm's ThreadGroup (a Comm from
        ThreadGroup.comm(rank)), or alone again with None. The batch size is the global
        batch and must divide by the rank count; every rank must then make the same calls
        in the same order (step, run and sync are collective), each on its own thread. Call
        sync() before the first step. The trainer keeps the group alive."""
        C.gan_trainer_set_comm(self._ptr, ctypes.byref(comm._struct) if comm is not None else None)
        self._lend_group(comm.group if comm is not None else None)

    def sync(self):
        """Make every rank's trainer rank 0's (nets, optimizers, settings, streams, EMA, step
        count). Collective: every rank calls it; without a comm it does nothing."""
        C.gan_trainer_sync(self._ptr)

    def rng(self, stream):
        """The trainer's stream STREAM_* or 'init', 'data', 'noise', 'dropout' (borrowed)."""
        h = C.gan_trainer_rng(self._ptr, enum(stream, STREAMS, "stream"))
        if not h:
            raise GanError(EINVAL, "gan_trainer_rng: %s: no stream %r" % (strerror(EINVAL), stream))
        return Rng._borrowed(h, self)

    @property
    def steps(self):
        """The number of steps completed."""
        return C.gan_trainer_steps(self._ptr)

    # -- training
    def step(self):
        """One training step; returns its statistics as a dict."""
        stats = StepStats(size=ctypes.sizeof(StepStats))
        self._check_sampler("Trainer.step")
        self._call(C.gan_trainer_step, self._ptr, ctypes.byref(stats))
        return stats.to_dict()

    def run(self, steps, on_step=None):
        """Run `steps` steps, calling on_step(stats_dict) after each when given."""
        cb = STEP_FN()  # NULL
        if on_step is not None:
            cb = STEP_FN(self._callback(on_step, lambda t, payload, s: ((s.contents.to_dict(),), ())))
        self._check_sampler("Trainer.run")
        self._call(C.gan_trainer_run, self._ptr, steps, cb, None)

    def generate(self, n, z=None, cond=None):
        """n samples, shape (n, data_dim), in evaluation mode from noise z of shape
        (n, noise_dim), or from the noise stream when z is None; cond of shape
        (n, cond_dim) when conditioned."""
        zbuf = cbuf = None
        if z is not None:
            zbuf, _ = _arrays.floats_in(z, "Trainer.generate: z", self.noise_dim, n)
        if cond is not None:
            if not self.cond_dim:
                raise ValueError("Trainer.generate: cond given, but the trainer has no condition (set_cond_dim)")
            cbuf, _ = _arrays.floats_in(cond, "Trainer.generate: cond", self.cond_dim, n)
        out = _arrays.zeros(n, self.data_dim)
        self._call(C.gan_trainer_generate, self._ptr, zbuf, cbuf, n, _arrays.writable(out, "out")[0])
        return out

    # -- checkpoints
    def save(self, path):
        """gan_trainer_save: a full checkpoint (not the callbacks), written atomically."""
        C.gan_trainer_save(self._ptr, os.fsencode(path))

    def load(self, path):
        """gan_trainer_load: restore a checkpoint into this trainer (same architectures)."""
        C.gan_trainer_load(self._ptr, os.fsencode(path))

    def to_bytes(self):
        """gan_trainer_save_mem: the checkpoint's bytes."""
        size = c_size()
        C.gan_trainer_save_mem(self._ptr, None, 0, ctypes.byref(size))
        buf = ctypes.create_string_buffer(size.value)
        C.gan_trainer_save_mem(self._ptr, buf, size.value, ctypes.byref(size))
        return buf.raw[:size.value]

    def load_bytes(self, data):
        """gan_trainer_load_mem: restore a checkpoint from bytes of to_bytes() or a file."""
        data = bytes(data)
        C.gan_trainer_load_mem(self._ptr, data, len(data))

"""Data-parallel training on threads of one process: a ThreadGroup and its Comms.

Every rank (thread) holds its own Trainer over its own nets and optimizers, built alike;
each computes the gradients of its share of the global batch, the gradients are summed
through memory in rank order (so every rank gets the same bits), and every rank applies
the same update. Python threads drive it: ctypes releases the GIL for the duration of
each C call, so a rank waiting for the others inside Trainer.step/run/sync holds no lock
that another rank needs; Python callbacks take the GIL only while they run. Run the BLAS
single-threaded beside it (OPENBLAS_NUM_THREADS=1). See docs/scale.md and docs/ffi.md.

    group = gan.ThreadGroup(2)
    def rank_main(rank):                     # on one thread per rank
        t = make_trainer()                   # each rank its own nets, optimizers, trainer
        t.set_comm(group.comm(rank))
        t.sync()                             # every rank starts from rank 0's trainer
        t.run(steps)
"""

import ctypes

from ._capi import C, CommStruct, Handle, make


class ThreadGroup(Handle):
    """A group of `ranks` threads that train together (gan_thread_group, 1 to 1024 ranks).
    Trainers given one of its comms borrow it: close() raises GanError(ESTATE) until they
    are closed or given another comm."""
    _free = staticmethod(C.gan_thread_group_free)

    def __init__(self, ranks):
        super().__init__(make(C.gan_thread_group_create, ranks))
        self._ranks = ranks

    @property
    def ranks(self):
        """The number of ranks (threads) in the group."""
        return self._ranks

    def comm(self, rank):
        """The collectives of rank `rank` (in [0, ranks)), for Trainer.set_comm on the one
        thread that takes that rank."""
        return Comm(self, rank)


class Comm:
    """The collectives of one rank of a ThreadGroup (struct gan_comm, filled by
    gan_comm_threads). Trainer.set_comm copies it and keeps the group alive."""

    def __init__(self, group, rank):
        self._struct = CommStruct()
        C.gan_comm_threads(ctypes.byref(self._struct), group._ptr, rank)
        self.group = group

    @property
    def rank(self):
        """This rank, in [0, ranks)."""
        return self._struct.rank

    @property
    def ranks(self):
        """The number of ranks."""
        return self._struct.ranks

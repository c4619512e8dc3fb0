"""Arrays between Python and C, with numpy or without it (internal).

Inputs are checked for their shape, not only their size: a 2-D (or image-shaped) input
must have exactly the expected shape, so a (2, 3) array where (3, 2) was meant is a
ValueError naming the argument and both shapes. A 1-D input carries no shape to check:
it is taken as rows laid end to end (array('f') without numpy, a flat list).
"""

import array
import ctypes
import numbers

try:
    import numpy
except ImportError:
    numpy = None

from ._capi import FLOATS, c_float, c_int

_FLOAT_FORMATS = ("f", "<f", "=f", "@f")


def text(shape):
    """A shape as Python prints it, None shown as n: (n, 2), (5,)."""
    return "(%s%s)" % (", ".join("n" if d is None else str(d) for d in shape), "," if len(shape) == 1 else "")


def _nested(x, where):
    """(shape, flat list) of a nested sequence of numbers."""
    if isinstance(x, (str, bytes)):
        raise TypeError("%s: expected numbers, got %r" % (where, x))
    x = list(x)
    if all(isinstance(v, numbers.Real) for v in x):
        return (len(x),), x
    parts = [_nested(v, where) for v in x]
    inner = parts[0][0]
    if any(p[0] != inner for p in parts):
        raise ValueError("%s is ragged: its rows have shapes %s" % (where, sorted({text(p[0]) for p in parts})))
    return (len(parts),) + inner, [v for _, flat in parts for v in flat]


def read(x, where):
    """(float * over x's float32 memory or a float32 copy of it, x's shape). The pointer
    keeps whatever it points into alive. `where` names x in messages."""
    if numpy is not None:
        a = numpy.ascontiguousarray(x, dtype=numpy.float32)  # a view when x already is one
        return a.ctypes.data_as(FLOATS), a.shape
    try:
        m = memoryview(x)
    except TypeError:
        m = None
    if m is not None and m.format in _FLOAT_FORMATS and m.c_contiguous:
        n = m.nbytes // 4
        return ((c_float * n).from_buffer_copy(m) if m.readonly else (c_float * n).from_buffer(m)), m.shape
    if isinstance(x, numbers.Real):
        shape, flat = (1,), [x]
    else:
        shape, flat = _nested(m.tolist() if m is not None else x, where)
    a = array.array("f", flat)
    return (c_float * len(a)).from_buffer(a), shape


def rows_of(where, shape, cols, rows=None, image=None):
    """The number of rows of an input of this shape, checked against rows x cols (rows
    None: any). Accepted: (rows, cols); (rows,) + image for an image shape (h, w, c),
    also without c when it is 1; 1-D of rows * cols values."""
    if len(shape) == 1:
        size = shape[0]
        if cols and size % cols == 0 and (rows is None or size == rows * cols):
            return size // cols
        want = "whole rows of %d" % cols if rows is None else "%d x %d = %d" % (rows, cols, rows * cols)
        raise ValueError("%s has %d values, expected %s" % (where, size, want))
    allowed = [(rows, cols)]
    if image is not None:
        allowed.append((rows,) + tuple(image))
        if image[-1] == 1:
            allowed.append((rows,) + tuple(image[:-1]))
    for want in allowed:
        if len(want) == len(shape) and all(w is None or w == s for w, s in zip(want, shape)):
            return shape[0]
    raise ValueError("%s has shape %s, expected %s" % (where, text(shape), " or ".join(map(text, allowed))))


def floats_in(x, where, cols, rows=None, image=None):
    """(float * for C to read, number of rows) for x, checked by rows_of()."""
    ptr, shape = read(x, where)
    return ptr, rows_of(where, shape, cols, rows, image)


def ints_in(x, where, n):
    """int * over n ints of x (a 1-D sequence of integers)."""
    if numpy is not None and isinstance(x, numpy.ndarray):
        if x.dtype.kind not in "iu":
            raise TypeError("%s must hold integers, not %s" % (where, x.dtype))
        if x.size and (x.min() < -2 ** 31 or x.max() >= 2 ** 31):
            raise ValueError("%s holds values beyond a C int" % where)
        x = numpy.ascontiguousarray(x, dtype=numpy.intc)
        shape, ptr = x.shape, x.ctypes.data_as(ctypes.POINTER(c_int))
    else:
        try:
            a = array.array("i", x)
        except OverflowError:
            raise ValueError("%s holds values beyond a C int" % where) from None
        shape, ptr = (len(a),), (c_int * len(a)).from_buffer(a)
    if shape != (n,):
        raise ValueError("%s has shape %s, expected %s" % (where, text(shape), text((n,))))
    return ptr


def writable(x, where):
    """(float * over x's memory, its number of floats) for C to write into x."""
    if numpy is not None and isinstance(x, numpy.ndarray):
        if x.dtype != numpy.float32 or not x.flags.c_contiguous or not x.flags.writeable:
            raise TypeError("%s must be a writable, C-contiguous float32 array" % where)
        return x.ctypes.data_as(FLOATS), x.size
    m = memoryview(x)
    if m.format not in _FLOAT_FORMATS or not m.c_contiguous or m.readonly:
        raise TypeError("%s must be a writable, C-contiguous float32 buffer (numpy float32, array('f'), "
                        "memoryview 'f')" % where)
    n = m.nbytes // 4
    return (c_float * n).from_buffer(m), n


def zeros(rows, cols):
    """A zeroed float32 buffer: numpy (rows, cols), else a flat array('f') of rows * cols."""
    if numpy is not None:
        return numpy.zeros((rows, cols), dtype=numpy.float32)
    return array.array("f", bytes(4 * rows * cols))


def view(addr, rows, cols, owner, readonly=False):
    """Memory of `owner` (a Handle) at addr as float32: numpy (rows, cols) (or 1-D when
    cols is None), else a flat memoryview 'f'. The view (and every view derived from it:
    slices, reshapes, numpy.asarray) holds owner and counts as one of its views until the
    last of them is gone: owner.close() refuses meanwhile (Handle._check_no_views)."""
    n = rows * (cols or 1)
    if not addr or not n:  # an empty net has no buffer
        return numpy.zeros(0, numpy.float32) if numpy is not None else memoryview(bytearray()).cast("f")
    buf = (c_float * n).from_address(addr)
    owner._track(buf)
    if numpy is not None:
        a = numpy.frombuffer(buf, dtype=numpy.float32)
        a = a if cols is None else a.reshape(rows, cols)
        a.flags.writeable = not readonly
        return a
    m = memoryview(buf).cast("B").cast("f")
    return m.toreadonly() if readonly else m


def copy_into(addr, buf):
    """Copy a float32 buffer of this package (zeros(), a callback's array) to C memory."""
    ptr, n = writable(buf, "buf")
    ctypes.memmove(addr, ptr, 4 * n)


def copy(v):
    """A copy of a view: numpy array, else array('f')."""
    if numpy is not None:
        return v.copy()
    a = array.array("f")
    a.frombytes(v.cast("B"))
    return a


def flat(buf):
    """A flat 1-D view of an array this package returned or handed to a callback."""
    if numpy is not None and isinstance(buf, numpy.ndarray):
        return buf.reshape(-1)
    return buf


def bytes_out(pixels, shape):
    """A bytearray seen as `shape`: a numpy uint8 array, else a memoryview 'B' of that shape."""
    if numpy is not None:
        return numpy.frombuffer(pixels, dtype=numpy.uint8).reshape(shape)
    return memoryview(pixels).cast("B", shape)

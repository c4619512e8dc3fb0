"""Images: decode one PNG or JPEG with the library's conversion, write PNG files.

decode() runs gan_image_decode_mem: the file's bytes (PNG or JPEG, told by their first
bytes) become height x width x channels bytes, HWC, converted as gan.h states (alpha
onto white, or black with IMAGE_BLACK; grey and colour as PIL converts them; the
largest centred box of the target's aspect ratio, area averaging to shrink, bilinear to
enlarge; docs/images.md). write_png() runs gan_image_write_png, which replaces a file
atomically. Both take and give 8-bit pixels: numpy uint8 arrays, else array('B') and
buffers of bytes.
"""

import array
import ctypes
import os

from . import _arrays
from ._capi import C, IMAGE_BLACK, c_u8

__all__ = ["decode", "write_png", "pixel_limit", "IMAGE_BLACK"]

_BYTE_FORMATS = ("B", "b", "c", "<B", "=B", "@B")


def pixel_limit(log2):
    """The flag bits of GAN_IMAGE_PIXEL_LIMIT(log2), to OR into decode()'s flags: images
    of more than 2**log2 pixels (width x height, from the file's header) are refused
    before anything is allocated. log2 in [1, 40]; without it the limit is 2**27."""
    log2 = int(log2)
    if not 1 <= log2 <= 40:
        raise ValueError("pixel_limit: log2 must be in [1, 40], got %d" % log2)
    return log2 << 8


def decode(data, channels, height, width, flags=0):
    """gan_image_decode_mem: the PNG or JPEG file in `data` (bytes, bytearray or any
    buffer) converted to height x width x channels bytes (channels 1 for grey, 3 for RGB).
    flags: IMAGE_BLACK and pixel_limit(), OR-ed. Returns a numpy uint8 array of shape
    (height, width, channels), or without numpy a flat array('B') of those bytes in that
    order. A file that is not a PNG or JPEG image, broken or above the pixel limit raises
    GanError (EFORMAT) saying why."""
    if channels not in (1, 3):
        raise ValueError("decode: channels must be 1 or 3, got %r" % (channels,))
    if min(height, width) < 1:
        raise ValueError("decode: height and width must be positive, got %d and %d" % (height, width))
    src = bytes(data)
    n = height * width * channels
    np = _arrays.numpy
    if np is not None:
        out = np.empty((height, width, channels), dtype=np.uint8)
        ptr = out.ctypes.data_as(ctypes.POINTER(c_u8))
    else:
        out = array.array("B", bytes(n))
        ptr = (c_u8 * n).from_buffer(out)
    C.gan_image_decode_mem(ptr, src, len(src), channels, height, width, flags)
    return out


def write_png(path, pixels, shape=None):
    """gan_image_write_png: write 8-bit pixels as a PNG file, atomically (a file already at
    path is replaced whole or not at all). pixels: a uint8 array of shape (h, w) or (h, w,
    c), c being 1 (grey), 2 (grey + alpha), 3 (RGB) or 4 (RGBA), as decode() and
    image_grid() return them; or a flat buffer of bytes (array('B'), bytes) with
    shape=(h, w, c) given."""
    np = _arrays.numpy
    if np is not None and hasattr(pixels, "__array_interface__"):
        a = np.asarray(pixels)
        if a.dtype != np.uint8:
            raise TypeError("write_png: pixels must be uint8, not %s" % a.dtype)
        shape = tuple(a.shape) if shape is None else tuple(shape)
        a = np.ascontiguousarray(a)
        nbytes, ptr = a.nbytes, a.ctypes.data_as(ctypes.POINTER(c_u8))
    else:
        m = memoryview(pixels)
        if m.format not in _BYTE_FORMATS:
            raise TypeError("write_png: pixels must be bytes (format 'B'), not format %r" % m.format)
        shape = tuple(m.shape) if shape is None else tuple(shape)
        nbytes = m.nbytes
        ptr = (c_u8 * max(nbytes, 1)).from_buffer_copy(m.tobytes() if nbytes else b"\0")
    if len(shape) == 2:
        shape = shape + (1,)
    if len(shape) != 3 or shape[2] not in (1, 2, 3, 4) or min(shape) < 1:
        raise ValueError("write_png: pixels have shape %s, expected (h, w) or (h, w, c) with c in 1..4 "
                         "(a flat buffer needs shape=)" % _arrays.text(shape))
    h, w, c = shape
    if h * w * c != nbytes:
        raise ValueError("write_png: %d bytes for the shape %s (%d bytes)" % (nbytes, _arrays.text(shape), h * w * c))
    C.gan_image_write_png(os.fsencode(path), ptr, w, h, c)

#!/usr/bin/env python3
"""The package covers include/gan.h: every GAN_API function is bound (prototyped in
libgan/_capi.py with the header's argument and result types, and called by the package)
or listed with its reason in libgan._capi.EXCLUDED; every enum constant is exported with
the header's value, and every table of enum names (ACTS, INITS, KINDS ...) names every
value of its enum; the public structs have the header's fields, in order."""
import ctypes
import glob
import os
import re
import unittest

import libgan as gan
from libgan import _capi

HEADER = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "include", "gan.h")
PACKAGE = os.path.dirname(os.path.abspath(gan.__file__))

# Enum prefixes (after GAN_) with the package table of names that goes with each, named
# by the lower-case rest of the constant's name (GAN_LOSS_NON_SATURATING: "non_saturating").
TABLES = {"ACT_": "ACTS", "INIT_": "INITS", "LOSS_": "LOSSES", "UPDATE_": "UPDATES", "STREAM_": "STREAMS",
          "STATS_": "NORM_STATS", "SAMPLE_": "SAMPLE_MODES", "PENALTY_": "PENALTIES", "LAYER_": "KINDS"}

# The C types of the header as ctypes sees them (enums are ints).
SCALARS = {"int": ctypes.c_int, "unsigned": ctypes.c_uint, "float": ctypes.c_float, "double": ctypes.c_double,
           "size_t": ctypes.c_size_t, "uint64_t": ctypes.c_uint64, "uint32_t": ctypes.c_uint32}
ENUMS = {"gan_activation", "gan_init", "gan_loss", "gan_update", "gan_stream", "gan_sample_mode", "gan_norm_stats",
         "gan_penalty"}
CALLBACKS = {"gan_data_fn", "gan_noise_fn", "gan_step_fn"}


def header_text():
    """gan.h without its comments and preprocessor lines."""
    with open(HEADER) as f:
        text = f.read()
    text = re.sub(r"/\*.*?\*/", " ", text, flags=re.S)
    text = re.sub(r"//[^\n]*", " ", text)
    text = re.sub(r"^[ \t]*#(?:[^\n]*\\\n)*[^\n]*", " ", text, flags=re.M)
    return text


def split_params(params):
    """The parameters of a prototype's list, split at the commas outside parentheses."""
    out, depth, cur = [], 0, ""
    for ch in params:
        depth += ch == "("
        depth -= ch == ")"
        if ch == "," and depth == 0:
            out.append(cur.strip())
            cur = ""
        else:
            cur += ch
    out.append(cur.strip())
    return [] if out == ["void"] else out


def header_functions():
    """{name: (result type, [parameter types])} for every GAN_API function of gan.h."""
    funcs = {}
    for m in re.finditer(r"\bGAN_API\s+([^;()]*?)\b(gan_\w+)\s*\(([^;]*)\)\s*;", header_text()):
        result, name, params = m.group(1), m.group(2), m.group(3)
        funcs[name] = (re.sub(r"\bconst\b", "", result).replace(" ", ""), [normalise(p) for p in split_params(params)])
    return funcs


def normalise(param):
    """A parameter's type without const, its name or spaces: 'float*', 'size_t', 'gan_net*'."""
    p = re.sub(r"\bconst\b", " ", param)
    p = re.sub(r"\b\w+\s*$", "", p.strip()) if re.search(r"[\w*]\s+\**\s*\w+\s*$", p) else p
    return p.replace(" ", "")


def accepts(c_type, ct):
    """Whether the ctypes type ct passes the C type c_type ('float*', 'size_t' ...)."""
    if c_type.endswith("*"):
        return ct in (ctypes.c_void_p, ctypes.c_char_p) or (isinstance(ct, type) and issubclass(ct, ctypes._Pointer))
    if c_type in CALLBACKS:
        return isinstance(ct, type) and issubclass(ct, ctypes._CFuncPtr)
    if c_type in ENUMS:
        return ct is ctypes.c_int
    return SCALARS.get(c_type) is ct


def returns(c_type, f):
    """Whether the prototyped function f returns the C type c_type."""
    if c_type == "void":
        return f.restype is None
    if c_type == "int" and f.errcheck is _capi._errcheck:
        return f.restype is ctypes.c_int
    if c_type.endswith("*"):
        return f.restype in (ctypes.c_void_p, ctypes.c_char_p)
    return SCALARS.get(c_type) is f.restype


def package_calls():
    """The gan_* functions the package's modules call (C.gan_x or _lib.gan_x)."""
    called = set()
    for path in glob.glob(os.path.join(PACKAGE, "*.py")):
        with open(path) as f:
            called |= set(re.findall(r"\b(?:C|_lib)\.(gan_\w+)\b", f.read()))
    return called


def header_enums():
    """{name without GAN_: value} for every enum member of gan.h, with its enum's index."""
    members = {}
    for i, body in enumerate(re.findall(r"\benum\b[^{;]*\{([^}]*)\}", header_text())):
        for name, expr in re.findall(r"\bGAN_(\w+)\s*=\s*([^,]+)", body):
            members[name] = (eval(re.sub(r"\b(\d+)[uU]\b", r"\1", expr), {}), i)
    return members


@unittest.skipUnless(os.path.exists(HEADER), "include/gan.h is not at ../../include from the tests")
class TestCoverage(unittest.TestCase):
    def test_every_function_is_bound_or_excluded(self):
        funcs = header_functions()
        self.assertGreater(len(funcs), 100)
        protos = {p[0]: p for p in _capi._PROTOTYPES}
        called = package_calls()
        problems = []
        for name, (result, params) in sorted(funcs.items()):
            if name in getattr(_capi, "EXCLUDED", {}):
                if name in protos:
                    problems.append("%s: both bound and in EXCLUDED" % name)
                continue
            if name not in protos:
                problems.append("%s: neither prototyped in libgan/_capi.py nor in EXCLUDED" % name)
                continue
            f = getattr(gan.C, name)
            if f.argtypes is None or len(f.argtypes) != len(params):
                problems.append("%s: %s argument types for the header's %d" % (name, f.argtypes, len(params)))
            else:
                for i, (c_type, ct) in enumerate(zip(params, f.argtypes)):
                    if not accepts(c_type, ct):
                        problems.append("%s: argument %d is %s in gan.h, %s in _capi" % (name, i + 1, c_type, ct))
            if not returns(result, f):
                problems.append("%s: returns %s in gan.h, %s in _capi" % (name, result, f.restype))
            if name not in called:
                problems.append("%s: prototyped but called by no module of the package" % name)
        self.assertEqual(problems, [])

    def test_exclusions_are_real_and_explained(self):
        funcs = header_functions()
        for name, reason in getattr(_capi, "EXCLUDED", {"(no EXCLUDED)": ""}).items():
            self.assertTrue(name in funcs, "EXCLUDED names %s, which gan.h does not declare" % name)
            self.assertGreater(len(reason), 20, name)
        self.assertIn("gan_set_allocator", _capi.EXCLUDED)
        for name in {p[0] for p in _capi._PROTOTYPES} - set(funcs):
            self.fail("_capi prototypes %s, which gan.h does not declare" % name)

    def test_constants_match_the_header(self):
        members = header_enums()
        self.assertGreater(len(members), 40)
        for name, (value, _) in members.items():
            self.assertTrue(name in gan.__all__, "GAN_%s is not exported by the package" % name)
            self.assertEqual(getattr(gan, name), value, "GAN_%s" % name)
        exported = {n for n in gan.__all__ if re.fullmatch(r"[A-Z][A-Z0-9_]*", n) and isinstance(getattr(gan, n), int)}
        self.assertEqual(exported - set(members), set(), "constants the header does not have")

    def test_name_tables_cover_their_enums(self):
        members = header_enums()
        for prefix, table_name in TABLES.items():
            table = getattr(_capi, table_name, None)
            if table_name == "KINDS":  # value -> name
                table = {name: value for value, name in table.items()}
            want = {name[len(prefix):].lower(): value for name, (value, _) in members.items()
                    if name.startswith(prefix)}
            self.assertTrue(want, prefix)
            self.assertEqual(table, want, "_capi.%s, the names of GAN_%s*" % (table_name, prefix))

    def test_version_macros(self):
        with open(HEADER) as f:
            text = f.read()
        parts = [re.search(r"#define GAN_VERSION_%s (\d+)" % p, text).group(1) for p in ("MAJOR", "MINOR", "PATCH")]
        self.assertEqual(".".join(parts), gan.__version__)
        self.assertEqual(re.search(r'#define GAN_VERSION_STRING "([^"]+)"', text).group(1), gan.__version__)

    def test_structs_have_the_header_fields(self):
        text = header_text()
        for c_name, cls in (("gan_step_stats", _capi.StepStats), ("gan_comm", getattr(_capi, "CommStruct", None))):
            self.assertIsNotNone(cls, "no ctypes structure for %s" % c_name)
            body = re.search(r"typedef\s+struct\s+%s\s*\{(.*?)\}\s*%s\s*;" % (c_name, c_name), text, re.S).group(1)
            fields = [m.group(1) or m.group(2) for m in
                      re.finditer(r"\(\s*\*\s*(\w+)\s*\)\s*\([^;]*\)\s*;|(\w+)\s*;", body)]
            self.assertEqual([f[0] for f in cls._fields_], fields, c_name)


if __name__ == "__main__":
    unittest.main(verbosity=2)

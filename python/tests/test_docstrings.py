#!/usr/bin/env python3
"""Every public class, function, method and property of the package has a docstring."""
import inspect
import unittest

import libgan as gan


def public_members(cls):
    """(name, object) for what cls and its package bases define without a leading '_'."""
    for klass in cls.__mro__:
        if not klass.__module__.startswith("libgan"):
            continue
        for name, obj in vars(klass).items():
            if not name.startswith("_") and not isinstance(obj, (int, float, str, tuple, list, dict, type(None))):
                yield "%s.%s" % (klass.__name__, name), obj


class TestDocstrings(unittest.TestCase):
    def test_everything_public_is_documented(self):
        missing, checked = [], 0
        for name in gan.__all__:
            obj = getattr(gan, name)
            if not (inspect.isclass(obj) or inspect.isroutine(obj)):
                continue  # constants, numpy, C
            checked += 1
            if not inspect.getdoc(obj):
                missing.append(name)
            if inspect.isclass(obj):
                for member, m in public_members(obj):
                    checked += 1
                    doc = m.__doc__ if isinstance(m, property) else inspect.getdoc(getattr(m, "__func__", m))
                    if not (doc and doc.strip()):
                        missing.append(member)
        self.assertEqual(missing, [])
        self.assertGreater(checked, 100)

    def test_modules_are_documented(self):
        for module in (gan, gan.core, gan.trainer, gan.data, gan.evaluation, gan.scale):
            self.assertTrue(inspect.getdoc(module), module.__name__)


if __name__ == "__main__":
    unittest.main(verbosity=2)

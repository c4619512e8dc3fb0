"""A stand-in that makes `import numpy` fail: put this directory first on PYTHONPATH to
run the package as on a machine without numpy."""
raise ImportError("numpy is blocked here (python/tests/no_numpy)")

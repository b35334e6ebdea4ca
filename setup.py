"""The one compiled part: kernels for bulk embedding (index/_kernels.c). Metadata is in pyproject.toml.

The extension is optional: where it does not build (no C compiler, not x86-64), installation goes on and
index/fast_e5.py keeps torch's operations.
"""

from setuptools import Extension, setup

setup(ext_modules=[Extension("index._kernels", ["index/_kernels.c"], optional=True,
                             extra_compile_args=["-O3", "-mavx2", "-mfma"])])

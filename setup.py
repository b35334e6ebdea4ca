"""The one compiled part: int8 attention for bulk embedding (index/_attention.c). Metadata is in pyproject.toml.

The extension is optional: where it does not build (no C compiler, not x86-64), installation goes on and
index/fast_e5.py keeps torch's attention.
"""

from setuptools import Extension, setup

setup(ext_modules=[Extension("index._attention", ["index/_attention.c"], optional=True,
                             extra_compile_args=["-O3", "-mavx2", "-mfma"])])

"""The one compiled part: kernels for bulk embedding (embed/e5/_kernels.c). Metadata is in pyproject.toml.

The extension is optional: where it does not build (no C compiler, not x86-64), installation goes on and
embed/e5/torch_engine.py keeps torch's operations.
"""

from setuptools import Extension, setup

setup(ext_modules=[Extension("embed.e5._kernels", ["embed/e5/_kernels.c"], optional=True,
                             extra_compile_args=["-O3", "-mavx2", "-mfma"])])

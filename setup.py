"""The compiled reducer (``costlib._reduce``), optional: without a C compiler the package
installs all the same and reads through pyarrow (``costlib info`` says which)."""

import os

from setuptools import Extension, setup

flags = [] if os.name == "nt" else ["-O3", "-std=c11"]
setup(ext_modules=[Extension("costlib._reduce", ["costlib/_reduce.c"], optional=True,
                             extra_compile_args=flags)])

"""Builds the compiled flagging engine; everything else is in pyproject.toml.

`scrapyd-deploy` also builds eggs through this file (`setup.py bdist_egg`). The extensions are
optional: where Cython, spaCy's headers or a C++ compiler are missing the build goes on without
them and the flagger runs its pure-Python engine, with a warning (crawler/flagging/compiled.py).
"""
import sys
from pathlib import Path

from setuptools import setup

HERE = Path(__file__).parent
SOURCES = sorted(str(p.relative_to(HERE)) for p in (HERE / "crawler" / "flagging").glob("_*.pyx"))


def extensions():
    if "bdist_egg" in sys.argv:
        return []  # a Scrapyd egg is imported from a zip file, where no compiled module loads
    try:
        import numpy
        import spacy
        from Cython.Build import cythonize
    except ImportError:
        return []
    from setuptools import Extension

    exts = [Extension(s[:-4].replace("/", "."), [s], language="c++", optional=True,
                      include_dirs=[numpy.get_include()],
                      extra_compile_args=["-O2"]) for s in SOURCES]
    # The engine reads spaCy's C structs, so it must run against the spaCy it was compiled with.
    return cythonize(exts, language_level=3, quiet=True,
                     compile_time_env={"BUILT_WITH_SPACY": spacy.__version__})


setup(ext_modules=extensions())

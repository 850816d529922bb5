"""Which flagging engine runs: the compiled one or the pure-Python reference.

The compiled parts (crawler/flagging/_*.pyx, built by `pip install`) read spaCy's token structs
directly, so each must run against the spaCy version it was compiled with. Where a part is missing
(no compiler at install time, a Scrapyd egg, another spaCy) the flagger runs the Python code the
compiled part mirrors; both give the same judgements, which tests/test_compiled_engine.py checks.
TURFWATCH_PURE_PYTHON=1 forces the Python engine (for comparing the two, or to rule the compiled
one out when something looks wrong).
"""
from __future__ import annotations

import importlib
import os
from types import ModuleType

import spacy

PARTS = ("_scan", "_cues", "_seq", "_evaluate", "_listing")
_loaded: dict[str, ModuleType | None] = {}
_why_not: dict[str, str] = {}


def forced_python() -> bool:
    return os.environ.get("TURFWATCH_PURE_PYTHON", "") not in ("", "0")


def part(name: str) -> ModuleType | None:
    """The compiled module `name` (one of PARTS), or None when the Python engine must stand in."""
    if name not in _loaded:
        module = None
        if forced_python():
            _why_not[name] = "TURFWATCH_PURE_PYTHON is set"
        else:
            try:
                module = importlib.import_module(f"{__package__}.{name}")
            except Exception as exc:  # noqa: BLE001  not built, built for another Python, or broken: never fatal
                _why_not[name] = f"not built ({exc})"
            else:
                built = getattr(module, "BUILT_WITH_SPACY", None)
                if built != spacy.__version__:
                    _why_not[name] = f"built for spaCy {built}, running {spacy.__version__}"
                    module = None
        _loaded[name] = module
    return _loaded[name]


def engine() -> str:
    """'compiled', or 'python (<why>)' naming the first part that is missing."""
    missing = [name for name in PARTS if part(name) is None]
    if not missing:
        return "compiled"
    return f"python ({missing[0]}: {_why_not[missing[0]]})"

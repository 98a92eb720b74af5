"""Exceptions across the LINK: a receiver-side class for the sender's, and an instance of it.

Only the name and the nearest builtin base cross (never a class object), so an exception
the solution raises is rebuilt from what the receiver has: a builtin class, or a fresh
subclass of the nearest builtin one named like the original.
"""

from __future__ import annotations

import builtins


def builtin_base(cls: type) -> str:
    """The name of the first builtin exception class in ``cls``'s MRO."""
    for k in cls.__mro__:
        if k.__module__ == "builtins" and issubclass(k, BaseException):
            return k.__name__
    return "Exception"


def exception_class(name: object, base: object, cache: dict) -> type[BaseException]:
    """A receiver-side exception class: the builtin one, or one named like the original.

    Only ``BaseException`` subclasses from ``builtins`` are used as they are; any other
    name becomes a fresh subclass of its nearest builtin base, so ``pytest.raises(ValueError)``
    still catches a solution's ``class BadInput(ValueError)``.
    """
    name = name if type(name) is str else "Exception"
    found = getattr(builtins, name, None)
    if isinstance(found, type) and issubclass(found, BaseException):
        return found
    if not isinstance(base, type):
        b = getattr(builtins, base, None) if type(base) is str else None
        base = b if isinstance(b, type) and issubclass(b, BaseException) else Exception
    key = (name, base)
    if key not in cache:
        try:
            cache[key] = type(name, (base,), {"__module__": "solution"})
        except TypeError:  # a base that cannot be subclassed (e.g. bool-like): keep the base
            cache[key] = base
    return cache[key]


def build_exception(cls: type[BaseException], args: object, message: str) -> BaseException:
    """``cls(*args)``, or ``cls(message)`` when the args do not fit, or an uninitialised
    ``cls`` carrying the message (``UnicodeDecodeError`` wants five arguments)."""
    for attempt in (args, (message,)):
        if type(attempt) is tuple:
            try:
                exc = cls(*attempt)
            except Exception:
                continue
            if isinstance(exc, BaseException):
                return exc
    try:
        exc = cls.__new__(cls)
        exc.args = (message,)
        return exc
    except Exception:
        return Exception(message)

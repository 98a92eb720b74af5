"""Handles: what the tester holds for an object that stays in the solution's process.

A function or a class of the solution's answers calls (and attribute reads) across the
LINK; questions about it (truth, length, equality) are answered here. An instance of a
class the task names (a ``Stack``) is the one handle whose questions cross: they are the
tests' business. ``Awaited`` is what an ``async def`` of the solution's returned.
"""

from __future__ import annotations

from .protocol import Op


def make_handle(cls, client, n: int):
    obj = object.__new__(cls)
    object.__setattr__(obj, "_c", client)
    object.__setattr__(obj, "_n", n)
    return obj


def _ask(self, name: str, *args):
    return object.__getattribute__(self, "_c").op(object.__getattribute__(self, "_n"), name, *args)


def _unary(name: str):
    def method(self):
        return _ask(self, name)

    method.__name__ = f"__{name}__"
    return method


def _binary(name: str):
    def method(self, other):
        return _ask(self, name, other)

    method.__name__ = f"__{name}__"
    return method


def _between_handles(name: str):
    """A comparison the solution decides only against another of its own objects."""

    def method(self, other):
        if type(other) is not RemoteObject:
            return NotImplemented
        return _ask(self, name, other)

    method.__name__ = f"__{name}__"
    return method


class _Handle:
    """What every handle shares: attribute access and calls cross; identity is local."""

    __slots__ = ("_c", "_k", "_n")

    def __getattr__(self, name: str):
        if name.startswith("__") and name.endswith("__"):
            raise AttributeError(name)  # protocol probes stay local
        c, n = object.__getattribute__(self, "_c"), object.__getattribute__(self, "_n")
        return c.request([Op.GET, n, name])

    def __setattr__(self, name: str, value) -> None:
        c, n = object.__getattribute__(self, "_c"), object.__getattribute__(self, "_n")
        c.request([Op.SET, n, name, c.encoder(value)])

    def __call__(self, *args, **kwargs):
        c, n = object.__getattribute__(self, "_c"), object.__getattribute__(self, "_n")
        return c.call(n, args, kwargs)

    def __repr__(self) -> str:
        c, n = object.__getattribute__(self, "_c"), object.__getattribute__(self, "_n")
        try:
            text = c.request([Op.GET, n, "__name__"]) if type(self) is not RemoteObject else None
        except BaseException:
            text = None
        return f"<solution {type(self).__name__[6:].lower()} {text or n}>"


class RemoteFunction(_Handle):
    """A function (or module) of the solution's: calls cross; it is true, has no length,
    and equals only itself."""

    __slots__ = ()

    def __bool__(self) -> bool:
        return True

    def __eq__(self, other) -> bool:
        return self is other

    def __hash__(self) -> int:
        return id(self)


class RemoteClass(RemoteFunction):
    """A class of the solution's: calling it makes an instance (a handle when the task
    names the class); ``isinstance`` asks the solution only about its own instances."""

    __slots__ = ()

    def __instancecheck__(self, obj) -> bool:
        if type(obj) is not RemoteObject:
            return False  # plain data is never an instance of a solution's class
        if object.__getattribute__(obj, "_k") == object.__getattribute__(self, "_n"):
            return True
        c = object.__getattribute__(self, "_c")
        return c.op(object.__getattribute__(self, "_n"), "isinstance", obj) is True


class RemoteObject(_Handle):
    """An instance of a class the task names (a ``Stack``): its protocol is the test's
    business, so every question crosses and the solution answers."""

    __slots__ = ()

    def __repr__(self) -> str:
        text = _ask(self, "repr")
        return text if type(text) is str else "<solution object>"

    def __str__(self) -> str:
        text = _ask(self, "str")
        return text if type(text) is str else "<solution object>"

    def __await__(self):
        return (yield from _no_suspend(_ask(self, "await")))

    __len__ = _unary("len")
    __iter__ = _unary("iter")
    __next__ = _unary("next")
    __bool__ = _unary("bool")
    __hash__ = _unary("hash")
    __contains__ = _binary("contains")
    __getitem__ = _binary("getitem")
    __delitem__ = _binary("delitem")
    __eq__ = _between_handles("eq")
    __ne__ = _between_handles("ne")
    __lt__ = _between_handles("lt")
    __le__ = _between_handles("le")
    __gt__ = _between_handles("gt")
    __ge__ = _between_handles("ge")

    def __setitem__(self, key, value) -> None:
        _ask(self, "setitem", key, value)


HANDLE_TYPES = (RemoteFunction, RemoteClass, RemoteObject)


class Awaited:
    """What an ``async def`` of the solution's returned: ``await`` gives its value (or
    raises its exception); the solution ran it to its end when it was called."""

    __slots__ = ("_outcome",)

    def __init__(self, outcome) -> None:
        self._outcome = outcome

    def __await__(self):
        ok, value = self._outcome if type(self._outcome) is tuple else (True, None)
        if not ok:
            raise value
        return value
        yield  # pragma: no cover - makes this a generator


def _no_suspend(value):
    return value
    yield  # pragma: no cover - makes this a generator

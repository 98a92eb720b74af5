"""The test process's view of the solution: a module whose attributes are remote handles.

Imports nothing from ``tasks``. Calling a handle sends a request to the solution
process and rebuilds the answer as exact builtin values (``_wire``). What the solution
returns can only be plain data or a handle; a handle compares equal only to a handle
(never to plain data), so no object of the solution's can pass ``assert f(x) == 5``.
"""

from __future__ import annotations

import sys
import types

from _wire import Decoder, Encoder, Link, LinkClosed, NotPlain, build_exception, builtin_base
from _wire import exception_class as _exception_class

ITERATOR_CAP = 1_000_000


class CrossingError(BaseException):
    """A call into the solution that could not complete; the solution's fault.

    A BaseException, so that ``pytest.raises(Exception)`` in a test cannot take it for
    the exception the solution was supposed to raise.
    """


class HarnessLimit(BaseException):
    """The tests asked for something the separated harness does not offer (a suite problem)."""


def from_solution(exc: BaseException) -> bool:
    """Whether ``exc`` came from the solution's side (raised there, or its answer was bad)."""
    return isinstance(exc, CrossingError) or bool(getattr(exc, "__vivek_solution__", False))


class Client:
    """Requests to the solution process, and the callables the tests lent to it."""

    def __init__(self, rfd: int, wfd: int) -> None:
        self.link = Link(rfd, wfd, self.handle)
        self.lent: list = []
        self.lent_ids: dict[int, int] = {}
        self.proxies: dict[int, object] = {}
        self.exc_classes: dict = {}
        self.arg_stack: list[list] = []
        self.decode = Decoder(self._resolve)
        self.gone = ""

    # ------------------------------------------------------------ encoding
    def export(self, x):
        if type(x) is RemoteObject and object.__getattribute__(x, "_c") is self:
            return {"y": object.__getattribute__(x, "_n")}
        if hasattr(type(x), "__next__") and iter(x) is x:  # a generator argument, say
            items = []
            for v in x:
                items.append(self.encoder(v))
                if len(items) > ITERATOR_CAP:
                    raise HarnessLimit("an iterator argument with over a million items")
            return {"g": items}
        if callable(x):
            n = self.lent_ids.get(id(x))
            if n is None:
                n = self.lent_ids[id(x)] = len(self.lent)
                self.lent.append(x)
            return {"o": [n, "f", None]}
        raise HarnessLimit(
            f"cannot pass a {type(x).__name__} to the solution "
            "(plain data, callables and the solution's own objects only)"
        )

    def encoder(self, v):
        return Encoder(self.export)(v)

    def _resolve(self, tag, p):
        if tag == "o" and type(p) is list and len(p) == 3 and type(p[0]) is int:
            return self.proxy(*p)
        if tag == "y" and type(p) is int and 0 <= p < len(self.lent):
            return self.lent[p]
        if tag == "a" and type(p) is int and self.arg_stack and 0 <= p < len(self.arg_stack[-1]):
            return self.arg_stack[-1][p]
        raise ValueError(f"bad reference {tag}")

    def proxy(self, n: int, kind: object, extra: object):
        found = self.proxies.get(n)
        if found is None:
            if kind == "x" and type(extra) is list and len(extra) == 2:
                base = extra[1]
                if type(base) is dict:
                    base = self.decode(base)
                found = _exception_class(extra[0], base, self.exc_classes)
                if getattr(found, "__module__", "") == "solution":
                    found.__vivek_handle__ = n
            else:
                found = object.__new__(RemoteObject)
                object.__setattr__(found, "_c", self)
                object.__setattr__(found, "_n", n)
            self.proxies[n] = found
        return found

    # ------------------------------------------------------------ requests
    def request(self, msg, originals=()):
        if self.gone:
            raise CrossingError(self.gone)
        try:
            reply = self.link.request(msg)
        except LinkClosed:
            self.gone = "the solution process is gone (it exited or was killed)"
            raise CrossingError(self.gone) from None
        except (ValueError, TypeError, RecursionError) as exc:
            self.gone = f"the solution process broke the protocol: {type(exc).__name__}"
            raise CrossingError(self.gone) from None
        op = reply[0]
        try:
            if op == "r":
                self.arg_stack.append(list(originals))
                try:
                    value = self.decode(reply[1]) if len(reply) > 1 else None
                    if len(reply) > 2 and type(reply[2]) is dict:
                        self._write_back(reply[2], originals)
                finally:
                    self.arg_stack.pop()
                return value
            if op == "e" and len(reply) > 1 and type(reply[1]) is dict:
                exc = self._exception(reply[1])
            else:
                exc = CrossingError(str(reply[1] if len(reply) > 1 else "bad reply")[:300])
        except MemoryError:
            raise
        except (ValueError, TypeError, KeyError, IndexError, RecursionError) as exc_:
            raise CrossingError(f"the solution sent a malformed value: {exc_}"[:300]) from None
        raise exc

    def _write_back(self, changes: dict, originals) -> None:
        for key, wire in changes.items():
            i = int(key)
            if not 0 <= i < len(originals):
                raise ValueError("write-back to no argument")
            orig, new = originals[i], self.decode(wire)
            if type(orig) is not type(new) or type(orig) not in (list, bytearray, dict, set):
                raise ValueError("write-back of another type")
            if type(orig) in (list, bytearray):
                orig[:] = new
            else:
                orig.clear()
                orig.update(new)

    def _exception(self, form: dict) -> BaseException:
        cls = None
        if type(form.get("k")) is dict:
            found = self.decode(form["k"])
            if isinstance(found, type) and issubclass(found, BaseException):
                cls = found
        if cls is None:
            cls = _exception_class(form.get("n"), form.get("b"), self.exc_classes)
        args = self.decode(form["a"]) if form.get("a") is not None else None
        exc = build_exception(cls, args, str(form.get("m", "")))
        exc.__vivek_solution__ = True
        return exc

    def call(self, n: int, args: tuple, kwargs: dict):
        wk = []
        for k, v in kwargs.items():
            wk += [k, self.encoder(v)]
        wire = [self.encoder(a) for a in args]
        return self.request(["c", n, wire, wk], (*args, *kwargs.values()))

    def op(self, n: int, name: str, *args):
        return self.request(["o", n, name, [self.encoder(a) for a in args]])

    def handle(self, msg):
        """A call from the solution to a callable the tests lent it."""
        try:
            n = msg[1]
            if msg[0] != "c" or type(n) is not int or not 0 <= n < len(self.lent):
                return ["x", "the tests only take calls to what they lent"]
            args = [self.decode(a) for a in msg[2]]
            it = iter(msg[3])
            kwargs = {k: self.decode(v) for k, v in zip(it, it, strict=True)}
            result = self.lent[n](*args, **kwargs)
        except BaseException as exc:
            return ["e", {"n": type(exc).__name__, "b": builtin_base(type(exc)), "m": str(exc)}]
        try:
            return ["r", self.encoder(result)]
        except (NotPlain, HarnessLimit) as exc:
            return ["x", str(exc)]


def _unary(name: str):
    def method(self):
        return object.__getattribute__(self, "_c").op(object.__getattribute__(self, "_n"), name)

    method.__name__ = f"__{name}__"
    return method


def _binary(name: str):
    def method(self, other):
        return object.__getattribute__(self, "_c").op(
            object.__getattribute__(self, "_n"), name, other
        )

    method.__name__ = f"__{name}__"
    return method


def _between_handles(name: str):
    """A comparison the solution decides only against another of its own objects."""

    def method(self, other):
        if type(other) is not RemoteObject:
            return NotImplemented
        return object.__getattribute__(self, "_c").op(
            object.__getattribute__(self, "_n"), name, other
        )

    method.__name__ = f"__{name}__"
    return method


class RemoteObject:
    """An object that lives in the solution process (a ``Stack``, a function, a class)."""

    __slots__ = ("_c", "_n")

    def __getattr__(self, name: str):
        c, n = object.__getattribute__(self, "_c"), object.__getattribute__(self, "_n")
        if name.startswith("__") and name.endswith("__"):
            raise AttributeError(name)  # protocol probes stay local
        return c.request(["g", n, name])

    def __setattr__(self, name: str, value) -> None:
        c, n = object.__getattribute__(self, "_c"), object.__getattribute__(self, "_n")
        c.request(["s", n, name, c.encoder(value)])

    def __call__(self, *args, **kwargs):
        return object.__getattribute__(self, "_c").call(
            object.__getattribute__(self, "_n"), args, kwargs
        )

    def __repr__(self) -> str:
        text = object.__getattribute__(self, "_c").op(object.__getattribute__(self, "_n"), "repr")
        return text if type(text) is str else "<solution object>"

    def __str__(self) -> str:
        text = object.__getattribute__(self, "_c").op(object.__getattribute__(self, "_n"), "str")
        return text if type(text) is str else "<solution object>"

    def __instancecheck__(self, obj) -> bool:
        return (
            object.__getattribute__(self, "_c").op(
                object.__getattribute__(self, "_n"), "isinstance", obj
            )
            is True
        )

    def __await__(self):
        return (yield from _no_suspend(_unary("await")(self)))

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
        object.__getattribute__(self, "_c").op(
            object.__getattribute__(self, "_n"), "setitem", key, value
        )


def _no_suspend(value):
    return value
    yield  # pragma: no cover - makes this a generator


class SolutionModule(types.ModuleType):
    """``solution`` as the tests import it: public names up front, the rest on demand."""

    def __getattr__(self, name: str):
        if name.startswith("__") and name.endswith("__"):
            raise AttributeError(name)
        client = self.__dict__["__vivek_client__"]
        return client.request(["g", 0, name])


def solution_module(client: Client, names: list) -> SolutionModule:
    """The proxy module from the hello's flattened ``[name, wire, name, wire, ...]``."""
    module = SolutionModule("solution")
    module.__dict__["__vivek_client__"] = client
    module.__file__ = "solution.py"
    public = []
    it = iter(names)
    for name, wire in zip(it, it, strict=True):
        if type(name) is not str:
            continue
        ref = wire.get("o") if type(wire) is dict else None
        if type(ref) is list and len(ref) == 3 and ref[1] == "m" and ref[2] in sys.modules:
            # A module the solution imported (``math``): the tests' own, already loaded.
            module.__dict__[name] = sys.modules[ref[2]]
        else:
            module.__dict__[name] = client.decode(wire)
        public.append(name)
    module.__all__ = public
    return module

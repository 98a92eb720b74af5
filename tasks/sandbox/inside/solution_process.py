"""The solution process (forked by the worker for one sample): load solution.py, then serve.

This process runs the untrusted code and nothing else: it never sees the tests. Once the
module has loaded it says hello to the tester, then answers its requests (``protocol.Op``)
until the tester says goodbye: the task's names, calls, attribute reads, operators on
instances of the task's own classes, and one batch of differential calls. Whatever it says
is only data to the tester (``wire``). The lines executed are recorded here (slipcover's
probes, in the solution's code only), so coverage is self-reported; the host turns them
into a share of statements. CPU time and memory are measured by the worker, outside.
"""

from __future__ import annotations

import collections
import contextlib
import enum
import importlib.machinery
import importlib.util
import operator
import os
import sys
import time
import types

from . import confine, protocol
from .exceptions import builtin_base
from .exceptions import exception_class as _exception_class
from .protocol import Op, Reply
from .wire import Decoder, Encoder, Link, LinkClosed, NotPlain

# Subclasses of plain types that honest code returns and that compare like their base.
PLAIN_LIKE = {
    collections.OrderedDict: dict,
    collections.defaultdict: dict,
    collections.Counter: dict,
}
PLAIN_BASES = (int, float, complex, str, bytes, bytearray, list, tuple, dict, set, frozenset)
MUTABLE = (list, dict, set, bytearray)
OPS = {
    "len": len,
    "contains": lambda o, x: x in o,
    "getitem": operator.getitem,
    "setitem": operator.setitem,
    "delitem": operator.delitem,
    "iter": iter,
    "next": next,
    "bool": bool,
    "repr": repr,
    "str": str,
    "hash": hash,
    "eq": operator.eq,
    "ne": operator.ne,
    "lt": operator.lt,
    "le": operator.le,
    "gt": operator.gt,
    "ge": operator.ge,
    "isinstance": lambda cls, x: isinstance(x, cls),
    "await": lambda coro: __import__("asyncio").run(_awaited(coro)),
}
assert set(OPS) == protocol.OPERATORS


async def _awaited(obj):
    return await obj


def _plain_like(x):
    """A plain stand-in for a stdlib or numpy value that honest code returns, or None."""
    t = type(x)
    if t in PLAIN_LIKE:
        return dict(x)
    if isinstance(x, enum.Enum) and isinstance(x, int | str):  # IntEnum, StrEnum, IntFlag
        return (int if isinstance(x, int) else str.__str__)(x)
    np = sys.modules.get("numpy")
    if np is not None and isinstance(x, np.generic):
        for kind, to in ((np.bool_, bool), (np.integer, int), (np.floating, float),
                         (np.complexfloating, complex), (np.str_, str)):  # fmt: skip
            if isinstance(x, kind):
                return to(x)
    return None


def _is_iterator(x) -> bool:
    try:
        return hasattr(type(x), "__next__") and iter(x) is x
    except Exception:
        return False


class RemoteCallable:
    """A callable the tests passed in (a ``key=`` function, a fake clock): calls go back."""

    __slots__ = ("_n", "_server")

    def __init__(self, server: Server, n: int) -> None:
        self._server, self._n = server, n

    def __call__(self, *args, **kwargs):
        return self._server.callback(self._n, args, kwargs)


class Server:
    """Serves the tester's requests on the module and the objects this process handed out."""

    def __init__(self, module, rfd: int, wfd: int) -> None:
        self.module = module
        self.exports: list = [module]
        self.ids: dict[int, int] = {id(module): 0}
        self.link = Link(rfd, wfd, self.handle)
        self.exc_classes: dict = {}
        self.task_classes: tuple = ()
        self.decode = Decoder(self._resolve, iterator=lambda items: iter(items))

    # ------------------------------------------------------------ encoding
    def export(self, x):
        """A non-data value: a handle, or refused. Instances of the task's classes stay
        here behind handles; any other object is refused by the tester (we say which)."""
        if type(x) is RemoteCallable and x._server is self:
            return {"y": x._n}
        stand_in = _plain_like(x)
        if stand_in is not None:
            return Encoder(self.export)(stand_in)
        if isinstance(x, PLAIN_BASES):
            raise NotPlain(f"solution returned a non-plain object: {type(x).__name__}")
        if _is_iterator(x) and not isinstance(x, self.task_classes):
            return Encoder(self.export).consumed(x)  # a generator, map, zip...: its items
        if isinstance(x, types.CoroutineType):  # an async def's call: run to its end, here
            return {"o": [self._number(x), "a", self._awaited(x)]}
        n = self._number(x)
        if isinstance(x, type) and issubclass(x, BaseException):
            base = x.__base__
            up = base.__name__ if base.__module__ == "builtins" else self.export(base)
            return {"o": [n, "x", [x.__name__, up]]}
        if isinstance(x, types.ModuleType):  # the tests may use their own copy
            return {"o": [n, "m", x.__name__ if type(x.__name__) is str else None]}
        if isinstance(x, type):
            return {"o": [n, "c", None]}
        if callable(x) and not isinstance(x, self.task_classes):
            return {"o": [n, "f", None]}
        name = type(x).__name__
        return {"o": [n, "v", [self.export(type(x)), name if type(name) is str else "?"]]}

    def _awaited(self, coro) -> list:
        """[True, value] or [False, exception form]: an ``Awaited`` for the tester."""
        import asyncio

        try:
            return {"t": [True, Encoder(self.export)(asyncio.run(_awaited(coro)))]}
        except NotPlain:
            raise
        except BaseException as exc:
            return {"t": [False, {"xe": self.describe(exc)}]}

    def _number(self, x) -> int:
        n = self.ids.get(id(x))
        if n is None:
            n = self.ids[id(x)] = len(self.exports)
            self.exports.append(x)
        return n

    def plain(self, x):
        """Data only (differential outputs): no handle of any kind."""

        def refuse(v):
            stand_in = _plain_like(v)
            if stand_in is not None:
                return Encoder(refuse)(stand_in)
            if _is_iterator(v):
                return Encoder(refuse).consumed(v)
            raise NotPlain(f"a {type(v).__name__}")

        return Encoder(refuse)(x)

    def _resolve(self, tag, p):
        if tag == "y" and type(p) is int and 0 <= p < len(self.exports):
            return self.exports[p]
        if tag == "o" and type(p) is list and p and type(p[0]) is int:
            return RemoteCallable(self, p[0])
        raise ValueError(f"bad reference {tag}")

    def describe(self, exc: BaseException) -> dict:
        cls = type(exc)
        try:
            args = Encoder(self.export)(exc.args)
        except BaseException:
            args = None
        try:
            message = str(exc)[:2000]
        except BaseException:
            message = ""
        form = {"n": cls.__name__, "b": builtin_base(cls), "a": args, "m": message}
        if cls.__module__ != "builtins":
            with contextlib.suppress(BaseException):
                form["k"] = self.export(cls)
        return form

    # ------------------------------------------------------------ requests
    def handle(self, msg):
        op = msg[0]
        try:
            if op == Op.NAMES:
                return [Reply.RESULT, self._names(msg[1], msg[2])]
            n = msg[1]
            if type(n) is not int or not 0 <= n < len(self.exports):
                return [Reply.REFUSED, "bad handle"]
            target, refs, back = self.exports[n], {}, {}
            if op == Op.CALL:
                result, refs, back = self._call(target, msg[2], msg[3])
            elif op == Op.GET:
                result = getattr(target, msg[2])
            elif op == Op.SET:
                result = setattr(target, msg[2], self.decode(msg[3]))
            elif op == Op.OP and msg[2] in OPS:
                result = OPS[msg[2]](target, *[self.decode(a) for a in msg[3]])
            else:
                return [Reply.REFUSED, f"unknown request {op!r}"]
        except BaseException as exc:
            return [Reply.RAISED, self.describe(exc)]
        try:
            reply = [Reply.RESULT, Encoder(self.export, refs)(result)]
            if back:
                reply.append({i: Encoder(self.export)(v) for i, v in back.items()})
            return reply
        except NotPlain as exc:
            return [Reply.REFUSED, str(exc)]
        except BaseException as exc:
            return [Reply.REFUSED, f"the result cannot cross: {type(exc).__name__}: {exc}"[:300]]

    def _names(self, names, classes) -> list:
        """The task's names as the tests will see them: [ok, wire or why] each."""
        found = []
        for name in classes if type(classes) is list else []:
            value = getattr(self.module, name, None) if type(name) is str else None
            if isinstance(value, type):
                self.task_classes += (value,)
        for name in names if type(names) is list else []:
            try:
                found.append([True, Encoder(self.export)(getattr(self.module, name))])
            except BaseException as exc:
                found.append([False, f"{type(exc).__name__}: {name}"[:300]])
        return found

    def _call(self, fn, wire_args, wire_kwargs):
        args = [self.decode(a) for a in wire_args]
        it = iter(wire_kwargs)
        kwargs = {k: self.decode(v) for k, v in zip(it, it, strict=True)}
        values = [*args, *kwargs.values()]
        wires = [*wire_args, *wire_kwargs[1::2]]
        result = fn(*args, **kwargs)
        refs, back = {}, {}
        for i, v in enumerate(values):
            if type(v) in MUTABLE:
                refs[id(v)] = i
                try:
                    changed = Encoder(self.export)(v) != wires[i]
                except BaseException:
                    changed = True
                if changed:  # the tests see their argument changed, as in one process
                    back[str(i)] = v
        return result, refs, back

    def batch(self, calls) -> None:
        """The differential calls, one by one; answers go out together, or every 20 ms of
        CPU, so that a limit that stops us midway keeps most of the answers given."""
        done, flushed = 0, time.process_time()
        for i, call in enumerate(calls if type(calls) is list else []):
            try:
                name, wire_args, wire_kwargs = call
                fn = getattr(self.module, name)
                args = [self.decode(a) for a in wire_args]
                it = iter(wire_kwargs)
                kwargs = {k: self.decode(v) for k, v in zip(it, it, strict=True)}
                result = fn(*args, **kwargs)
            except BaseException as exc:
                out = ["e", type(exc).__name__]
            else:
                try:
                    out = ["v", self.plain(result)]
                except BaseException as exc:
                    out = ["x", f"{type(exc).__name__}: {exc}"[:200]]
            now = time.process_time()
            self.link.send([Reply.PART, i, out], flush=now - flushed > 0.02)
            flushed = now if now - flushed > 0.02 else flushed
            done += 1
        self.link.send([Reply.RESULT, done])

    def callback(self, n: int, args, kwargs):
        enc = Encoder(self.export)
        wk = []
        for k, v in kwargs.items():
            wk += [k, enc(v)]
        reply = self.link.request([Op.CALL, n, [enc(a) for a in args], wk])
        if reply[0] == Reply.RESULT:
            return self.decode(reply[1])
        if reply[0] == Reply.RAISED:
            form = reply[1] if type(reply[1]) is dict else {}
            cls = _exception_class(form.get("n"), form.get("b"), self.exc_classes)
            raise cls(str(form.get("m", "")))
        raise RuntimeError(f"the tests' callable failed: {reply[1]}")


class _Loader(importlib.machinery.SourceFileLoader):
    """Imports solution.py as ``import solution`` would, its code instrumented for coverage."""

    def __init__(self, name: str, path: str, instrument) -> None:
        super().__init__(name, path)
        self.instrument = instrument

    def get_code(self, fullname):
        code = super().get_code(fullname)
        return self.instrument(code) if self.instrument is not None and code else code


def load(path: str, instrument) -> types.ModuleType:
    spec = importlib.util.spec_from_file_location(
        "solution", path, loader=_Loader("solution", path, instrument)
    )
    module = importlib.util.module_from_spec(spec)
    sys.modules["solution"] = module
    try:
        spec.loader.exec_module(module)
    except BaseException:
        sys.modules.pop("solution", None)
        raise
    return module


def run(job: dict, workdir: str, uid, fds: list[int], slip):  # pragma: no cover
    """Confine this (forked) process, load the solution, serve; never returns."""
    try:
        confine.confine_solution(job["limits"], workdir, uid, fds)
        _serve(job, workdir, slip if job["measure_coverage"] else None)
    finally:
        os._exit(70)


def _serve(job: dict, workdir: str, slip) -> None:  # pragma: no cover
    link = Link(3, 4, None)
    path = os.path.join(workdir, protocol.SOLUTION)
    del job["code"]
    try:
        module = load(path, slip.instrument if slip is not None else None)
    except BaseException as exc:
        oom = isinstance(exc, MemoryError)
        try:
            text = f"{type(exc).__name__}: {exc}"
        except BaseException:
            text = type(exc).__name__
        with contextlib.suppress(LinkClosed):
            link.send([Reply.HELLO, {"ok": False, "oom": oom, "error": text[:300]}])
        _exit()
    server = Server(module, 3, 4)
    try:
        link.send([Reply.HELLO, {"ok": True}])
        while True:
            msg = link.recv()
            if msg[0] == Op.QUIT:
                break
            if msg[0] == Op.BATCH and len(msg) > 1:
                server.batch(msg[1])
                continue
            link.send(server.handle(msg))
    except (LinkClosed, ValueError):
        _exit()
    stats: dict = {"lines": None}
    if slip is not None:
        try:
            stats["lines"] = sorted(executed_lines(slip, path))
        except BaseException as exc:
            stats["error"] = f"{type(exc).__name__}"
    with contextlib.suppress(LinkClosed):
        link.send([Reply.RESULT, stats])
    _exit()


def executed_lines(slip, path: str) -> set[int]:
    """Lines of ``path`` slipcover's probes saw (its raw state: no report is built)."""
    seen = set(slip._get_newly_seen().get(path, ())) | set(slip.all_seen.get(path, ()))
    return {x for x in seen if type(x) is int}


def _exit() -> None:  # pragma: no cover
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(BaseException):
            stream.flush()
    os._exit(0)

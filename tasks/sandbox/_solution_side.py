"""The solution process (forked by ``_worker.py``): loads ``solution.py``, serves calls.

Imports nothing from ``tasks``. This process runs the untrusted code and nothing else:
it never sees the tests. After the module has loaded it says hello to the test process
(with the module's public names) and then answers requests until the test process says
goodbye: calls, attribute reads and a few operators on the objects it handed out.
Whatever it says is only data to the test process (see ``_wire``); coverage and CPU time
come from here, so they are self-reported.
"""

from __future__ import annotations

import collections
import contextlib
import enum
import operator
import os
import sys
import time
import types

from _guards import confine_solution
from _wire import Decoder, Encoder, Link, LinkClosed, NotPlain, builtin_base
from _wire import exception_class as _exception_class
from coverage.parser import PythonParser

SOLUTION = "solution.py"
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


async def _awaited(obj):
    return await obj


def parse_statements(code: str, exclude: str) -> PythonParser:
    """coverage.py's parser over ``code``: its ``statements`` are the executable lines."""
    parser = PythonParser(text=code or "\n", exclude=exclude)  # it refuses ""
    parser.parse_source()
    return parser


def coverage_share(parser: PythonParser, executed: set[int]) -> float | None:
    """Share of statements executed, as ``Coverage.analysis2`` would count it."""
    wanted = parser.statements
    return len(parser.translate_lines(executed) & wanted) / len(wanted) if wanted else None


def executed_lines(cov) -> set[int]:
    """Lines the tracer saw; only ``solution.py`` is traced (``include``).

    Reads the collector's raw data: ``get_data()`` would copy it into SQLite first.
    """
    data = getattr(getattr(cov, "_collector", None), "data", None)
    if not isinstance(data, dict):  # another coverage.py: the public, slower path
        data = cov.get_data()
        return set().union(*(data.lines(f) or () for f in data.measured_files()))
    return set().union(*data.values())


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


class RemoteCallable:
    """A callable the tests passed in (a ``key=`` function, a fake clock): calls go back."""

    __slots__ = ("_n", "_server")

    def __init__(self, server: Server, n: int) -> None:
        self._server, self._n = server, n

    def __call__(self, *args, **kwargs):
        return self._server.callback(self._n, args, kwargs)


class Server:
    """Serves the test process's requests on the objects this process handed out."""

    def __init__(self, module, rfd: int, wfd: int) -> None:
        self.exports: list = [module]
        self.ids: dict[int, int] = {id(module): 0}
        self.link = Link(rfd, wfd, self.handle)
        self.exc_classes: dict = {}
        self.args: list[list] = []
        self.tracer, self.depth = None, 0
        self.decode = Decoder(self._resolve, iterator=lambda items: (x for x in items))

    # ------------------------------------------------------------ encoding
    def export(self, x):
        if type(x) is RemoteCallable and x._server is self:
            return {"y": x._n}
        stand_in = _plain_like(x)
        if stand_in is not None:
            return Encoder(self.export)(stand_in)
        if isinstance(x, PLAIN_BASES):
            raise NotPlain(f"solution returned a non-plain object: {type(x).__name__}")
        n = self.ids.get(id(x))
        if n is None:
            n = self.ids[id(x)] = len(self.exports)
            self.exports.append(x)
        if isinstance(x, type) and issubclass(x, BaseException):
            base = x.__base__
            up = base.__name__ if base.__module__ == "builtins" else self.export(base)
            return {"o": [n, "x", [x.__name__, up]]}
        if isinstance(x, types.ModuleType):  # the tests may use their own copy
            return {"o": [n, "m", x.__name__ if type(x.__name__) is str else None]}
        return {"o": [n, "c" if isinstance(x, type) else "f" if callable(x) else "v", None]}

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
            n = msg[1]
            if type(n) is not int or not 0 <= n < len(self.exports):
                return ["x", "bad handle"]
            target, refs, back = self.exports[n], {}, {}
            if op == "c":
                result, refs, back = self._call(target, msg[2], msg[3])
            elif op == "g":
                result = self._run(getattr, target, msg[2])
            elif op == "s":
                result = self._run(setattr, target, msg[2], self.decode(msg[3]))
            elif op == "o" and msg[2] in OPS:
                result = self._run(OPS[msg[2]], target, *[self.decode(a) for a in msg[3]])
            else:
                return ["x", f"unknown request {op!r}"]
        except BaseException as exc:
            return ["e", self.describe(exc)]
        try:
            reply = ["r", Encoder(self.export, refs)(result)]
            if back:
                reply.append({i: Encoder(self.export)(v) for i, v in back.items()})
            return reply
        except NotPlain as exc:
            return ["x", str(exc)]
        except BaseException as exc:
            return ["x", f"the result cannot cross: {type(exc).__name__}: {exc}"[:300]]

    def _run(self, fn, *args, **kwargs):
        """Run the solution's code, traced for coverage; the serving code around it is not.

        The tracer is switched only around the outermost call (a callback's nested
        requests run inside it), so its frame stack stays balanced.
        """
        if self.tracer is None or self.depth:
            self.depth += 1
            try:
                return fn(*args, **kwargs)
            finally:
                self.depth -= 1
        self.depth = 1
        self.tracer.start()
        try:
            return fn(*args, **kwargs)
        finally:
            self.tracer.stop()
            self.depth = 0

    def _call(self, fn, wire_args, wire_kwargs):
        args = [self.decode(a) for a in wire_args]
        it = iter(wire_kwargs)
        kwargs = {k: self.decode(v) for k, v in zip(it, it, strict=True)}
        values = [*args, *kwargs.values()]
        wires = [*wire_args, *wire_kwargs[1::2]]
        result = self._run(fn, *args, **kwargs)
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

    def callback(self, n: int, args, kwargs):
        enc = Encoder(self.export)
        wk = []
        for k, v in kwargs.items():
            wk += [k, enc(v)]
        reply = self.link.request(["c", n, [enc(a) for a in args], wk])
        if reply[0] == "r":
            return self.decode(reply[1])
        if reply[0] == "e":
            form = reply[1] if type(reply[1]) is dict else {}
            cls = _exception_class(form.get("n"), form.get("b"), self.exc_classes)
            raise cls(str(form.get("m", "")))
        raise RuntimeError(f"the tests' callable failed: {reply[1]}")


def run(job: dict, workdir: str, uid, cov, exclude: str, fds: list[int]):  # pragma: no cover
    """Confine this (forked) process, load the solution, serve; never returns."""
    try:
        confine_solution(job["limits"], workdir, uid, fds)
        _serve(job, cov if job["measure_coverage"] else None, exclude)
    finally:
        os._exit(70)


def _serve(job: dict, cov, exclude: str) -> None:  # pragma: no cover
    link = Link(3, 4, None)
    parser, why = None, ""
    if cov is not None:  # parsed before untrusted code runs, from the text we were sent
        try:
            parser = parse_statements(job["code"], exclude)
        except BaseException as exc:
            why = f"{type(exc).__name__}: {exc}"[:300]
    del job["code"]
    if cov is not None:
        cov.start()
    try:
        module = __import__("solution")
    except BaseException as exc:
        oom = isinstance(exc, MemoryError)
        try:
            text = f"{type(exc).__name__}: {exc}"
        except BaseException:
            text = type(exc).__name__
        link.send(["h", {"ok": False, "oom": oom, "error": text[:300]}])
        _exit()
    start = time.process_time()
    server = Server(module, 3, 4)
    if cov is not None:  # trace the solution's code only, not the serving (see Server._run)
        tracers = getattr(getattr(cov, "_collector", None), "tracers", None) or []
        if len(tracers) == 1 and hasattr(tracers[0], "start") and hasattr(tracers[0], "stop"):
            server.tracer = tracers[0]
            server.tracer.stop()
    names = getattr(module, "__all__", None)
    if not (type(names) in (list, tuple) and all(type(n) is str for n in names)):
        names = [n for n in list(vars(module)) if type(n) is str and not n.startswith("_")]
    public = []
    for name in names:
        # One that cannot cross is read on demand (and refused then) if the tests ask.
        with contextlib.suppress(BaseException):
            public += [name, Encoder(server.export)(getattr(module, name))]
    try:
        link.send(["h", {"ok": True, "names": public}])
        while True:
            msg = link.recv()
            if msg[0] == "q":
                break
            link.send(server.handle(msg))
    except (LinkClosed, ValueError):
        _exit()
    cpu_ms = (time.process_time() - start) * 1000
    stats = {"cpu_ms": cpu_ms, "coverage": None}
    if cov is not None:
        cov.stop()
        try:
            stats["coverage"] = coverage_share(parser, executed_lines(cov)) if parser else None
            stats["coverage_error"] = why
        except BaseException as exc:
            stats["coverage_error"] = f"{type(exc).__name__}"
    with contextlib.suppress(LinkClosed):
        link.send(["r", stats])
    _exit()


def _exit() -> None:  # pragma: no cover
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(BaseException):
            stream.flush()
    os._exit(0)

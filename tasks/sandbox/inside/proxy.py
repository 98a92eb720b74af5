"""The tester's view of the solution: a module of the task's names, each a remote handle.

Calling a handle sends a request to the solution process and rebuilds the answer as exact
builtin values (``wire``). What the solution returns is plain data, or a handle where the
task asks for objects: an instance of a class the task itself names (a ``Stack``), whose
questions (``len``, ``in``, ``bool``, ...) are the test's business; any other object is
refused ("solution returned a non-plain object"). Functions and classes the solution
hands out are handles that answer calls; questions about them are answered here. Any
failure to rebuild an answer is the solution's (``CrossingError``), never the suite's.
"""

from __future__ import annotations

import sys
import types

from .exceptions import build_exception, builtin_base
from .exceptions import exception_class as _exception_class
from .handles import HANDLE_TYPES, Awaited, RemoteClass, RemoteFunction, RemoteObject, make_handle
from .protocol import FULL_OUTPUT_CAP, OUTPUT_CAP, Op, Reply
from .wire import Decoder, Encoder, Link, LinkClosed, NotPlain

# PEP 479: these must not end a generator or a loop in the tests that called the solution.
_ESCAPES = (StopIteration, StopAsyncIteration, GeneratorExit)


class CrossingError(BaseException):
    """A call into the solution that could not complete; the solution's fault.

    A BaseException, so that ``pytest.raises(Exception)`` in a test cannot take it for
    the exception the solution was supposed to raise. ``gone`` when the solution's
    process had ended (killed by a limit, or it exited).
    """

    def __init__(self, message: str, gone: bool = False) -> None:
        super().__init__(message)
        self.gone = gone


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
        self.task_classes: set[int] = set()  # handle numbers of the classes the task names
        self.decode = Decoder(self._resolve)
        self.gone = ""

    # ------------------------------------------------------------ encoding
    def export(self, x):
        if type(x) in HANDLE_TYPES and object.__getattribute__(x, "_c") is self:
            return {"y": object.__getattribute__(x, "_n")}
        if hasattr(type(x), "__next__") and iter(x) is x:  # a generator argument, say
            try:
                return Encoder(self.export).consumed(x)
            except NotPlain as exc:
                raise HarnessLimit(f"cannot pass {exc} to the solution") from None
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
        if found is not None:
            return found
        if kind == "x" and type(extra) is list and len(extra) == 2:
            base = extra[1]
            if type(base) is dict:
                base = self.decode(base)
            found = _exception_class(extra[0], base, self.exc_classes)
            if getattr(found, "__module__", "") == "solution":
                found.__vivek_handle__ = n
        elif kind == "m" and type(extra) is str and extra in sys.modules:
            found = sys.modules[extra]  # a module the solution imported: the tests' own copy
        elif kind == "v":
            cls = self.decode(extra[0]) if type(extra) is list and len(extra) == 2 else None
            cls_n = object.__getattribute__(cls, "_n") if type(cls) is RemoteClass else None
            if cls_n not in self.task_classes:
                name = extra[1] if type(extra) is list and len(extra) == 2 else "?"
                raise CrossingError(f"solution returned a non-plain object: {str(name)[:100]}")
            found = make_handle(RemoteObject, self, n)
            object.__setattr__(found, "_k", cls_n)
        elif kind == "a":  # a coroutine the solution ran to its end: its outcome, awaitable
            found = Awaited(self._outcome(extra))
        elif kind == "c":
            found = make_handle(RemoteClass, self, n)
        elif kind in ("f", "m"):
            found = make_handle(RemoteFunction, self, n)
        else:
            raise ValueError("unknown handle kind")
        self.proxies[n] = found
        return found

    def _outcome(self, extra) -> tuple[bool, object]:
        pair = extra.get("t") if type(extra) is dict else None
        if type(pair) is not list or len(pair) != 2:
            raise ValueError("malformed awaitable")
        ok, payload = pair
        if ok is True:
            return True, self.decode(payload)
        if ok is False and type(payload) is dict and type(payload.get("xe")) is dict:
            return False, self._exception(payload["xe"])
        raise ValueError("malformed awaitable")

    # ------------------------------------------------------------ requests
    def request(self, msg, originals=()):
        reply = self._exchange(msg)
        op = reply[0]
        try:
            if op == Reply.RESULT:
                self.arg_stack.append(list(originals))
                try:
                    value = self.decode(reply[1]) if len(reply) > 1 else None
                    if len(reply) > 2 and type(reply[2]) is dict:
                        self._write_back(reply[2], originals)
                finally:
                    self.arg_stack.pop()
                return value
            if op == Reply.RAISED and len(reply) > 1 and type(reply[1]) is dict:
                exc = self._exception(reply[1])
            else:
                exc = CrossingError(str(reply[1] if len(reply) > 1 else "bad reply")[:300])
        except (MemoryError, CrossingError):
            raise
        except Exception as exc_:  # whatever failed to rebuild: the solution's answer
            why = f"the solution sent a value that cannot be rebuilt: {type(exc_).__name__}"
            raise CrossingError(f"{why}: {exc_}"[:300]) from None
        raise exc

    def _exchange(self, msg) -> list:
        if self.gone:
            raise CrossingError(self.gone, gone=True)
        try:
            return self.link.request(msg)
        except LinkClosed:
            self.gone = "the solution process is gone (it exited or was killed)"
            raise CrossingError(self.gone, gone=True) from None
        except (ValueError, TypeError, RecursionError) as exc:
            self.gone = f"the solution process broke the protocol: {type(exc).__name__}"
            raise CrossingError(self.gone, gone=True) from None

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
        if issubclass(cls, _ESCAPES):
            exc: BaseException = RuntimeError(f"the solution raised {cls.__name__}")
        else:
            args = self.decode(form["a"]) if form.get("a") is not None else None
            exc = build_exception(cls, args, str(form.get("m", "")))
        exc.__vivek_solution__ = True
        return exc

    def call(self, n: int, args: tuple, kwargs: dict):
        wk = []
        for k, v in kwargs.items():
            wk += [k, self.encoder(v)]
        wire = [self.encoder(a) for a in args]
        return self.request([Op.CALL, n, wire, wk], (*args, *kwargs.values()))

    def op(self, n: int, name: str, *args):
        return self.request([Op.OP, n, name, [self.encoder(a) for a in args]])

    def names(self, bind: list[str], classes: list[str]) -> dict[str, object]:
        """The task's names, resolved in the solution: name -> value (absent if missing).

        Classes first, so that their handle numbers are known before any instance crosses.
        """
        found: dict[str, object] = {}
        reply = self._exchange([Op.NAMES, list(classes), list(classes)]) if classes else None
        for name, item in zip(classes, self._list(reply) if reply else [], strict=False):
            try:
                value = self._named(item)
            except KeyError:
                continue
            if type(value) is RemoteClass:
                self.task_classes.add(object.__getattribute__(value, "_n"))
                found[name] = value
        rest = [n for n in bind if n not in found]
        reply = self._exchange([Op.NAMES, rest, []])
        for name, item in zip(rest, self._list(reply), strict=False):
            try:
                found[name] = self._named(item)
            except KeyError:
                continue
        return found

    def _list(self, reply) -> list:
        if reply[0] != Reply.RESULT or len(reply) < 2 or type(reply[1]) is not list:
            raise CrossingError("the solution did not answer for the task's names")
        return reply[1]

    def _named(self, item):
        if type(item) is not list or len(item) != 2 or item[0] is not True:
            raise KeyError("missing")
        try:
            return self.decode(item[1])
        except (MemoryError, CrossingError):
            raise
        except Exception as exc:
            raise CrossingError(f"a name of the solution cannot be rebuilt: {exc}"[:300]) from None

    def batch(self, calls: list, full: int = 0) -> tuple[list[str], bool]:
        """Send every differential call at once; their outputs as reprs ("!Exc" when the
        call raised, "!refused" when the answer is not data), and whether all arrived."""
        outputs: list[str] = []
        if self.gone:
            return outputs, False
        try:
            self.link.send([Op.BATCH, calls])
            while True:
                msg = self.link.recv()
                if msg[0] == Reply.RESULT:
                    return outputs, len(outputs) == len(calls)
                if msg[0] != Reply.PART or len(msg) != 3 or msg[1] != len(outputs):
                    raise ValueError("out of step")
                cap = FULL_OUTPUT_CAP if len(outputs) < full else OUTPUT_CAP
                outputs.append(self._output(msg[2], cap))
                if len(outputs) > len(calls):
                    raise ValueError("too many answers")
        except LinkClosed:
            self.gone = "the solution process is gone (it exited or was killed)"
        except (ValueError, TypeError, RecursionError) as exc:
            self.gone = f"the solution process broke the protocol: {type(exc).__name__}"
        return outputs, False

    def _output(self, out, cap: int) -> str:
        if type(out) is not list or len(out) != 2:
            return "!malformed"
        kind, payload = out
        if kind == "e":
            return "!" + (payload if type(payload) is str and payload.isidentifier() else "Error")
        if kind != "v":
            return "!refused"
        try:
            return repr(self.decode(payload))[:cap]
        except (MemoryError, CrossingError):
            return "!refused"
        except Exception:
            return "!malformed"

    def handle(self, msg):
        """A call from the solution to a callable the tests lent it."""
        try:
            n = msg[1]
            if msg[0] != Op.CALL or type(n) is not int or not 0 <= n < len(self.lent):
                return [Reply.REFUSED, "the tests only take calls to what they lent"]
            args = [self.decode(a) for a in msg[2]]
            it = iter(msg[3])
            kwargs = {k: self.decode(v) for k, v in zip(it, it, strict=True)}
            result = self.lent[n](*args, **kwargs)
        except BaseException as exc:
            form = {"n": type(exc).__name__, "b": builtin_base(type(exc)), "m": str(exc)}
            return [Reply.RAISED, form]
        try:
            return [Reply.RESULT, self.encoder(result)]
        except (NotPlain, HarnessLimit) as exc:
            return [Reply.REFUSED, str(exc)]


class SolutionModule(types.ModuleType):
    """``solution`` as the tests import it: the task's names (``__all__``), the rest on demand.

    ``from solution import *`` gives exactly the names the task defines; a name the tests
    ask for explicitly (``solution.helper``) is fetched then.
    """

    def __getattr__(self, name: str):
        if name.startswith("__") and name.endswith("__"):
            raise AttributeError(name)
        client = self.__dict__["__vivek_client__"]
        return client.request([Op.GET, 0, name])


def solution_module(client: Client, values: dict[str, object], imports: list) -> SolutionModule:
    """The proxy module: the task's names bound to their handles, the prompt's imports to
    the tester's own modules, ``__all__`` their union (never a name of the solution's)."""
    module = SolutionModule("solution")
    module.__dict__["__vivek_client__"] = client
    module.__file__ = "solution.py"
    public = []
    for name, value in values.items():
        module.__dict__[name] = value
        public.append(name)
    for item in imports:
        name, value = _own_import(item)
        if name is not None and name not in module.__dict__:
            module.__dict__[name] = value
            public.append(name)
    module.__all__ = public
    return module


def _own_import(item) -> tuple[str | None, object]:
    import importlib

    try:
        name, module_name, attr = item
        value = importlib.import_module(module_name)
        return name, (getattr(value, attr) if attr else value)
    except Exception:  # not importable here: the tests can import it themselves
        return None, None

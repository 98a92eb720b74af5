"""Values on the LINK between the tester and the solution (see ``protocol``): plain data.

Imports only the standard library and ``protocol``; importable from the host. Values
travel as tagged JSON. ``json.loads`` only ever builds exact builtin types, and the
decoder below rebuilds the tagged ones as exact builtin types too, so nothing the
solution defines (a subclass of ``int`` with an ``__eq__`` that is always True, say)
survives the crossing; it is never ``pickle``, which runs code.

Wire form of a value: JSON null, booleans, numbers and strings are themselves; a JSON
array is a ``list``; every other value is a JSON object with one key, its tag: ``t``
tuple, ``d`` dict (keys and values flattened), ``s`` set, ``f`` frozenset, ``b`` bytes
(latin-1 text), ``ba`` bytearray, ``c`` complex, ``i`` a huge int (hex), ``r`` range,
``dt``/``da``/``tm``/``td``/``tz``/``zi`` datetime, date, time, timedelta, timezone and
ZoneInfo, ``dec`` Decimal, ``fr`` Fraction, ``dq`` deque, ``dk``/``di``/``dv`` a dict's
keys/items/values view (rebuilt as a real view of a fresh dict, so they compare as views
do), ``g`` an iterator the sender consumed (rebuilt as a list iterator). Three tags are
references rather than data: ``o`` an object the sender keeps (a handle), ``y`` a handle
the receiver gave out earlier, ``a`` the receiver's own argument number n (so ``f(x) is
x`` survives).

Frames on the link: ``protocol``'s LINK frames (``Link``).
"""

from __future__ import annotations

import collections
import datetime as _dt
import json
import os
import struct
from decimal import Decimal
from fractions import Fraction

from . import protocol

BIG = 1 << 4096  # ints beyond this go as hex: json's str(int) caps at 4300 digits
SCALARS = frozenset({int, float, str, bool, type(None)})
ITERATOR_CAP = 1_000_000  # items of an iterator a sender consumes before it gives up
_KEYS, _VALUES, _ITEMS = type({}.keys()), type({}.values()), type({}.items())


class NotPlain(Exception):
    """A value that cannot cross (raised by the sender's encoder)."""


class LinkClosed(Exception):
    """The peer process is gone (EOF or a broken pipe)."""


def _zoneinfo(key):
    import zoneinfo

    return zoneinfo.ZoneInfo(key)


class Encoder:
    """Turns a value into its JSON-able wire form.

    ``export(obj)`` decides what to do with a value that is not data: return a
    reference form (``{"o": n}``) or raise ``NotPlain``. ``argrefs`` maps ``id()`` of
    the receiver's arguments to their numbers.
    """

    def __init__(self, export, argrefs: dict[int, int] | None = None) -> None:
        self.export, self.argrefs = export, argrefs or {}

    def __call__(self, x):
        t = type(x)
        if t is int:
            return x if -BIG < x < BIG else {"i": format(x, "x")}
        if t in SCALARS:
            return x
        refs = self.argrefs
        if t is list:
            if refs and id(x) in refs:
                return {"a": refs[id(x)]}
            if not refs and set(map(type, x)) <= SCALARS:
                return x  # json.dumps does the rest (a huge int there: the caller retries)
            return [self(v) for v in x]
        if t is tuple:
            return {"t": [self(v) for v in x]}
        if t is dict:
            if refs and id(x) in refs:
                return {"a": refs[id(x)]}
            out = []
            for k, v in x.items():
                out.append(self(k))
                out.append(self(v))
            return {"d": out}
        if t is set or t is frozenset:
            if refs and id(x) in refs:
                return {"a": refs[id(x)]}
            return {"s" if t is set else "f": [self(v) for v in x]}
        if t is bytes:
            return {"b": x.decode("latin-1")}
        if t is bytearray:
            return {"ba": x.decode("latin-1")}
        if t is complex:
            return {"c": [x.real, x.imag]}
        if t is range:
            return {"r": [x.start, x.stop, x.step]}
        coder = _VALUE_ENCODERS.get(t)
        if coder is not None:
            return coder(self, x)
        return self.export(x)

    def consumed(self, iterator) -> dict:
        """An iterator the sender runs to its end (``g``); NotPlain past ITERATOR_CAP items."""
        items = []
        for v in iterator:
            items.append(self(v))
            if len(items) > ITERATOR_CAP:
                raise NotPlain("an iterator with over a million items")
        return {"g": items}


def _tz(enc, tz):
    if tz is None:
        return None
    if type(tz) is _dt.timezone:
        args = tz.__getinitargs__()
        return {"tz": [enc(args[0]), args[1] if len(args) > 1 else None]}
    if type(tz).__name__ == "ZoneInfo" and type(tz).__module__ == "zoneinfo":
        return {"zi": str(tz.key)}
    raise NotPlain(f"a datetime with a custom tzinfo ({type(tz).__name__})")


def _datetime(e, x):
    parts = [x.year, x.month, x.day, x.hour, x.minute, x.second, x.microsecond]
    return {"dt": [*parts, _tz(e, x.tzinfo), x.fold]}


_VALUE_ENCODERS = {
    _dt.datetime: _datetime,
    _dt.date: lambda e, x: {"da": [x.year, x.month, x.day]},
    _dt.time: lambda e, x: {
        "tm": [x.hour, x.minute, x.second, x.microsecond, _tz(e, x.tzinfo), x.fold]
    },
    _dt.timedelta: lambda e, x: {"td": [x.days, x.seconds, x.microseconds]},
    _dt.timezone: _tz,
    Decimal: lambda e, x: {"dec": str(x)},
    Fraction: lambda e, x: {"fr": [e(x.numerator), e(x.denominator)]},
    collections.deque: lambda e, x: {"dq": [[e(v) for v in x], x.maxlen]},
    _KEYS: lambda e, x: {"dk": [e(v) for v in x]},
    _VALUES: lambda e, x: {"dv": [e(v) for v in x]},
    _ITEMS: lambda e, x: {"di": [e(v) for kv in x for v in kv]},
}


def _ints(payload, n):
    if type(payload) is not list or len(payload) != n:
        raise ValueError("malformed value")
    return payload


class Decoder:
    """Rebuilds wire forms as exact builtin values.

    ``resolve(tag, payload)`` turns the reference tags (``o``, ``y``, ``a``) into
    objects; ``iterator(items)`` rebuilds a consumed iterator (``g``).
    """

    def __init__(self, resolve, iterator=iter) -> None:
        self.resolve, self.iterator = resolve, iterator

    def __call__(self, v):
        t = type(v)
        if t is list:
            if set(map(type, v)) <= SCALARS:
                return v[:]  # a copy: the sender's wire form stays a pristine snapshot
            return [self(x) for x in v]
        if t is not dict:
            return v  # json.loads built it: an exact int, float, str, bool or None
        if len(v) != 1:
            raise ValueError("malformed value")
        ((tag, p),) = v.items()
        if tag == "t":
            return tuple(self(x) for x in _seq(p))
        if tag == "d":
            items = [self(x) for x in _seq(p)]
            it = iter(items)
            return dict(zip(it, it, strict=True))
        if tag == "s":
            return {self(x) for x in _seq(p)}
        if tag == "f":
            return frozenset(self(x) for x in _seq(p))
        if tag in ("b", "ba"):
            if type(p) is not str:
                raise ValueError("malformed bytes")
            return (bytes if tag == "b" else bytearray)(p, "latin-1")
        if tag == "c":
            re, im = _ints(p, 2)
            return complex(float(re), float(im))
        if tag == "i":
            if type(p) is not str:
                raise ValueError("malformed int")
            return int(p, 16)
        if tag == "r":
            return range(*(_int(x) for x in _ints(p, 3)))
        if tag == "g":
            return self.iterator([self(x) for x in _seq(p)])
        if tag in _VALUE_DECODERS:
            return _VALUE_DECODERS[tag](self, p)
        if tag in ("o", "y", "a"):
            return self.resolve(tag, p)
        raise ValueError(f"unknown tag {tag!r}")


def _hexify(x):
    if type(x) is int and not -BIG < x < BIG:
        return {"i": format(x, "x")}
    if type(x) is list:
        return [_hexify(v) for v in x]
    if type(x) is dict:
        return {k: _hexify(v) for k, v in x.items()}
    return x


def _seq(p):
    if type(p) is not list:
        raise ValueError("malformed container")
    return p


def _int(x):
    if type(x) is not int:
        raise ValueError("malformed int")
    return x


def _dec_tz(d, p):
    if p is None:
        return None
    if type(p) is not dict:
        raise ValueError("malformed tzinfo")
    return d(p)


def _dec_timezone(d, p):
    off, name = _ints(p, 2)
    off = d(off)
    if type(off) is not _dt.timedelta or (name is not None and type(name) is not str):
        raise ValueError("malformed timezone")
    return _dt.timezone(off) if name is None else _dt.timezone(off, name)


def _dec_datetime(d, p):
    *parts, tz, fold = _ints(p, 9)
    return _dt.datetime(*map(_int, parts), tzinfo=_dec_tz(d, tz), fold=_int(fold))


def _dec_time(d, p):
    *parts, tz, fold = _ints(p, 6)
    return _dt.time(*map(_int, parts), tzinfo=_dec_tz(d, tz), fold=_int(fold))


def _dec_fraction(d, p):
    num, den = (d(x) for x in _ints(p, 2))
    return Fraction(_int(num), _int(den))


def _dec_decimal(d, p):
    if type(p) is not str:
        raise ValueError("malformed Decimal")
    return Decimal(p)


def _dec_deque(d, p):
    items, maxlen = _ints(p, 2)
    if maxlen is not None:
        _int(maxlen)
    return collections.deque((d(x) for x in _seq(items)), maxlen)


def _dec_items(d, p):
    flat = [d(x) for x in _seq(p)]
    if len(flat) % 2:
        raise ValueError("malformed items view")
    it = iter(flat)
    return dict(zip(it, it, strict=True)).items()


_VALUE_DECODERS = {
    "dq": _dec_deque,
    "dk": lambda d, p: dict.fromkeys(d(x) for x in _seq(p)).keys(),
    "dv": lambda d, p: dict(enumerate(d(x) for x in _seq(p))).values(),
    "di": _dec_items,
    "dt": _dec_datetime,
    "da": lambda d, p: _dt.date(*map(_int, _ints(p, 3))),
    "tm": _dec_time,
    "td": lambda d, p: _dt.timedelta(*map(_int, _ints(p, 3))),
    "tz": _dec_timezone,
    "zi": lambda d, p: _zoneinfo(p) if type(p) is str else _int("malformed"),
    "dec": _dec_decimal,
    "fr": _dec_fraction,
}


# ---------------------------------------------------------------- link
class Link:
    """One end of the pipe pair between the two processes.

    ``handle(msg)`` serves a request from the peer and returns the reply message.
    ``request(msg)`` sends a request and serves the peer's nested requests (callbacks)
    until the reply to ours comes back.
    """

    def __init__(self, rfd: int, wfd: int, handle) -> None:
        self.rfd, self.wfd, self.handle = rfd, wfd, handle
        self._in = bytearray()  # read ahead: one system call brings many small frames
        self._out = bytearray()  # frames held back until ``flush`` (a batch's answers)

    def send(self, msg, flush: bool = True) -> None:
        try:
            body = json.dumps(msg, separators=(",", ":")).encode()
        except ValueError:  # an int past str()'s digit cap, left in a list by the fast path
            body = json.dumps(_hexify(msg), separators=(",", ":")).encode()
        self._out += protocol.pack(body)
        if flush:
            self.flush()

    def flush(self) -> None:
        data, self._out = bytes(self._out), bytearray()
        try:
            protocol.write_all(self.wfd, data)
        except OSError as exc:
            raise LinkClosed(str(exc)) from None

    def _read(self, n: int) -> bytes:
        while len(self._in) < n:
            try:
                chunk = os.read(self.rfd, max(1 << 16, min(n - len(self._in), 1 << 20)))
            except OSError as exc:
                raise LinkClosed(str(exc)) from None
            if not chunk:
                raise LinkClosed("end of stream")
            self._in += chunk
        data = bytes(self._in[:n])
        del self._in[:n]
        return data

    def recv(self):
        (n,) = struct.unpack(">I", self._read(4))
        if n > protocol.FRAME_CAP:
            raise ValueError(f"a message of {n} bytes is over the cap")
        msg = json.loads(self._read(n))
        if type(msg) is not list or not msg or type(msg[0]) is not str:
            raise ValueError("malformed message")
        return msg

    def request(self, msg):
        self.send(msg)
        while True:
            reply = self.recv()
            if reply[0] in protocol.Reply.FINAL:
                return reply
            self.send(self.handle(reply))

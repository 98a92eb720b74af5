"""The wire between the test and the solution process, run in-process from the host."""

from __future__ import annotations

import datetime as dt
import json
import math
import os
from decimal import Decimal
from fractions import Fraction

import pytest

from tasks.sandbox.inside import exceptions as _exceptions
from tasks.sandbox.inside import wire as _wire


def refuse(x):
    raise _wire.NotPlain(f"non-plain: {type(x).__name__}")


def no_refs(tag, payload):
    raise ValueError(tag)


def cross(value):
    """Encode, go through JSON text as on the pipe, decode."""
    text = json.dumps(_wire.Encoder(refuse)(value))
    return _wire.Decoder(no_refs)(json.loads(text))


PLAIN = [
    None, True, False, 0, -7, 10**30, 10**5000, 1.5, -0.0, math.inf, "", "ünï\udcff", b"\x00\xff",
    bytearray(b"ab"), 2 + 3j, [1, [2, [3]]], (1, (2,)), (), {"a": 1, 2: [3], (4, 5): None},
    {1, 2}, frozenset({"x"}), range(1, 10, 3), [1, "a", 2.5, None, True],
    dt.datetime(2024, 1, 2, 3, 4, 5, 6, tzinfo=dt.timezone(dt.timedelta(hours=5, minutes=30))),
    dt.datetime(2024, 1, 2), dt.date(2020, 2, 29), dt.time(1, 2, 3),
    dt.timedelta(days=-1, seconds=5),
    dt.UTC, dt.timezone(dt.timedelta(hours=-3), "BRT"), Decimal("1.10"), Fraction(3, 4),
]  # fmt: skip


@pytest.mark.parametrize("value", PLAIN, ids=lambda v: type(v).__name__)
def test_plain_values_come_back_equal_and_of_the_exact_type(value):
    back = cross(value)
    assert back == value and type(back) is type(value)
    if isinstance(value, list | tuple):
        assert [type(x) for x in back] == [type(x) for x in value]


def test_nan_and_identity_of_shared_scalars():
    (back,) = cross([math.nan])
    assert math.isnan(back)


class Yes(int):
    def __eq__(self, other):
        return True

    __hash__ = int.__hash__


@pytest.mark.parametrize("value", [Yes(2), [1, Yes(2)], {"k": Yes(1)}, object(), len])
def test_anything_else_is_refused_by_the_sender(value):
    with pytest.raises(_wire.NotPlain):
        _wire.Encoder(refuse)(value)


@pytest.mark.parametrize(
    "wire",
    [
        {"t": 1},
        {"d": [1]},
        {"d": [[1], 2]},  # an unhashable key
        {"zz": 1},
        {"a": 1, "b": 2},
        {"c": [1]},
        {"r": [1, 2.5, 1]},
        {"dt": [2024, 1, 1, 0, 0, 0, 0, {"zi": 5}, 0]},
        {"i": 5},
        {"b": 5},
    ],
)
def test_malformed_wire_forms_are_errors_not_objects(wire):
    with pytest.raises((ValueError, TypeError)):
        _wire.Decoder(no_refs)(wire)


def test_decoded_lists_are_copies_of_the_wire_form():
    wire = [1, 2, 3]
    back = _wire.Decoder(no_refs)(wire)
    back.append(4)
    assert wire == [1, 2, 3]


def test_references_go_to_the_resolver():
    seen = []

    def resolve(tag, payload):
        seen.append((tag, payload))
        return "obj"

    assert _wire.Decoder(resolve)([{"o": [3, "f", None]}, {"y": 1}, {"a": 0}]) == ["obj"] * 3
    assert seen == [("o", [3, "f", None]), ("y", 1), ("a", 0)]


def test_exception_classes_are_builtin_or_named_subclasses_of_the_nearest_builtin():
    cache: dict = {}
    assert _exceptions.exception_class("ValueError", "ValueError", cache) is ValueError
    mine = _exceptions.exception_class("BadInput", "ValueError", cache)
    assert issubclass(mine, ValueError) and mine.__name__ == "BadInput"
    assert _exceptions.exception_class("BadInput", "ValueError", cache) is mine
    assert _exceptions.exception_class("print", "nonsense", cache).__bases__ == (Exception,)
    assert _exceptions.exception_class(5, None, cache) is Exception

    class Custom(KeyError):
        pass

    assert _exceptions.builtin_base(Custom) == "KeyError"
    exc = _exceptions.build_exception(KeyError, ("k",), "'k'")
    assert type(exc) is KeyError and exc.args == ("k",)
    assert type(_exceptions.build_exception(UnicodeDecodeError, ("x",), "m")) is UnicodeDecodeError


def test_link_round_trip_and_nested_requests():
    r1, w1 = os.pipe()
    r2, w2 = os.pipe()
    server = _wire.Link(r1, w2, None)
    client = _wire.Link(r2, w1, lambda msg: ["r", msg[1] * 2])
    server.send(["c", 21])  # the server asks first (a nested request), then replies
    server.send(["r", "done"])
    client.send(["x"])  # what the client sent is read by the server below
    assert client.request(["q"]) == ["r", "done"]
    assert server.recv() == ["x"]
    assert server.recv() == ["q"]
    assert server.recv() == ["r", 42]  # the client's answer to the nested request
    os.close(w1)
    with pytest.raises(_wire.LinkClosed):
        server.recv()
    for fd in (r1, r2, w2):
        os.close(fd)

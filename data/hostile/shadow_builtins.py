# Issue 20.1: names the tests would see from `from solution import *`. A wrong answer
# plus replacements for the builtins the tests use to judge it.
__all__ = ["f", "abs", "all", "len", "isinstance", "set", "zip", "type", "sorted", "round"]


def f():
    return 2  # the right answer is 1


def abs(x):
    return 0


def all(xs):
    return True


def len(x):
    return 1


def sorted(xs, *a, **k):
    return [1]


def round(x, *a):
    return 1


def zip(*a, **k):
    return iter([(1, 1)])


class isinstance(Exception):  # an exception class named like a builtin
    def __new__(cls, *a):
        return True


set = list
type = lambda x: int  # noqa: E731

# Issue 20.7: a wrong answer sent in a form the tester cannot rebuild (a Fraction with a
# zero denominator), hoping the failure is blamed on the suite and leaves every score.
import sys


def _patch():
    for name, module in list(sys.modules.items()):
        link = getattr(module, "Link", None)
        if name.endswith("wire") and link is not None:
            original = link.send

            def send(self, msg, flush=True):
                if type(msg) is list and msg[:1] == ["r"] and len(msg) > 1 and msg[1] == 2:
                    msg = ["r", {"fr": [1, 0]}]
                return original(self, msg, flush)

            link.send = send


_patch()


class ValueError(Exception):  # an exception class named like a builtin, not one
    pass


def f():
    return 2  # the right answer is 1

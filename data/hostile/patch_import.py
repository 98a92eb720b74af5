import builtins
_imp = builtins.__import__
builtins.__import__ = lambda *a, **k: _imp(*a, **k)

def f():
    return 1

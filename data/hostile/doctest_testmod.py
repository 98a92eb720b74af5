# An honest solution that runs its own doctests (doctest sets builtins._): must pass.
def f():
    """
    >>> f()
    1
    """
    return 1


import doctest  # noqa: E402

doctest.testmod()

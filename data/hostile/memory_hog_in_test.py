def f():
    return len([0] * 10**9)

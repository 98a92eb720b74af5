def f():
    try:
        return open('CHECKOUT/pyproject.toml').read()
    except OSError:
        return 1

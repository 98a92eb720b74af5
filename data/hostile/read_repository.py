def f():
    try:
        return open('/work/main/pyproject.toml').read()
    except OSError:
        return 1

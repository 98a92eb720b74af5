def f():
    try:
        return open('KEYPATH').read()
    except OSError:
        return 1

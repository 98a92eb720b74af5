def f():
    try:
        open('/tmp/PROBE', 'w').write('x')
    except OSError:
        pass
    return 1

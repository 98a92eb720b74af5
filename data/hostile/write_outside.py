def f():
    done = 0
    for d in ('CHECKOUT', '/etc', '/root', '/usr', '/'):
        try:
            open(d + '/PROBE', 'w').write('x')
            done += 1
        except OSError:
            pass
    return 1 - done

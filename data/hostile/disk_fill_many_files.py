def f():
    i = 0
    try:
        while True:
            with open(f'big{i}', 'wb') as fh:
                fh.write(b'x' * (7 * 2**20))
            i += 1
    except OSError:
        return 1

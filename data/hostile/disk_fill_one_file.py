def f():
    with open('big', 'wb') as fh:
        while True:
            fh.write(b'x' * 2**20)

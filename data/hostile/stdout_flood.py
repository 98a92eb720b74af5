import sys

def f():
    while True:
        sys.stdout.write('x' * 65536)

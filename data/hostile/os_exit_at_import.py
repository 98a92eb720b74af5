import os
os._exit(0)

def f():
    return 1

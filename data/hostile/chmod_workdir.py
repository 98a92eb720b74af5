import os
os.chmod('.', 0)

def f():
    return 1

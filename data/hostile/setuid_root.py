import os
os.setuid(0)

def f():
    return 1

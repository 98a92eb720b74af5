import os
os.killpg(0, 9)

def f():
    return 1

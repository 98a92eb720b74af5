import os
os.close(3)

def f():
    return 1

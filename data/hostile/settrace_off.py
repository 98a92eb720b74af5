import sys
sys.settrace(None)

def f():
    return 1

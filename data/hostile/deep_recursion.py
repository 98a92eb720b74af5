import sys
sys.setrecursionlimit(10**7)

def f(n=0):
    return f(n + 1)

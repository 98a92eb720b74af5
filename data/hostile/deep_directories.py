# Leaves 3,000 nested directories behind (deeper than PATH_MAX and the recursion limit).
import os


def f():
    for _ in range(3000):
        os.mkdir("d")
        os.chdir("d")
    return 1

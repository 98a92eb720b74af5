# Issue 20.6: each call forks a child that burns CPU just under the per-process limit;
# together they use several times the sample's CPU limit, and the answer is right.
import os
import time


def _burn(seconds):
    end = time.process_time() + seconds
    while time.process_time() < end:
        pass


def f():
    pid = os.fork()
    if pid == 0:
        _burn(0.8)
        os._exit(0)
    os.waitpid(pid, 0)
    return 1

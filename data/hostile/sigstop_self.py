import os, signal
os.kill(os.getpid(), signal.SIGSTOP)

def f():
    return 1

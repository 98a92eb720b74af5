# Four processes of ~200 MB each: within a per-process memory limit, over a per-sample one.
import os
import time


def _hold(mb):
    block = bytearray(mb * 2**20)
    for i in range(0, len(block), 4096):
        block[i] = 1
    return block


def f():
    children = []
    for _ in range(3):
        pid = os.fork()
        if pid == 0:
            _hold(200)
            time.sleep(1.5)
            os._exit(0)
        children.append(pid)
    mine = _hold(200)
    for pid in children:
        os.waitpid(pid, 0)
    return 1 if mine else 0

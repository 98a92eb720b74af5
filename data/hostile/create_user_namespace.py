# Tries to create a user namespace (a way to regain capabilities inside the sandbox).
import ctypes

CLONE_NEWUSER = 0x10000000
libc = ctypes.CDLL(None, use_errno=True)


def f():
    return 0 if libc.unshare(CLONE_NEWUSER) == 0 else 1

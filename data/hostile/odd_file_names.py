# Leaves an undecodable file name, a symlink to a directory and an unreadable directory.
import os


def f():
    fd = os.open(b"\xff\xfe-name", os.O_WRONLY | os.O_CREAT, 0o644)
    os.write(fd, b"xy")
    os.close(fd)
    os.mkdir("real-dir")
    os.symlink("real-dir", "dir-link")
    os.mkdir("closed")
    os.chmod("closed", 0)
    return 1

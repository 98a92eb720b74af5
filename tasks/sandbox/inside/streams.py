"""Bytes that pass through the worker in the kernel only: host pipe -> files and memfds,
stream tails -> host. A sample's code, tests and output never enter the worker's memory,
which every later sample's processes would inherit (see ``protocol``).
"""

from __future__ import annotations

import os


class Tail:
    """The byte count and the last ``cap`` bytes of a stream, kept in a memfd: the bytes
    move pipe -> memfd -> host inside the kernel and never enter our memory."""

    def __init__(self, cap: int) -> None:
        self.cap, self.total = cap, 0
        self.fd = os.memfd_create("tail", os.MFD_CLOEXEC)

    def drain(self, pipe: int) -> bool:
        """Move what the pipe holds; False at end of stream."""
        moved = os.splice(pipe, self.fd, 1 << 20)
        self.total += moved
        if self.cap and os.fstat(self.fd).st_size > 4 * self.cap:
            self._rotate()
        return moved > 0

    def _rotate(self) -> None:
        size = os.fstat(self.fd).st_size
        fresh = os.memfd_create("tail", os.MFD_CLOEXEC)
        os.copy_file_range(self.fd, fresh, self.cap, size - self.cap, 0)
        os.lseek(fresh, 0, os.SEEK_END)
        os.close(self.fd)
        self.fd = fresh

    def tail(self) -> tuple[int, int]:
        """(offset, length) of the last ``cap`` bytes."""
        size = os.fstat(self.fd).st_size
        length = min(size, self.cap)
        return size - length, length


def splice_in(src: int, n: int) -> int:
    """Move ``n`` bytes from the host pipe into a fresh memfd, never through our memory."""
    fd = os.memfd_create("tests", os.MFD_CLOEXEC)
    while n:
        moved = os.splice(src, fd, n)
        if not moved:
            raise EOFError("the host closed the pipe mid-job")
        n -= moved
    return fd


def splice_out(fd: int, dst: int, n: int, offset: int = 0) -> None:
    end = offset + n
    while offset < end:
        moved = os.splice(fd, dst, end - offset, offset_src=offset)
        if not moved:
            raise EOFError("file shorter than its size")
        offset += moved


def splice_into(src: int, fd: int, n: int) -> None:
    """Move ``n`` bytes from the host pipe into ``fd`` (a file), never through our memory."""
    while n:
        moved = os.splice(src, fd, n)
        if not moved:
            raise EOFError("the host closed the pipe mid-job")
        n -= moved

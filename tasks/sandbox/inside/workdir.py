"""The sample's work dir: prepared before, listed and removed after, whatever it holds.

Imports only the standard library (it runs in the sandbox) and is importable from the
host for tests. A sample's own mess (thousands of nested directories, undecodable names,
symlinks, directories it made unreadable) stays the sample's business: nothing here
recurses, removal works relative to one directory fd at a time so paths never grow past
PATH_MAX, and names are reported escaped to valid UTF-8.
"""

from __future__ import annotations

import contextlib
import os
import stat
from collections import deque

SOLUTION = "solution.py"
MAX_REPORTED = 50
MAX_LISTED_DEPTH = 32
_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC


def create(workdir: str, uid: int | None) -> int:
    """A fresh work dir with an empty ``solution.py`` (both the sample uid's); its fd, for
    writing (the worker splices the code into it, never holding it in its own memory)."""
    if os.path.lexists(workdir):
        remove(workdir)
    os.mkdir(workdir, 0o700)
    fd = os.open(os.path.join(workdir, SOLUTION), os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    if uid is not None:
        os.chown(workdir, uid, uid)
        os.fchown(fd, uid, uid)
    return fd


def prepare(workdir: str, code: str, uid: int | None) -> None:
    """A fresh work dir holding ``solution.py`` only, written from ``code``."""
    fd = create(workdir, uid)
    try:
        os.write(fd, code.encode("utf-8", "surrogatepass"))
    finally:
        os.close(fd)


def shown(rel: bytes) -> str:
    """A path as valid UTF-8 text: undecodable bytes escaped as ``\\xff``."""
    return rel.decode("utf-8", "backslashreplace")


def _open_dir(name: bytes | str, parent: int | None) -> int:
    try:
        return os.open(name, _DIR_FLAGS, dir_fd=parent)
    except PermissionError:  # a directory the sample made unreadable
        os.chmod(name, 0o700, dir_fd=parent, follow_symlinks=False)
        return os.open(name, _DIR_FLAGS, dir_fd=parent)


def _entries(fd: int) -> list[tuple[bytes, os.stat_result | None]]:
    with os.scandir(fd) as it:
        names = [os.fsencode(e.name) for e in it]
    out = []
    for name in names:
        try:
            out.append((name, os.stat(name, dir_fd=fd, follow_symlinks=False)))
        except OSError:
            out.append((name, None))
    return out


def side_effects(workdir: str) -> list[str]:
    """What the sample left besides solution.py: files with sizes, symlinks with targets."""
    found: list[str] = []
    root = _open_dir(workdir, None)
    try:
        queue: deque[bytes] = deque([b""])
        while queue and len(found) < MAX_REPORTED:
            rel = queue.popleft()
            try:
                fd = _open_dir(rel, root) if rel else os.dup(root)
            except OSError:
                found.append(f"{shown(rel)}/: not listed")
                continue
            try:
                entries = _entries(fd)
                for name, st in sorted(entries):
                    path = rel + b"/" + name if rel else name
                    if st is None:
                        found.append(f"{shown(path)}: vanished")
                    elif stat.S_ISLNK(st.st_mode):
                        target = b"?"
                        with contextlib.suppress(OSError):
                            target = os.readlink(name, dir_fd=fd)
                        found.append(f"{shown(path)} -> {shown(os.fsencode(target))}")
                    elif stat.S_ISDIR(st.st_mode):
                        if name == b"__pycache__":
                            continue
                        if path.count(b"/") >= MAX_LISTED_DEPTH:
                            found.append(f"{shown(path)}/: deeper, not listed")
                        else:
                            queue.append(path)
                    elif path != SOLUTION.encode():
                        found.append(f"{shown(path)}: {st.st_size} bytes")
            finally:
                os.close(fd)
    finally:
        os.close(root)
    return sorted(found)[:MAX_REPORTED]


def remove(workdir: str) -> None:
    """Remove ``workdir`` and everything in it, however deep, holding one fd at a time."""
    fd = _open_dir(workdir, None)
    path: list[bytes] = []  # names from workdir down to where fd is
    try:
        while True:
            sub = None
            for name, st in _entries(fd):
                if st is not None and stat.S_ISDIR(st.st_mode):
                    sub = sub or name
                    continue
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(name, dir_fd=fd)
            if sub is not None:
                child = _open_dir(sub, fd)
                os.close(fd)
                fd = child
                path.append(sub)
                continue
            if not path:
                break
            parent = os.open(b"..", _DIR_FLAGS, dir_fd=fd)
            os.close(fd)
            fd = parent
            os.rmdir(path.pop(), dir_fd=fd)
    finally:
        os.close(fd)
    os.rmdir(workdir)


def clean(workdir: str) -> list[str]:
    """The side effects, then the work dir removed (the common case: one stat, one unlink)."""
    try:
        with os.scandir(workdir) as it:
            names = [e.name for e in it]
    except OSError:
        names = None
    if names == [SOLUTION]:
        os.unlink(os.path.join(workdir, SOLUTION))
        os.rmdir(workdir)
        return []
    found = side_effects(workdir)
    remove(workdir)
    return found

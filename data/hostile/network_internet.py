import socket

def f():
    try:
        socket.create_connection(('pypi.org', 443), timeout=1).close()
        return 0
    except OSError:
        return 1

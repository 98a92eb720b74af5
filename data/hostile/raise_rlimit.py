import resource
resource.setrlimit(resource.RLIMIT_AS, (-1, -1))

def f():
    return 1

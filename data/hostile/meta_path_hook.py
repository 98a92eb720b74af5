import sys

class Finder:
    @staticmethod
    def find_spec(*a):
        return None

sys.meta_path.insert(0, Finder)

def f():
    return 1

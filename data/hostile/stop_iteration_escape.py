# Issue 20.5: StopIteration raised by the solution inside the tests' all(map(...)) would
# end the generator early, and all() of an empty run is True.
def f(x):
    raise StopIteration  # the right answer is x > 0

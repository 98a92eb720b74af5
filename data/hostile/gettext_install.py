# An honest solution that installs gettext's _() and changes the display hook: must pass.
import gettext
import sys

gettext.install("vivek")
sys.displayhook = lambda value: None


def f():
    return 1

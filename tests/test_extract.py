from tasks.extract import complete_with_prompt, extract_code


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
    from tasks.extract import extract_for_task

    prompt = 'def inc(x):\n    """Add one."""\n'
    assert (
        extract_for_task("    return x + 1\n", prompt, "inc", True) == prompt + "    return x + 1\n"
    )


def test_chat_reply_for_code_prompt_keeps_the_full_function():
    from tasks.extract import extract_for_task

    reply = "```python\ndef inc(x):\n    return x + 1\n```"
    assert (
        extract_for_task(reply, "def inc(x):\n", "inc", True) == "def inc(x):\n    return x + 1\n"
    )
    assert extract_for_task("no code here", "def inc(x):\n", "inc", True) == ""
    assert extract_for_task(reply, "ignored", "inc", False) == "def inc(x):\n    return x + 1\n"

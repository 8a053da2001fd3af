"""``shared/frameworks/{agno,crewai}_runner.py``: the same :class:`AgentTask` through each
real framework, in its own environment (``.venvs/<variant>``), against the scripted
Ollama-API server. Both must show the model the task's instructions and tools, run the
tools, send the task's answer schema as structured output, and return the final text;
a model that cannot be reached is ``ModelUnavailable`` in both."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest

from events import VARIANTS
from modelserver.scripted import ScriptedOllama, tools_script

pytestmark = pytest.mark.process

REPO = Path(__file__).parents[2]
SCHEMA = {
    "type": "object",
    "properties": {"verdict": {"type": "string"}},
    "required": ["verdict"],
    "additionalProperties": False,
}
ANSWER = {"verdict": "the echo answered"}
#: Runs in the variant's environment: one task, then one JSON line on stdout.
PROGRAM = """
import json, sys
from importlib import import_module
from shared.role import AgentTask, ModelSettings, Tool
from shared.errors import ModelUnavailable

variant, host, schema = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])

def echo(text: str) -> str:
    '''Repeat the text, upper-cased.

    Args:
        text: What to repeat.
    '''
    return "ECHO " + text.upper()

runner = import_module(f"shared.frameworks.{variant}_runner").build_runner(
    None, ModelSettings(name="gemma3:270m", host=host, timeout_s=10)
)
task = AgentTask(
    title="Echo Tester",
    goal="Check that tools run.",
    instructions="You test the echo tool. Call it once, then answer in JSON.",
    prompt="Echo 'hello'.",
    tools=(Tool("echo", echo),),
    answer_format=schema or None,
    max_tool_calls=3,
)
try:
    print(json.dumps({"variant": runner.variant, "answer": runner.run(task)}))
except ModelUnavailable as error:
    print(json.dumps({"variant": runner.variant, "error": error.code}))
"""


def run_task(variant: str, host: str, schema: dict[str, Any] | None) -> dict[str, Any]:
    python = REPO / ".venvs" / variant / "bin" / "python"
    command = [str(python), "-c", PROGRAM, variant, host, json.dumps(schema or {})]
    done = subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


#: Runs in the variant's environment: the runner's first-call imports, one task, then the
#: framework modules the task still imported (JSON on stdout's last line).
FIRST_CALL = PROGRAM.replace(
    "runner = import_module(",
    "first = import_module(f'shared.frameworks.{variant}_runner')\n"
    "for name in first.FIRST_CALL_IMPORTS:\n"
    "    import_module(name)\n"
    "before = set(sys.modules)\n"
    "runner = import_module(",
    1,
) + (
    "framework = ('agno', 'ollama', 'crewai', 'openai', 'httpx', 'httpcore', 'h11')\n"
    "late = sorted(m for m in set(sys.modules) - before if m.split('.')[0] in framework)\n"
    "print(json.dumps({'late': late}))\n"
)


@pytest.mark.parametrize("variant", VARIANTS)
def test_the_first_call_imports_are_all_a_first_task_imports(variant: str) -> None:
    """What a snapshot start imports before its checkpoint (``FIRST_CALL_IMPORTS``) is
    every framework module a first task imports: a restored copy pays none of them."""
    python = REPO / ".venvs" / variant / "bin" / "python"
    with ScriptedOllama(tools_script([("echo", {"text": "hello"})], ANSWER)) as model:
        command = [str(python), "-c", FIRST_CALL, variant, model.url, json.dumps(SCHEMA)]
        done = subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-3000:]
    late = json.loads(done.stdout.strip().splitlines()[-1])["late"]
    print(variant, late)
    assert late == [], f"{variant}'s first task still imported {late}"


@pytest.mark.parametrize("variant", VARIANTS)
def test_the_task_reaches_the_model_and_the_tools_run(variant: str) -> None:
    script = tools_script([("echo", {"text": "hello"})], ANSWER)
    with ScriptedOllama(script) as model:
        result = run_task(variant, model.url, SCHEMA)
        bodies = [r["body"] for r in model.requests if r["endpoint"] != "/api/show"]
    assert result == {"variant": variant, "answer": json.dumps(ANSWER)}, result
    first, last = bodies[0], bodies[-1]
    system = " ".join(str(m.get("content")) for m in first["messages"] if m["role"] == "system")
    assert "You test the echo tool." in system, system
    assert "Echo 'hello'." in json.dumps(first["messages"])
    assert [tool["function"]["name"] for tool in first["tools"]] == ["echo"]
    results = [str(m.get("content")) for m in last["messages"] if m["role"] == "tool"]
    assert results == ["ECHO HELLO"], results


@pytest.mark.parametrize("variant", VARIANTS)
def test_the_answer_schema_travels_as_structured_output(variant: str) -> None:
    expected = {
        "agno": ("format", SCHEMA),
        "crewai": (
            "response_format",
            {"type": "json_schema", "json_schema": {"name": "answer", "schema": SCHEMA}},
        ),
    }[variant]
    with ScriptedOllama(tools_script([], ANSWER)) as model:
        with_schema = run_task(variant, model.url, SCHEMA)
        without = run_task(variant, model.url, None)
        bodies = [r["body"] for r in model.requests if r["endpoint"] != "/api/show"]
    assert with_schema["answer"] == without["answer"] == json.dumps(ANSWER)
    key, value = expected
    assert bodies[0].get(key) == value, bodies[0].get(key)
    assert not bodies[-1].get(key), bodies[-1].get(key)


@pytest.mark.parametrize("variant", VARIANTS)
def test_a_model_that_cannot_be_reached_is_model_unavailable(variant: str, closed_port) -> None:
    host = f"http://127.0.0.1:{closed_port.getsockname()[1]}"
    assert run_task(variant, host, None) == {"variant": variant, "error": "model_unavailable"}

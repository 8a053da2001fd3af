"""What the scripted server answers for the sample repository, role by role: the demo's
``--scripted`` run and the bench's zero-latency model. Canned: they show the chain
(events, tools, frameworks), not a model's judgement."""

from __future__ import annotations

from typing import Any

from modelserver.scripted import Team, team_script, tools_script

#: The code reviewer's findings: the known bugs of ``workspace/sample-repo``.
SAMPLE_REVIEW: dict[str, Any] = {
    "summary": "Scripted answer: five known bugs in the sample inventory service.",
    "findings": [
        {
            "path": "inventory.py",
            "line": 12,
            "severity": "medium",
            "message": "Mutable default argument 'tags': every call appends to one shared list.",
        },
        {
            "path": "inventory.py",
            "line": 15,
            "severity": "critical",
            "message": "SQL built with an f-string from 'sku': SQL injection. Use parameters.",
        },
        {
            "path": "inventory.py",
            "line": 25,
            "severity": "high",
            "message": "Off-by-one: a page returns size-1 items; drop the '- 1'.",
        },
        {
            "path": "inventory.py",
            "line": 28,
            "severity": "medium",
            "message": "ZeroDivisionError when the inventory is empty.",
        },
        {
            "path": "pricing.py",
            "line": 12,
            "severity": "high",
            "message": "The loop starts at index 1, so the first price is never added.",
        },
    ],
}
PLAN: dict[str, Any] = {
    "review": True,
    "focus": "correctness bugs",
    "inspect": True,
    "question": "Are the demo's Knative services ready?",
    "check": True,
}
INSPECTION: dict[str, Any] = {
    "summary": "Scripted answer: every Knative service of the demo is listed.",
    "observations": [
        {
            "object": "namespace/default",
            "status": "ok",
            "message": "services listed by the local platform",
        }
    ],
}
SUMMARY = {"summary": "Scripted summary: five bugs found; the namespace looks healthy."}


def sample_team() -> Team:
    """Every role's script, keyed by role: give each function its own path on the server
    (:attr:`~modelserver.scripted.ScriptedOllama.url_per_service`)."""
    look = [("list_knative_services", {"namespace": "default"})]
    return team_script(
        {
            "orchestrator": PLAN,
            "code-reviewer": SAMPLE_REVIEW,
            "cluster-operator": tools_script(look, INSPECTION),
            "reporter": SUMMARY,
        }
    )

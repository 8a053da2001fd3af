"""The four-role chain on the repository's manifests, with a scripted model: one run
asserted hop by hop, for either runtime (``test_serving``, ``test_containers``)."""

from __future__ import annotations

import json
from pathlib import Path

from prometheus_client.parser import text_string_to_metric_families

from modelserver.scripted import ScriptedOllama, team_script, tools_script

ANSWER = {"summary": "scripted", "findings": []}


def run_team_chain(platform_factory, runtime: str, start: str = "cold") -> None:
    """goal → orchestrator → code reviewer + cluster inspection + a Job → reporter, per
    variant, on the repository's own manifests, ``runtime`` and ``start``; asserts every
    hop (and, with snapshot start, a second task from zero served by restored copies)."""
    base = Path(__file__).parents[2] / "knative" / "base"
    manifest = "\n---\n".join(
        p.read_text() for p in sorted(base.glob("*.yaml")) if p.name != "kustomization.yaml"
    )
    plan = {
        "review": True,
        "focus": "bugs",
        "inspect": True,
        "question": "healthy?",
        "check": True,
    }
    inspection = {
        "summary": "all services ready",
        "observations": [{"object": "ksvc/code-reviewer-agno", "status": "ok", "message": "ready"}],
    }
    look = [("list_knative_services", {"namespace": "default"})]
    answers = {  # by role: each instance calls the model under its own path, by service
        "orchestrator": plan,
        "code-reviewer": ANSWER,
        "cluster-operator": tools_script(look, inspection),
        "reporter": {"summary": "one review, one inspection, all fine"},
    }
    env = {"BINKS_CLUSTER": "local", "BINKS_ALLOWED_NAMESPACES": "default"}
    with ScriptedOllama(team_script(answers)) as model:
        env["OLLAMA_HOST"] = model.url_per_service
        # snapshot start: a short window, so the second task finds every Service at zero
        window_s = 60 if start == "cold" else 3
        platform = platform_factory(
            manifest, env=env, window_s=window_s, runtime=runtime, start=start
        )
        run_task(platform, "chain-9")
        callers = {r["caller"] for r in model.requests}
        assert callers == {f"{f}-{v}" for f in answers for v in ("agno", "crewai")}
        assert_observed(platform, "chain-9", runtime)
        if start == "snapshot":
            assert_restored(platform)


def run_task(platform, task: str) -> None:
    """Send one goal; wait for both variants' reports; assert every hop of ``task``."""
    goal = {"goal": "look at my code", "repository": "sample-repo", "namespace": "default"}
    assert platform.send("dev.binks.task.requested", goal, binkstask=task)[0] == 202

    def chain(event_type: str) -> list[dict]:
        return [e for e in platform.events(event_type) if e["attributes"].get("binkstask") == task]

    reports = platform.wait(
        lambda: (
            len(chain("dev.binks.report.published")) == 2 and chain("dev.binks.report.published")
        ),
        timeout_s=180,
        what="a report per variant",
    )
    for event_type in (
        "dev.binks.review.completed",
        "dev.binks.cluster.inspect.completed",
        "dev.binks.cluster.job.completed",
        "dev.binks.task.planned",
    ):
        variants = sorted(e["attributes"]["binksvariant"] for e in chain(event_type))
        assert variants == ["agno", "crewai"], event_type
    for report in reports:
        data = json.loads(report["data"])
        assert data["variant"] == report["attributes"]["binksvariant"]
        assert data["complete"], data["steps"]
        assert [s["status"] for s in data["steps"]] == ["completed"] * 3
        assert "all services ready" in data["markdown"]
        # the repository check ran as a local Job and its output reached the report
        assert "42 lines of Python, no syntax errors" in data["markdown"], data["markdown"]


def assert_restored(platform) -> None:
    """With snapshot start: every function was checkpointed; once all are at zero, a
    second task is served by restored instances only, as completely as the first."""
    rows = platform.control("/_binks/ps")["services"]
    functions = [r for r in rows if r["local"].startswith("functions/")]
    print({r["service"]: r["checkpoint"] for r in functions})
    assert len(functions) == 8 and all(r["checkpoint"] for r in functions), functions
    platform.wait(
        lambda: (
            not any(
                r["instances"] or r["starting"] for r in platform.control("/_binks/ps")["services"]
            )
        ),
        timeout_s=60,
        what="every Service at zero",
    )
    before = {r["service"]: r["restores"] for r in functions}
    run_task(platform, "chain-10")
    after = {r["service"]: r["restores"] for r in platform.control("/_binks/ps")["services"]}
    print("restores before", before, "after", after)
    assert all(after[name] > before[name] for name in before), (before, after)
    # the dashboard tells a restored start from a cold one
    (shown,) = [
        t for t in platform.control("/_binks/dashboard/state")["tasks"] if t["task"] == "chain-10"
    ]
    for variant, hops in shown["lanes"].items():
        started = [(h["service"], h["restored"]) for h in hops if h["cold"]]
        print(variant, started)
        assert started and all(restored for _, restored in started), (variant, started)


def assert_observed(platform, task: str, runtime: str) -> None:
    """One trace for all of ``task``'s events; the dashboard's lanes per variant (with
    the model calls the functions reported, as processes: images built before the spans
    were exported would not); the platform's and a function's ``/metrics``."""
    events = [e for e in platform.events() if e["attributes"].get("binkstask") == task]
    trace_ids = {e["attributes"].get("traceparent", "-").split("-")[1] for e in events}
    print(f"{len(events)} events of {task}, trace ids {trace_ids}")
    assert len(trace_ids) == 1 and len(next(iter(trace_ids))) == 32, trace_ids
    state = platform.control("/_binks/dashboard/state")
    (shown,) = [t for t in state["tasks"] if t["task"] == task]
    assert shown["trace_ids"] == sorted(trace_ids), shown["trace_ids"]
    for variant in ("agno", "crewai"):
        services = {h["service"] for h in shown["lanes"][variant] if h["outcome"] == "delivered"}
        roles = ("orchestrator", "code-reviewer", "cluster-operator", "reporter")
        assert {f"{r}-{variant}" for r in roles} <= services, (variant, services)
        assert any(h["cold"] for h in shown["lanes"][variant]), "no cold start shown"
        if runtime == "process":  # the function's spans reach the platform on their own
            review = platform.wait(lambda v=variant: _reported(platform, task, v), 30, "spans")
            print(review)
            assert (review["model_calls"], review["tool_calls"]) == (3, 2), review
            assert review["tokens_in"] > 0 and review["function_ms"] <= review["handler_ms"]
    text = platform.text("/metrics")
    delivered = value(text, "binks_deliveries_total", service="reporter-agno", outcome="delivered")
    cold = value(text, "binks_cold_start_seconds_count", service="orchestrator-crewai")
    accepted = value(text, "binks_broker_events_total", origin="ingress")
    print({"delivered to reporter-agno": delivered, "cold starts": cold, "accepted": accepted})
    assert delivered >= 1 and cold >= 1 and accepted >= 1
    assert value(text, "binks_instances", service="code-reviewer-crewai", variant="crewai") >= 0
    proxied = platform.text("/metrics", host="reporter-crewai.default.localhost")
    replied = value(
        proxied, "binks_function_events_total", service="reporter-crewai", outcome="replied"
    )
    assert replied == 1, proxied


def _reported(platform, task: str, variant: str) -> dict | None:
    """The code reviewer's hop of ``task`` once its function's spans are in, else None."""
    (shown,) = [
        t for t in platform.control("/_binks/dashboard/state")["tasks"] if t["task"] == task
    ]
    hops = [h for h in shown["lanes"][variant] if h["service"].startswith("code-reviewer")]
    return hops[0] if hops and "model_calls" in hops[0] else None


def value(text: str, name: str, **labels: str) -> float:
    """The sum of the samples of ``name`` whose labels include ``labels`` (AssertionError
    naming it when there is none)."""
    found = [
        sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if sample.name == name and labels.items() <= sample.labels.items()
    ]
    assert found, f"no sample {name} with {labels}"
    return sum(found)

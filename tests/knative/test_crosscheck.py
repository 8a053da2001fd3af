"""What no schema knows: the manifests agree with the code, the event contract, the bench
and the roles issue's RBAC, in every overlay."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from events import EVENT_TYPES, PING, VARIANTS
from localknative.filters import matches
from localknative.kustomize import build
from localknative.paths import REPO
from shared.defaults import READINESS_PATH

OVERLAYS = ("base", "overlays/local", "overlays/cluster", "overlays/pi")
#: MiB the cluster operator adds once it imports the kubernetes client (not in the bench:
#: the bench's inspections use the local backend).
KUBERNETES_CLIENT_MIB = 58
ROLES = sorted(p.parent.name.replace("_", "-") for p in (REPO / "functions").glob("*/role.py"))
#: The roles issue: what the cluster operator may do, and nothing more.
_READ = ("get", "list", "watch")
OPERATOR_RULES = {
    (group, resource, verb)
    for group, resources, verbs in (
        ("", ("pods", "pods/log", "events"), _READ),
        ("apps", ("deployments",), _READ),
        ("serving.knative.dev", ("services",), _READ),
        ("batch", ("jobs",), ("create", *_READ)),
    )
    for resource in resources
    for verb in verbs
}
OPERATOR_CLUSTER_RULES = {("", "nodes", "get"), ("", "nodes", "list")}


@pytest.fixture(params=OVERLAYS)
def objects(request) -> dict[str, list[dict[str, Any]]]:
    """The overlay's built objects by kind."""
    by_kind: dict[str, list[dict[str, Any]]] = {}
    for resource in build(REPO / "knative" / request.param):
        by_kind.setdefault(resource.document["kind"], []).append(resource.document)
    return by_kind


def _functions(objects) -> dict[str, dict[str, Any]]:
    return {
        s["metadata"]["name"]: s
        for s in objects["Service"]
        if "binks.dev/role" in s["metadata"].get("labels", {})
    }


def _container(service: dict[str, Any]) -> dict[str, Any]:
    return service["spec"]["template"]["spec"]["containers"][0]


def _env(service: dict[str, Any]) -> dict[str, str]:
    return {e["name"]: e.get("value") for e in _container(service).get("env", [])}


def test_every_role_in_both_variants(objects) -> None:
    functions = _functions(objects)
    assert ROLES, "no roles found under functions/"
    assert sorted(functions) == sorted(f"{r}-{v}" for r in ROLES for v in VARIANTS)
    for name, service in functions.items():
        labels = service["metadata"]["labels"]
        assert name == f"{labels['binks.dev/role']}-{labels['binks.dev/variant']}"
        image = _container(service)["image"].rsplit("/", 1)[-1].split(":")[0]
        assert image == name, f"{name}: the image must be named after the function"


def test_scale_to_zero_bounded_and_probed(objects) -> None:
    for name, service in _functions(objects).items():
        annotations = service["spec"]["template"]["metadata"]["annotations"]
        spec = service["spec"]["template"]["spec"]
        assert annotations["autoscaling.knative.dev/min-scale"] == "0", name
        assert int(annotations["autoscaling.knative.dev/max-scale"]) >= 1, name
        assert spec["containerConcurrency"] >= 1 and spec["timeoutSeconds"] > 0, name
        assert _container(service)["readinessProbe"]["httpGet"]["path"] == READINESS_PATH, name
        assert _env(service)["BINKS_BIND"] == "0.0.0.0", f"{name}: must listen beyond loopback"


def test_memory_follows_the_bench(objects) -> None:
    """Requests cover the newest bench's idle RSS, limits its peak, per function."""
    from bench.report import latest

    newest = latest()
    measured = json.loads(newest.read_text())["functions"]
    for name, service in _functions(objects).items():
        summary = measured[name]["summary"]
        extra = KUBERNETES_CLIENT_MIB if name.startswith("cluster-operator") else 0
        resources = _container(service)["resources"]
        request = _mebibytes(resources["requests"]["memory"])
        limit = _mebibytes(resources["limits"]["memory"])
        assert request >= 1.2 * (summary["idle_rss_mib"]["median"] + extra), name
        assert limit >= 1.5 * (summary["peak_rss_mib"]["max"] + extra), name
        assert limit >= request, name


def _mebibytes(quantity: str) -> float:
    assert quantity.endswith("Mi"), quantity
    return float(quantity[:-2])


def test_every_destination_exists(objects) -> None:
    services = {(s["metadata"]["namespace"], s["metadata"]["name"]) for s in objects["Service"]}
    brokers = {(b["metadata"]["namespace"], b["metadata"]["name"]) for b in objects["Broker"]}
    for trigger in objects["Trigger"]:
        namespace = trigger["metadata"]["namespace"]
        assert (namespace, trigger["spec"]["broker"]) in brokers
        ref = trigger["spec"]["subscriber"]["ref"]
        assert (ref.get("namespace", namespace), ref["name"]) in services, trigger["metadata"]
    for broker in objects["Broker"]:
        ref = broker["spec"]["delivery"]["deadLetterSink"]["ref"]
        assert (broker["metadata"]["namespace"], ref["name"]) in services
    for source in objects["PingSource"] + objects["SinkBinding"]:
        ref = source["spec"]["sink"]["ref"]
        assert ref["kind"] == "Broker"
        assert (ref.get("namespace", source["metadata"]["namespace"]), ref["name"]) in brokers


def test_filters_name_only_declared_event_types(objects) -> None:
    for trigger in objects["Trigger"]:
        types = set(_filter_types(trigger["spec"].get("filters", [])))
        assert types, f"{trigger['metadata']['name']}: filters on no event type"
        assert types <= set(EVENT_TYPES), (
            f"{trigger['metadata']['name']}: {types - set(EVENT_TYPES)}"
        )


def _filter_types(node: Any):
    if isinstance(node, list):
        for item in node:
            yield from _filter_types(item)
    elif isinstance(node, dict):
        for dialect, value in node.items():
            if dialect in ("exact", "prefix", "suffix") and "type" in value:
                yield value["type"]
            elif dialect == "cesql":
                # every quoted literal that looks like an event type
                yield from re.findall(r"'((?:dev|com|io)\.[a-z0-9.]+)'", value)
            else:
                yield from _filter_types(value)


def test_each_variant_takes_its_own_work(objects) -> None:
    triggers = objects["Trigger"]
    for variant in VARIANTS:
        other = next(v for v in VARIANTS if v != variant)
        for kind in ("dev.binks.cluster.inspect.requested", "dev.binks.cluster.job.requested"):
            takers = {
                t["spec"]["subscriber"]["ref"]["name"]
                for t in triggers
                if matches(t["spec"]["filters"], {"type": kind, "binksvariant": variant})
            }
            assert takers == {f"cluster-operator-{variant}"}, (kind, takers)
        result = {"type": "dev.binks.review.completed", "binksvariant": other}
        takers = {
            t["spec"]["subscriber"]["ref"]["name"]
            for t in triggers
            if matches(t["spec"]["filters"], result)
        }
        assert takers == {f"reporter-{other}"}


def test_the_tick_reaches_both_reporters_in_the_overlays_namespace(objects) -> None:
    (ping,) = objects["PingSource"]
    namespace, name = ping["metadata"]["namespace"], ping["metadata"]["name"]
    tick = {"type": PING, "source": f"/apis/v1/namespaces/{namespace}/pingsources/{name}"}
    takers = {
        t["spec"]["subscriber"]["ref"]["name"]
        for t in objects["Trigger"]
        if matches(t["spec"]["filters"], tick)
    }
    assert takers == {f"reporter-{v}" for v in VARIANTS}


def test_env_names_are_read_by_the_runtime(objects) -> None:
    read = _names_read()
    for name, service in _functions(objects).items():
        unknown = set(_env(service)) - read
        assert not unknown, f"{name}: the runtime reads no {sorted(unknown)}"


def _names_read() -> set[str]:
    pattern = re.compile(
        r"""(?:env|environ)(?:\.get\(|\.setdefault\(|\[)\s*["']([A-Z][A-Z0-9_]*)["']"""
    )
    names = set()
    for folder in ("shared", "functions"):
        for path in (REPO / folder).rglob("*.py"):
            names |= set(pattern.findall(path.read_text()))
    assert {"OLLAMA_HOST", "BINKS_MODEL", "BINKS_BIND", "K_SINK"} <= names, names
    return names


def test_the_sink_binding_reaches_exactly_the_functions_that_publish(objects) -> None:
    (binding,) = objects["SinkBinding"]
    selector = binding["spec"]["subject"]["selector"]["matchLabels"]
    bound = {
        name
        for name, s in _functions(objects).items()
        if selector.items() <= s["metadata"]["labels"].items()
    }
    publishing = {
        f"{p.parent.name.replace('_', '-')}-{v}"
        for p in (REPO / "functions").glob("*/role.py")
        if "emits=" in p.read_text()
        for v in VARIANTS
    }
    assert publishing and bound == publishing


def test_rbac_grants_only_what_the_roles_issue_lists(objects) -> None:
    namespace = objects["Service"][0]["metadata"]["namespace"]
    for kind, expected in (("Role", OPERATOR_RULES), ("ClusterRole", OPERATOR_CLUSTER_RULES)):
        (role,) = objects[kind]
        granted = {
            (g, r, v)
            for rule in role["rules"]
            for g in rule["apiGroups"]
            for r in rule["resources"]
            for v in rule["verbs"]
        }
        assert granted == expected, kind
    for kind in ("RoleBinding", "ClusterRoleBinding"):
        (binding,) = objects[kind]
        assert binding["subjects"] == [
            {"kind": "ServiceAccount", "name": "cluster-operator", "namespace": namespace}
        ]
    accounts = {a["metadata"]["name"]: a for a in objects["ServiceAccount"]}
    assert accounts["binks-function"]["automountServiceAccountToken"] is False
    for name, service in _functions(objects).items():
        wanted = "cluster-operator" if name.startswith("cluster-operator-") else "binks-function"
        assert service["spec"]["template"]["spec"]["serviceAccountName"] == wanted, name
        if wanted == "cluster-operator":
            # it may look only where its Role applies
            assert _env(service)["BINKS_ALLOWED_NAMESPACES"].split(",") == [namespace]

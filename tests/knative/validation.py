"""Everything a cluster would refuse in a built overlay, as a list of messages that each
name the file, the object and the field.

Three layers: the real CRD schemas (API server, strict field validation, plus the
eventing webhook's closed decoding), the Kubernetes API types (a Service's pod template
and the core kinds), and hand-written webhook rules no schema expresses. Last, the local
platform's own loader must accept the overlay too.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from localknative.filters import check_filters
from localknative.kustomize import KustomizeError, Resource, build
from localknative.manifests import ManifestError, go_duration, iso_duration, load

from .crds import crd_problems
from .k8s_types import core_problems, pod_template_problems

_DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
_ATTRIBUTE = re.compile(r"^[a-z][a-z0-9]*$")
_SCALE = "autoscaling.knative.dev/"


def overlay_problems(directory: Path) -> list[str]:
    """Every problem of the kustomization in ``directory``, built as a cluster would."""
    try:
        resources = build(directory)
    except KustomizeError as problem:
        return [str(problem)]
    problems: list[str] = []
    for resource in resources:
        problems += resource_problems(resource)
    try:
        load(directory)
    except ManifestError as problem:
        problems.append(f"the local platform refuses it: {problem}")
    return problems


def resource_problems(resource: Resource) -> list[str]:
    """Schema, API-type and webhook problems of one built object."""
    document, source = resource.document, resource.origin
    where = resource.describe()
    name = (document.get("metadata") or {}).get("name", "")
    problems = (
        [] if _DNS_LABEL.match(str(name)) else [f"{where}: metadata.name: not a DNS-1123 label"]
    )
    checked = crd_problems(document, source)
    if checked is None:
        checked = core_problems(document, source)
    if checked is None:
        return [
            *problems,
            f"{where}: apiVersion: {document.get('apiVersion')} {document.get('kind')} "
            "is no kind we can check",
        ]
    problems += checked
    if checked:  # the webhook rules assume the shapes the schema guarantees
        return problems
    kind = document.get("kind")
    if kind == "Service" and str(document.get("apiVersion")).startswith("serving.knative.dev"):
        problems += pod_template_problems(document, source)
        problems += [f"{where}: {p}" for p in _service_rules(document)]
    elif kind == "Trigger":
        problems += [f"{where}: {p}" for p in _trigger_rules(document.get("spec") or {})]
    elif kind == "Broker":
        problems += [
            f"{where}: {p}"
            for p in _delivery_rules((document.get("spec") or {}).get("delivery"), "spec.delivery")
        ]
    return problems


def _service_rules(document: dict[str, Any]) -> list[str]:
    template = document["spec"]["template"]
    spec = template["spec"]
    annotations = (template.get("metadata") or {}).get("annotations") or {}
    problems = [
        f"spec.template.spec.containers[{i}].image: required (serving webhook)"
        for i, container in enumerate(spec["containers"])
        if not container.get("image")
    ]
    scales = {}
    for key in ("min-scale", "max-scale", "initial-scale"):
        value = annotations.get(_SCALE + key)
        if value is None:
            continue
        if not re.fullmatch(r"\d+", value):
            problems.append(
                f"spec.template.metadata.annotations.{_SCALE}{key}: {value!r} is not a whole number"
            )
        else:
            scales[key] = int(value)
    if scales.get("max-scale", 0) and scales.get("min-scale", 0) > scales["max-scale"]:
        problems.append(f"spec.template.metadata.annotations.{_SCALE}min-scale: above max-scale")
    if _SCALE + "window" in annotations:
        try:
            go_duration(annotations[_SCALE + "window"], "")
        except ManifestError:
            problems.append(
                f"spec.template.metadata.annotations.{_SCALE}window: not a duration such as 60s"
            )
    if spec.get("timeoutSeconds") is not None and spec["timeoutSeconds"] <= 0:
        problems.append("spec.template.spec.timeoutSeconds: must be positive")
    return problems


def _trigger_rules(spec: dict[str, Any]) -> list[str]:
    problems = []
    if ("broker" in spec) == ("brokerRef" in spec):
        problems.append("spec.broker: exactly one of broker or brokerRef is required")
    subscriber = spec.get("subscriber") or {}
    if not (subscriber.get("ref") or subscriber.get("uri")):
        problems.append("spec.subscriber: needs a ref or a uri")
    for attribute in (spec.get("filter") or {}).get("attributes") or {}:
        if not _ATTRIBUTE.match(attribute):
            problems.append(f"spec.filter.attributes.{attribute}: must match ^[a-z][a-z0-9]*$")
    try:
        check_filters(spec.get("filters") or [])
    except ValueError as problem:
        problems.append(f"spec.filters: {problem}")
    return problems + _delivery_rules(spec.get("delivery"), "spec.delivery")


def _delivery_rules(delivery: Any, where: str) -> list[str]:
    problems = []
    for key in ("backoffDelay", "timeout"):
        if delivery and key in delivery:
            try:
                seconds = iso_duration(delivery[key], "")
            except ManifestError:
                problems.append(f"{where}.{key}: {delivery[key]!r} is not an ISO-8601 duration")
                continue
            if key == "timeout" and seconds <= 0:
                problems.append(f"{where}.timeout: must not be zero")
    if delivery and delivery.get("retry", 0) < 0:
        problems.append(f"{where}.retry: must be >= 0")
    return problems

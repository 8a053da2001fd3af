"""Read Knative Broker, Trigger, Service and PingSource manifests into plain, frozen specs.

The same YAML a cluster applies: a directory with a ``kustomization.yaml`` (a base or an
overlay) is built the way ``kubectl kustomize`` builds it (``localknative.kustomize``), any
other directory is read file by file. Kinds the platform has no use for (Namespace,
ServiceAccount, RBAC, SinkBinding: it gives every function ``K_SINK`` itself) are skipped.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from localknative.kustomize import KustomizeError, build, kustomization_file, read_documents


class ManifestError(ValueError):
    """A manifest the platform cannot use; the message names the file and field."""


@dataclass(frozen=True)
class Delivery:
    """A Knative DeliverySpec, with Knative's broker defaults."""

    retry: int = 10
    backoff_policy: str = "exponential"
    backoff_delay_s: float = 0.2
    timeout_s: float | None = None
    dead_letter: Destination | None = None

    def wait_before_retry(self, retry: int) -> float:
        """Seconds before retry ``retry`` (1-based), as Knative's dispatcher computes them."""
        if self.backoff_policy == "linear":
            return self.backoff_delay_s * (retry - 1)
        return self.backoff_delay_s * 2 ** (retry - 1)


@dataclass(frozen=True)
class Destination:
    """A Knative Destination: a Service ref, a Broker ref (sources' sinks only) or a URI."""

    service: str | None = None
    namespace: str = "default"
    uri: str | None = None
    broker: str | None = None

    def describe(self) -> str:
        """How the event log and ``knativeerrordest`` name it: its URI or ``service:ns/name``."""
        return self.uri or f"service:{self.namespace}/{self.service}"


@dataclass(frozen=True)
class Broker:
    name: str
    namespace: str
    delivery: Delivery | None = None


@dataclass(frozen=True)
class Trigger:
    name: str
    namespace: str
    broker: str
    subscriber: Destination
    attributes: Mapping[str, str] = field(default_factory=dict)
    filters: tuple[Mapping[str, Any], ...] = ()
    delivery: Delivery | None = None


@dataclass(frozen=True)
class Service:
    name: str
    namespace: str
    image: str
    env: Mapping[str, str] = field(default_factory=dict)
    port: int = 8080
    container_concurrency: int = 0
    timeout_s: float = 300.0
    min_scale: int = 0
    max_scale: int = 0
    initial_scale: int = 1
    window_s: float = 60.0
    retention_s: float = 0.0
    readiness_path: str | None = None
    memory_limit_bytes: int | None = None
    #: ``resources.requests.cpu`` and ``limits.cpu`` in millicores (``250m`` → 250): a
    #: container's CPU shares and quota, as a kubelet sets them; unused by processes
    cpu_request_millis: int | None = None
    cpu_limit_millis: int | None = None
    source: str = ""


@dataclass(frozen=True)
class PingSource:
    """A ``sources.knative.dev/v1`` PingSource: ``data`` sent to ``sink`` on a cron schedule."""

    namespace: str
    name: str
    schedule: str
    timezone: str | None
    data: str | None
    content_type: str | None
    sink: Destination


@dataclass(frozen=True)
class Manifests:
    brokers: dict[tuple[str, str], Broker]
    triggers: tuple[Trigger, ...]
    services: dict[tuple[str, str], Service]
    ping_sources: dict[tuple[str, str], PingSource] = field(default_factory=dict)


_DURATION = re.compile(
    r"^P(?:(?P<d>\d+(?:\.\d+)?)D)?(?:T(?:(?P<h>\d+(?:\.\d+)?)H)?(?:(?P<m>\d+(?:\.\d+)?)M)?"
    r"(?:(?P<s>\d+(?:\.\d+)?)S)?)?$"
)
_GO_DURATION = re.compile(r"^(?P<n>\d+(?:\.\d+)?)(?P<u>ms|s|m|h)$")
_QUANTITY = re.compile(r"^(?P<n>\d+(?:\.\d+)?)(?P<u>Ki|Mi|Gi|Ti|k|M|G|T)?$")
_UNITS = {
    "Ki": 2**10,
    "Mi": 2**20,
    "Gi": 2**30,
    "Ti": 2**40,
    "k": 1e3,
    "M": 1e6,
    "G": 1e9,
    "T": 1e12,
}


def iso_duration(text: str, where: str) -> float:
    """``PT0.2S`` → 0.2 (ISO-8601, as DeliverySpec uses)."""
    match = _DURATION.match(str(text))
    if not match or text in ("P", "PT"):
        raise ManifestError(f"{where}: {text!r} is not an ISO-8601 duration such as PT0.2S")
    parts = {k: float(v) for k, v in match.groupdict().items() if v}
    return (
        parts.get("d", 0) * 86400
        + parts.get("h", 0) * 3600
        + parts.get("m", 0) * 60
        + parts.get("s", 0)
    )


def go_duration(text: str, where: str) -> float:
    """``60s`` → 60 (Go durations, as autoscaling annotations use)."""
    match = _GO_DURATION.match(str(text))
    if not match:
        raise ManifestError(f"{where}: {text!r} is not a duration such as 60s")
    scale = {"ms": 0.001, "s": 1, "m": 60, "h": 3600}[match["u"]]
    return float(match["n"]) * scale


def quantity(text: str, where: str) -> int:
    """``512Mi`` → bytes."""
    match = _QUANTITY.match(str(text))
    if not match:
        raise ManifestError(f"{where}: {text!r} is not a Kubernetes quantity such as 512Mi")
    return int(float(match["n"]) * _UNITS.get(match["u"] or "", 1))


def cpu_millis(text: str, where: str) -> int:
    """``250m`` → 250, ``1`` or ``1.5`` → 1000 or 1500 (a Kubernetes CPU quantity)."""
    match = re.fullmatch(r"(?P<n>\d+(?:\.\d+)?)(?P<m>m?)", str(text))
    if not match or float(match["n"]) == 0:
        raise ManifestError(f"{where}: {text!r} is not a CPU quantity such as 250m or 1")
    return max(1, round(float(match["n"]) * (1 if match["m"] else 1000)))


def load(directory: Path) -> Manifests:
    """Every Broker, Trigger and Service under ``directory``."""
    if not directory.is_dir():
        raise ManifestError(f"{directory} is not a directory of manifests")
    brokers: dict[tuple[str, str], Broker] = {}
    triggers: list[Trigger] = []
    services: dict[tuple[str, str], Service] = {}
    ping_sources: dict[tuple[str, str], PingSource] = {}
    for path, namespace, document in _documents(directory, None):
        kind = document.get("kind")
        where = f"{path}: {kind} {document.get('metadata', {}).get('name', '?')}"
        if kind == "Broker":
            broker = _broker(document, namespace, where)
            brokers[(broker.namespace, broker.name)] = broker
        elif kind == "Trigger":
            triggers.append(_trigger(document, namespace, where))
        elif kind == "Service" and str(document.get("apiVersion", "")).startswith(
            "serving.knative"
        ):
            service = _service(document, namespace, where, str(path))
            services[(service.namespace, service.name)] = service
        elif kind == "PingSource" and str(document.get("apiVersion", "")).startswith(
            "sources.knative"
        ):
            source = _ping_source(document, namespace, where)
            ping_sources[(source.namespace, source.name)] = source
    for trigger in triggers:
        if (trigger.namespace, trigger.broker) not in brokers:
            raise ManifestError(f"Trigger {trigger.name}: broker {trigger.broker!r} is not defined")
    for source in ping_sources.values():
        sink = source.sink
        if sink.broker is not None and (sink.namespace, sink.broker) not in brokers:
            raise ManifestError(
                f"PingSource {source.name}: spec.sink broker {sink.broker!r} is not defined"
            )
    return Manifests(brokers, tuple(triggers), services, ping_sources)


def _documents(directory: Path, namespace: str | None) -> Iterator[tuple[Path, str | None, dict]]:
    if kustomization_file(directory) is not None:
        try:
            for resource in build(directory):
                yield resource.source, None, resource.document
        except KustomizeError as problem:
            raise ManifestError(str(problem)) from None
        return
    for path in sorted(directory.rglob("*.y*ml")):
        try:
            for document in read_documents(path):
                yield path, namespace, document
        except KustomizeError as problem:
            raise ManifestError(str(problem)) from None


def _namespace(document: dict, override: str | None) -> str:
    return override or document.get("metadata", {}).get("namespace") or "default"


def _destination(
    spec: Any, namespace: str, where: str, *, brokers_allowed: bool = False
) -> Destination:
    if not isinstance(spec, dict) or not (spec.get("ref") or spec.get("uri")):
        raise ManifestError(f"{where}: a destination needs ref or uri")
    ref = spec.get("ref")
    if ref:
        if not ref.get("name"):
            raise ManifestError(f"{where}: ref.name is required")
        ref_namespace = ref.get("namespace", namespace)
        if ref.get("kind") == "Broker" and brokers_allowed:
            return Destination(namespace=ref_namespace, broker=ref["name"])
        if ref.get("kind") != "Service":
            raise ManifestError(f"{where}: only Service refs run locally, got {ref.get('kind')}")
        return Destination(service=ref["name"], namespace=ref_namespace)
    return Destination(uri=str(spec["uri"]))


def _delivery(spec: Any, namespace: str, where: str) -> Delivery | None:
    if not spec:
        return None
    policy = spec.get("backoffPolicy", "exponential")
    if policy not in ("linear", "exponential"):
        raise ManifestError(f"{where}: spec.delivery.backoffPolicy must be linear or exponential")
    return Delivery(
        retry=int(spec.get("retry", 0)),
        backoff_policy=policy,
        backoff_delay_s=iso_duration(spec.get("backoffDelay", "PT0.2S"), f"{where} backoffDelay"),
        timeout_s=iso_duration(spec["timeout"], f"{where} timeout") if "timeout" in spec else None,
        dead_letter=_destination(spec["deadLetterSink"], namespace, f"{where} deadLetterSink")
        if spec.get("deadLetterSink")
        else None,
    )


def _broker(document: dict, override: str | None, where: str) -> Broker:
    namespace = _namespace(document, override)
    spec = document.get("spec") or {}
    return Broker(
        document["metadata"]["name"], namespace, _delivery(spec.get("delivery"), namespace, where)
    )


def _trigger(document: dict, override: str | None, where: str) -> Trigger:
    from localknative.filters import check_filters

    namespace = _namespace(document, override)
    spec = document.get("spec") or {}
    if "broker" not in spec or "subscriber" not in spec:
        raise ManifestError(f"{where}: spec.broker and spec.subscriber are required")
    filters = tuple(spec.get("filters") or ())
    try:
        check_filters(filters)
    except ValueError as problem:
        raise ManifestError(f"{where}: spec.filters: {problem}") from None
    return Trigger(
        name=document["metadata"]["name"],
        namespace=namespace,
        broker=spec["broker"],
        subscriber=_destination(spec["subscriber"], namespace, f"{where} spec.subscriber"),
        attributes=dict((spec.get("filter") or {}).get("attributes") or {}),
        filters=filters,
        delivery=_delivery(spec.get("delivery"), namespace, where),
    )


def _ping_source(document: dict, override: str | None, where: str) -> PingSource:
    namespace = _namespace(document, override)
    spec = document.get("spec") or {}
    if not spec.get("schedule"):
        raise ManifestError(f"{where}: spec.schedule is required (a cron expression)")
    if "dataBase64" in spec:
        # Not needed by any manifest here; refuse rather than send something else.
        raise ManifestError(f"{where}: spec.dataBase64 is not supported locally; use spec.data")
    return PingSource(
        namespace=namespace,
        name=document["metadata"]["name"],
        schedule=str(spec["schedule"]),
        timezone=spec.get("timezone"),
        data=spec.get("data"),
        content_type=spec.get("contentType"),
        sink=_destination(spec.get("sink"), namespace, f"{where} spec.sink", brokers_allowed=True),
    )


def _service(document: dict, override: str | None, where: str, source: str) -> Service:
    template = (document.get("spec") or {}).get("template") or {}
    annotations = (template.get("metadata") or {}).get("annotations") or {}
    pod = template.get("spec") or {}
    containers = pod.get("containers") or []
    if len(containers) != 1 or not containers[0].get("image"):
        raise ManifestError(f"{where}: spec.template.spec.containers needs exactly one image")
    container = containers[0]

    def scale(key: str, default: int) -> int:
        value = annotations.get(f"autoscaling.knative.dev/{key}", default)
        try:
            return int(value)
        except (TypeError, ValueError):
            raise ManifestError(f"{where}: annotation {key}={value!r} is not an integer") from None

    env = {}
    for variable in container.get("env") or []:
        if "value" in variable:
            env[variable["name"]] = str(variable["value"])
    ports = container.get("ports") or [{}]
    probe = ((container.get("readinessProbe") or {}).get("httpGet") or {}).get("path")
    resources = container.get("resources") or {}
    limits, requests = resources.get("limits") or {}, resources.get("requests") or {}
    limit = limits.get("memory")
    return Service(
        name=document["metadata"]["name"],
        namespace=_namespace(document, override),
        image=container["image"],
        env=env,
        port=int(ports[0].get("containerPort", 8080)),
        container_concurrency=int(pod.get("containerConcurrency", 0)),
        timeout_s=float(pod.get("timeoutSeconds", 300)),
        min_scale=scale("min-scale", 0),
        max_scale=scale("max-scale", 0),
        initial_scale=scale("initial-scale", 1),
        window_s=go_duration(annotations.get("autoscaling.knative.dev/window", "60s"), where),
        retention_s=go_duration(
            annotations.get("autoscaling.knative.dev/scale-to-zero-pod-retention-period", "0s"),
            where,
        ),
        readiness_path=probe,
        memory_limit_bytes=quantity(limit, f"{where} memory limit") if limit else None,
        cpu_request_millis=_cpu(requests, f"{where} cpu request"),
        cpu_limit_millis=_cpu(limits, f"{where} cpu limit"),
        source=source,
    )


def _cpu(resources: Mapping[str, Any], where: str) -> int | None:
    return cpu_millis(resources["cpu"], where) if resources.get("cpu") is not None else None

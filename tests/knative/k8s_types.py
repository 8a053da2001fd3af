"""Check plain Kubernetes objects against the API types of the ``kubernetes`` client.

The client (36.x) describes every type by ``openapi_types`` (field → type name) and
``attribute_map`` (field → JSON key). Walking those, an undeclared key or a value of the
wrong type is a problem with its path; building the model then applies the client's own
required-field checks. This covers what the Knative schema leaves opaque in a Service's
pod template (affinity, tolerations, …) and the core kinds no CRD describes.
"""

from __future__ import annotations

import copy
import re
from pathlib import Path
from typing import Any

from kubernetes import client

from .crds import field_path

#: Knative's RevisionSpec fields that are not PodSpec fields.
KNATIVE_ONLY = (
    "containerConcurrency",
    "timeoutSeconds",
    "responseStartTimeoutSeconds",
    "idleTimeoutSeconds",
)
#: Core kinds in our manifests → the client's model.
CORE_KINDS = {
    ("v1", "Namespace"): "V1Namespace",
    ("v1", "ServiceAccount"): "V1ServiceAccount",
    ("rbac.authorization.k8s.io/v1", "Role"): "V1Role",
    ("rbac.authorization.k8s.io/v1", "RoleBinding"): "V1RoleBinding",
    ("rbac.authorization.k8s.io/v1", "ClusterRole"): "V1ClusterRole",
    ("rbac.authorization.k8s.io/v1", "ClusterRoleBinding"): "V1ClusterRoleBinding",
}
_PRIMITIVES = {"str": str, "int": int, "float": (int, float), "bool": bool}
_CONTAINER = re.compile(r"^(list|dict)\[(?:str, )?(.+)\]$")


def model_problems(value: Any, type_name: str, path: list[Any]) -> list[str]:
    """Every undeclared field and mistyped value below ``path``."""
    container = _CONTAINER.match(type_name)
    if container:
        kind, inner = container.groups()
        if kind == "list":
            if not isinstance(value, list):
                return [f"{field_path(path)}: expected a list, got {type(value).__name__}"]
            return [
                p for i, item in enumerate(value) for p in model_problems(item, inner, [*path, i])
            ]
        if not isinstance(value, dict):
            return [f"{field_path(path)}: expected a map, got {type(value).__name__}"]
        return [p for k, item in value.items() for p in model_problems(item, inner, [*path, k])]
    if type_name == "object":  # int-or-string, raw extensions: any JSON value
        return []
    if type_name in ("datetime", "date"):
        type_name = "str"
    if type_name in _PRIMITIVES:
        wanted = _PRIMITIVES[type_name]
        if (isinstance(value, bool) and type_name != "bool") or not isinstance(value, wanted):
            return [f"{field_path(path)}: expected {type_name}, got {value!r}"]
        return []
    model = getattr(client, type_name)
    if not isinstance(value, dict):
        return [f"{field_path(path)}: expected a {type_name} object, got {value!r}"]
    by_key = {key: attribute for attribute, key in model.attribute_map.items()}
    problems = []
    for key, item in value.items():
        if key not in by_key:
            problems.append(f"{field_path([*path, key])}: unknown field of {type_name}")
        else:
            problems += model_problems(item, model.openapi_types[by_key[key]], [*path, key])
    if not problems:
        try:
            _build(value, type_name)
        except ValueError as error:  # the client's required-field checks
            problems.append(f"{field_path(path)}: {error}")
    return problems


def _build(value: Any, type_name: str) -> Any:
    container = _CONTAINER.match(type_name)
    if container:
        kind, inner = container.groups()
        if kind == "list":
            return [_build(item, inner) for item in value]
        return {k: _build(item, inner) for k, item in value.items()}
    if type_name in _PRIMITIVES or type_name in ("object", "datetime", "date"):
        return value
    model = getattr(client, type_name)
    by_key = {key: attribute for attribute, key in model.attribute_map.items()}
    return model(**{by_key[k]: _build(v, model.openapi_types[by_key[k]]) for k, v in value.items()})


def pod_template_problems(document: dict[str, Any], source: Path | str) -> list[str]:
    """A Knative Service's ``spec.template.spec`` as a Kubernetes PodSpec."""
    spec = copy.deepcopy(((document.get("spec") or {}).get("template") or {}).get("spec") or {})
    for key in KNATIVE_ONLY:
        spec.pop(key, None)
    for index, container in enumerate(spec.get("containers") or []):
        if isinstance(container, dict):
            # Knative defaults these two; Kubernetes requires them.
            container.setdefault("name", f"user-container-{index}")
            for probe in ("readinessProbe", "livenessProbe", "startupProbe"):
                for handler in ("httpGet", "tcpSocket", "grpc"):
                    if isinstance((container.get(probe) or {}).get(handler), dict):
                        container[probe][handler].setdefault("port", 8080)
    name = (document.get("metadata") or {}).get("name", "?")
    return [
        f"{source}: Service {name}: {problem}"
        for problem in model_problems(spec, "V1PodSpec", ["spec", "template", "spec"])
    ]


def core_problems(document: dict[str, Any], source: Path | str) -> list[str] | None:
    """Problems of a core object, or ``None`` when its kind is not one we check."""
    model = CORE_KINDS.get((str(document.get("apiVersion")), str(document.get("kind"))))
    if model is None:
        return None
    name = (document.get("metadata") or {}).get("name", "?")
    return [
        f"{source}: {document['kind']} {name}: {problem}"
        for problem in model_problems(document, model, [])
    ]

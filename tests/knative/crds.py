"""The real Knative CRD schemas as strict JSON Schemas.

They are vendored byte for byte in ``knative/crds/`` (with their licenses and where each
file comes from), so validation runs on any checkout; ``test_validation`` checks the copy
against the reference set beside the project (``../shared/reference/crds/``) where it exists.

The API server checks a custom resource against its CRD's ``openAPIV3Schema`` and, with
strict field validation (kubectl's default), rejects undeclared fields except below an
``x-kubernetes-preserve-unknown-fields`` node. ``strict`` turns a CRD schema into a
JSON Schema that does the same. The eventing webhook then decodes with unknown fields
disallowed and checks enums the schema leaves open; ``_tighten_*`` adds that for the
Trigger and Broker (see the README next to the CRDs for what each step catches).
"""

from __future__ import annotations

import copy
import functools
from pathlib import Path
from typing import Any

import jsonschema
import yaml

from localknative.paths import REPO

CRDS = REPO / "knative" / "crds"
REFERENCE = REPO.parent / "shared" / "reference" / "crds"

_STRING_MAP = {"type": "object", "additionalProperties": {"type": "string"}}
_METADATA = {
    "type": "object",
    "required": ["name"],
    "properties": {
        "name": {"type": "string"},
        "namespace": {"type": "string"},
        "labels": _STRING_MAP,
        "annotations": _STRING_MAP,
    },
    "additionalProperties": False,
}
# DeliverySpec fields the webhook accepts but the CRD does not declare.
# retryAfterMax is left out: refused unless the delivery-retryafter flag is on (off by default).
_DELIVERY_EXTRA = {
    "timeout": {"type": "string"},
    "format": {"type": "string", "enum": ["json", "binary"]},
}


def strict(schema: dict[str, Any], root: bool = False) -> dict[str, Any]:
    """Close every object node the API server would close; int-or-string and nullable
    become what they mean in JSON Schema."""
    node = dict(schema)
    if "properties" in node:
        node["properties"] = {k: strict(v) for k, v in node["properties"].items()}
    if root:  # the API server handles these itself; CRDs do not declare them
        node["properties"] = {
            **node.get("properties", {}),
            "apiVersion": {"type": "string"},
            "kind": {"type": "string"},
            "metadata": _METADATA,
        }
    for key in ("items", "additionalProperties"):
        if isinstance(node.get(key), dict):
            node[key] = strict(node[key])
    if node.get("x-kubernetes-int-or-string") and "anyOf" not in node:
        node.pop("type", None)
        node["anyOf"] = [{"type": "integer"}, {"type": "string"}]
    if node.get("nullable") and isinstance(node.get("type"), str):
        node["type"] = [node["type"], "null"]
    if (
        node.get("type") == "object"
        and "additionalProperties" not in node
        and not node.get("x-kubernetes-preserve-unknown-fields")
    ):
        node["additionalProperties"] = False
    return node


def _tighten_delivery(delivery: dict[str, Any]) -> None:
    delivery.pop("x-kubernetes-preserve-unknown-fields", None)
    delivery["properties"] = {
        **_DELIVERY_EXTRA,
        **delivery["properties"],
        "backoffPolicy": {"type": "string", "enum": ["linear", "exponential"]},
    }


def _tighten_trigger(schema: dict[str, Any]) -> dict[str, Any]:
    schema = copy.deepcopy(schema)
    spec = schema["properties"]["spec"]
    spec.pop("x-kubernetes-preserve-unknown-fields", None)
    _tighten_delivery(spec["properties"]["delivery"])
    spec["properties"]["filter"]["properties"]["attributes"] = _STRING_MAP
    item = spec["properties"]["filters"]["items"]
    for dialect in ("exact", "prefix", "suffix"):
        item["properties"][dialect] = _STRING_MAP
    recursive = {"$ref": "#/definitions/filter"}
    item["properties"]["all"]["items"] = recursive
    item["properties"]["any"]["items"] = recursive
    item["properties"]["not"] = recursive
    item["additionalProperties"] = False
    spec["properties"]["filters"]["items"] = recursive
    schema["definitions"] = {"filter": item}
    return schema


def _tighten_broker(schema: dict[str, Any]) -> dict[str, Any]:
    schema = copy.deepcopy(schema)
    _tighten_delivery(schema["properties"]["spec"]["properties"]["delivery"])
    return schema


_TIGHTEN = {"Trigger": _tighten_trigger, "Broker": _tighten_broker}


@functools.cache
def validators() -> dict[tuple[str, str], jsonschema.Draft7Validator]:
    """(apiVersion, kind) → a strict validator, for every served version of every CRD."""
    found: dict[tuple[str, str], jsonschema.Draft7Validator] = {}
    for path in sorted(CRDS.glob("*/*.yaml")):
        crd = yaml.safe_load(path.read_text())
        kind = crd["spec"]["names"]["kind"]
        for version in crd["spec"]["versions"]:
            if not version.get("served", True):
                continue
            schema = version["schema"]["openAPIV3Schema"]
            schema = _TIGHTEN.get(kind, lambda s: s)(schema)
            api_version = f"{crd['spec']['group']}/{version['name']}"
            found[(api_version, kind)] = jsonschema.Draft7Validator(strict(schema, root=True))
    return found


def available() -> bool:
    """Whether the reference CRDs are next to this checkout."""
    return CRDS.is_dir() and any(CRDS.glob("*/*.yaml"))


def field_path(parts: Any) -> str:
    """``['spec', 'template', 'spec', 'containers', 0]`` → ``spec.template.spec.containers[0]``."""
    text = ""
    for part in parts:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text or "(object)"


def crd_problems(document: dict[str, Any], source: Path | str) -> list[str] | None:
    """Problems of one Knative object, or ``None`` when no CRD here describes its kind."""
    validator = validators().get((str(document.get("apiVersion")), str(document.get("kind"))))
    if validator is None:
        return None
    name = (document.get("metadata") or {}).get("name", "?")
    return [
        f"{source}: {document['kind']} {name}: {field_path(error.absolute_path)}: {error.message}"
        for error in sorted(validator.iter_errors(document), key=lambda e: list(e.absolute_path))
    ]

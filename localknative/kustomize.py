"""The part of ``kustomize build`` our manifests use, in Python (no kubectl needed).

A Kustomization here may use ``resources`` (files and directories that hold a
kustomization), ``namespace``, ``patches`` (JSON 6902 op lists or strategic-merge
patches, inline or by ``path``, with an optional ``target``), ``labels`` (metadata
only) and ``images``. Anything else is refused with the file and key, never ignored,
so a build here cannot silently differ from ``kubectl kustomize``; the tests compare
the two wherever kubectl exists.

Order, as kustomize applies its built-in transformers: resources (each nested
kustomization already built), namespace, patches, labels, images.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

FILENAMES = ("kustomization.yaml", "kustomization.yml", "Kustomization")
SUPPORTED_KEYS = frozenset(
    {"apiVersion", "kind", "resources", "namespace", "patches", "labels", "images"}
)
#: Kinds without a namespace. kustomize renames a Namespace object to the namespace it
#: sets and leaves the others alone; every other kind (CRDs included) is namespaced.
CLUSTER_SCOPED = frozenset(
    {
        "Namespace",
        "ClusterRole",
        "ClusterRoleBinding",
        "CustomResourceDefinition",
        "PersistentVolume",
        "StorageClass",
        "PriorityClass",
        "IngressClass",
        "RuntimeClass",
        "MutatingWebhookConfiguration",
        "ValidatingWebhookConfiguration",
        "APIService",
    }
)


class KustomizeError(ValueError):
    """A kustomization this builder cannot build; the message names the file and key."""


@dataclass(frozen=True)
class Resource:
    """One built object and the file it was read from (patches keep the origin)."""

    source: Path
    document: dict[str, Any]
    patched_by: tuple[str, ...] = ()

    @property
    def identity(self) -> tuple[str, str, str, str]:
        """(apiVersion group, kind, namespace, name): what kustomize keeps unique."""
        metadata = self.document.get("metadata") or {}
        group = str(self.document.get("apiVersion", "")).rpartition("/")[0]
        return (
            group,
            self.document.get("kind", ""),
            metadata.get("namespace") or "",
            metadata.get("name", ""),
        )

    @property
    def origin(self) -> str:
        """The file, and the patches that changed the object, for messages."""
        if not self.patched_by:
            return str(self.source)
        return f"{self.source} (patched by {'; '.join(self.patched_by)})"

    def describe(self) -> str:
        """``path: Kind name`` for messages."""
        return f"{self.origin}: {self.document.get('kind')} {self.identity[3] or '?'}"


def kustomization_file(directory: Path) -> Path | None:
    """The kustomization file in ``directory``, if it has one."""
    for name in FILENAMES:
        if (directory / name).is_file():
            return directory / name
    return None


def build(directory: Path) -> tuple[Resource, ...]:
    """Build the kustomization in ``directory`` (a base or an overlay)."""
    path = kustomization_file(directory)
    if path is None:
        raise KustomizeError(f"{directory}: no kustomization.yaml")
    spec = _read_one(path)
    unknown = sorted(set(spec) - SUPPORTED_KEYS)
    if unknown:
        raise KustomizeError(
            f"{path}: {', '.join(unknown)}: not supported by this builder "
            f"(supported: {', '.join(sorted(SUPPORTED_KEYS - {'apiVersion', 'kind'}))})"
        )
    resources = list(_resources(directory, path, spec.get("resources") or []))
    _check_unique(resources, path)
    if spec.get("namespace"):
        resources = _set_namespace(resources, str(spec["namespace"]))
    for index, entry in enumerate(spec.get("patches") or []):
        resources = _patch(resources, entry, directory, f"{path}: patches[{index}]")
    for index, entry in enumerate(spec.get("labels") or []):
        resources = _labels(resources, entry, f"{path}: labels[{index}]")
    for index, entry in enumerate(spec.get("images") or []):
        resources = _images(resources, entry, f"{path}: images[{index}]")
    _check_unique(resources, path)
    return tuple(resources)


def read_documents(path: Path) -> Iterator[dict[str, Any]]:
    """Every object (a mapping with a ``kind``) in a YAML file."""
    try:
        documents = list(yaml.safe_load_all(path.read_text()))
    except (OSError, yaml.YAMLError) as error:
        raise KustomizeError(f"{path}: cannot read YAML: {error}") from None
    for document in documents:
        if isinstance(document, dict) and document.get("kind"):
            yield document


def _read_one(path: Path) -> dict[str, Any]:
    try:
        spec = yaml.safe_load(path.read_text()) or {}
    except (OSError, yaml.YAMLError) as error:
        raise KustomizeError(f"{path}: cannot read YAML: {error}") from None
    if not isinstance(spec, dict):
        raise KustomizeError(f"{path}: a kustomization is a mapping")
    return spec


def _resources(directory: Path, path: Path, entries: Any) -> Iterator[Resource]:
    if not isinstance(entries, list):
        raise KustomizeError(f"{path}: resources must be a list of paths")
    for index, entry in enumerate(entries):
        if not isinstance(entry, str) or "://" in entry:
            raise KustomizeError(f"{path}: resources[{index}]: {entry!r} is not a local path")
        target = (directory / entry).resolve()
        if target.is_dir():
            yield from build(target)
        elif target.is_file():
            for document in read_documents(target):
                yield Resource(target, document)
        else:
            raise KustomizeError(f"{path}: resources[{index}]: {entry} does not exist")


def _check_unique(resources: list[Resource], path: Path) -> None:
    seen: dict[tuple[str, str, str, str], Resource] = {}
    for resource in resources:
        earlier = seen.setdefault(resource.identity, resource)
        if earlier is not resource:
            raise KustomizeError(
                f"{path}: {resource.describe()}: the same object is already defined "
                f"in {earlier.source}"
            )


def _replaced(resource: Resource, document: dict[str, Any], patch: str = "") -> Resource:
    patched_by = (*resource.patched_by, patch) if patch else resource.patched_by
    return Resource(resource.source, document, patched_by)


# -- namespace -------------------------------------------------------------------------


def _set_namespace(resources: list[Resource], namespace: str) -> list[Resource]:
    # ServiceAccount subjects of (Cluster)RoleBindings follow the accounts they name, when
    # those accounts are part of this build (kustomize's name-reference rule).
    accounts = {
        (r.document["metadata"].get("name"), r.document["metadata"].get("namespace"))
        for r in resources
        if r.document.get("kind") == "ServiceAccount"
    }
    built = []
    for resource in resources:
        document = copy.deepcopy(resource.document)
        metadata = document.setdefault("metadata", {})
        kind = document.get("kind")
        if kind == "Namespace":
            metadata["name"] = namespace
        elif kind not in CLUSTER_SCOPED:
            metadata["namespace"] = namespace
        if kind in ("RoleBinding", "ClusterRoleBinding"):
            for subject in document.get("subjects") or []:
                key = (subject.get("name"), subject.get("namespace"))
                if subject.get("kind") == "ServiceAccount" and key in accounts:
                    subject["namespace"] = namespace
        built.append(_replaced(resource, document))
    return built


# -- patches ---------------------------------------------------------------------------


def _patch(resources: list[Resource], entry: Any, directory: Path, where: str) -> list[Resource]:
    if not isinstance(entry, dict) or ("patch" in entry) == ("path" in entry):
        raise KustomizeError(f"{where}: give exactly one of patch or path")
    unknown = sorted(set(entry) - {"patch", "path", "target"})
    if unknown:
        raise KustomizeError(f"{where}: {', '.join(unknown)}: not supported by this builder")
    if "path" in entry:
        text = _patch_file(directory, entry["path"], where)
        where = f"{where} ({entry['path']})"
    else:
        text = str(entry["patch"])
    try:
        body = yaml.safe_load(text)
    except yaml.YAMLError as error:
        raise KustomizeError(f"{where}: cannot read the patch: {error}") from None
    target = entry.get("target")
    if isinstance(body, list):
        if not isinstance(target, dict):
            raise KustomizeError(f"{where}: a JSON 6902 patch needs a target")
        apply = lambda document: _json6902(document, body, where)  # noqa: E731
    elif isinstance(body, dict):
        if target is None:
            target = _target_of(body, where)
        else:
            # With a target, the patch's own kind and name only make it an object:
            # kustomize merges it into every target under the target's identity.
            body = _without_identity(body)
        apply = lambda document: _strategic_merge(document, body, where)  # noqa: E731
    else:
        raise KustomizeError(f"{where}: a patch is an op list or an object")
    matched = False
    built = []
    for resource in resources:
        if _selected(resource.document, target, where):
            matched = True
            resource = _replaced(resource, apply(copy.deepcopy(resource.document)), where)
        built.append(resource)
    if not matched:
        # kustomize is quiet about a target that matches nothing; a typo here would
        # silently drop the patch, so this builder refuses it.
        raise KustomizeError(f"{where}: the target {target} matches no resource")
    return built


def _patch_file(directory: Path, name: Any, where: str) -> str:
    path = (directory / str(name)).resolve()
    try:
        return path.read_text()
    except OSError as error:
        raise KustomizeError(f"{where}: cannot read {name}: {error}") from None


def _without_identity(body: dict[str, Any]) -> dict[str, Any]:
    body = {k: v for k, v in body.items() if k not in ("apiVersion", "kind")}
    metadata = {
        k: v for k, v in (body.get("metadata") or {}).items() if k not in ("name", "namespace")
    }
    if metadata:
        body["metadata"] = metadata
    else:
        body.pop("metadata", None)
    return body


def _target_of(body: dict[str, Any], where: str) -> dict[str, Any]:
    metadata = body.get("metadata") or {}
    if not body.get("kind") or not metadata.get("name"):
        raise KustomizeError(f"{where}: a strategic-merge patch names its kind and metadata.name")
    group, _, version = str(body.get("apiVersion", "")).rpartition("/")
    target = {"kind": body["kind"], "name": re.escape(metadata["name"]), "group": group}
    if version:
        target["version"] = version
    if metadata.get("namespace"):
        target["namespace"] = metadata["namespace"]
    return target


def _selected(document: dict[str, Any], target: dict[str, Any], where: str) -> bool:
    unknown = sorted(
        set(target) - {"group", "version", "kind", "name", "namespace", "labelSelector"}
    )
    if unknown:
        raise KustomizeError(f"{where}: target.{unknown[0]}: not supported by this builder")
    group, _, version = str(document.get("apiVersion", "")).rpartition("/")
    metadata = document.get("metadata") or {}
    checks = {
        "group": group,
        "version": version,
        "kind": document.get("kind", ""),
        "name": metadata.get("name", ""),
        "namespace": metadata.get("namespace", ""),
    }
    for key, actual in checks.items():
        # kustomize reads these as anchored regular expressions
        if key in target and not re.fullmatch(str(target[key]), str(actual)):
            return False
    if "labelSelector" in target:
        labels = metadata.get("labels") or {}
        return all(
            _label_matches(term.strip(), labels, where)
            for term in str(target["labelSelector"]).split(",")
        )
    return True


def _label_matches(term: str, labels: dict[str, Any], where: str) -> bool:
    if "!=" in term:
        key, value = term.split("!=", 1)
        return labels.get(key.strip()) != value.strip()
    if "=" in term:
        key, value = term.replace("==", "=").split("=", 1)
        return labels.get(key.strip()) == value.strip()
    if re.fullmatch(r"!?[A-Za-z0-9._/-]+", term):
        return (term.lstrip("!") in labels) != term.startswith("!")
    raise KustomizeError(f"{where}: target.labelSelector term {term!r} is not supported")


def _strategic_merge(document: Any, patch: Any, where: str) -> Any:
    """Maps merge key by key (``null`` deletes); lists of named objects merge by
    ``name``; other lists are replaced (kustomize's rule for kinds it has no schema of)."""
    if isinstance(patch, dict) and isinstance(document, dict):
        if any(str(key).startswith("$") for key in patch):
            raise KustomizeError(f"{where}: $-directives are not supported by this builder")
        merged = dict(document)
        for key, value in patch.items():
            if value is None:
                merged.pop(key, None)
            elif key in merged:
                merged[key] = _strategic_merge(merged[key], value, where)
            else:
                merged[key] = copy.deepcopy(value)
        return merged
    if (
        isinstance(patch, list)
        and isinstance(document, list)
        and _named(patch)
        and _named(document)
    ):
        merged_list = [copy.deepcopy(item) for item in document]
        for item in patch:
            for index, existing in enumerate(merged_list):
                if existing["name"] == item["name"]:
                    merged_list[index] = _strategic_merge(existing, item, where)
                    break
            else:
                merged_list.append(copy.deepcopy(item))
        return merged_list
    return copy.deepcopy(patch)


def _named(items: list[Any]) -> bool:
    return bool(items) and all(isinstance(i, dict) and "name" in i for i in items)


def _json6902(document: dict[str, Any], operations: list[Any], where: str) -> dict[str, Any]:
    for index, operation in enumerate(operations):
        at = f"{where}: op {index}"
        if not isinstance(operation, dict) or "path" not in operation:
            raise KustomizeError(f"{at}: each operation has an op and a path")
        op, path = operation.get("op"), str(operation["path"])
        if op in ("add", "replace", "test") and "value" not in operation:
            raise KustomizeError(f"{at}: {op} needs a value")
        parent, key = _walk(document, path, at)
        value = copy.deepcopy(operation.get("value"))
        if op == "test":
            if _get(parent, key, path, at) != value:
                raise KustomizeError(f"{at}: test failed at {path}")
        elif op == "remove":
            _get(parent, key, path, at)
            del parent[key]
        elif op == "replace":
            _get(parent, key, path, at)
            parent[key] = value
        elif op == "add":
            if isinstance(parent, list):
                if key == len(parent):
                    parent.append(value)
                else:
                    parent.insert(key, value)
            else:
                parent[key] = value
        else:
            raise KustomizeError(f"{at}: op {op!r} is not supported (add, remove, replace, test)")
    return document


def _walk(document: Any, path: str, where: str) -> tuple[Any, Any]:
    if not path.startswith("/"):
        raise KustomizeError(f"{where}: path {path!r} must start with /")
    tokens = [t.replace("~1", "/").replace("~0", "~") for t in path[1:].split("/")]
    node = document
    for token in tokens[:-1]:
        node = _get(node, _key(node, token, where, path), path, where)
    return node, _key(node, tokens[-1], where, path)


def _key(node: Any, token: str, where: str, path: str) -> Any:
    if isinstance(node, list):
        if token == "-":
            return len(node)
        if not token.isdigit() or int(token) > len(node):
            raise KustomizeError(f"{where}: {path}: {token!r} is not an index of the list")
        return int(token)
    if isinstance(node, dict):
        return token
    raise KustomizeError(f"{where}: {path}: {token!r} is below a scalar")


def _get(node: Any, key: Any, path: str, where: str) -> Any:
    try:
        return node[key]
    except (KeyError, IndexError):
        raise KustomizeError(f"{where}: {path} does not exist") from None


# -- labels and images -----------------------------------------------------------------


def _labels(resources: list[Resource], entry: Any, where: str) -> list[Resource]:
    if not isinstance(entry, dict) or not isinstance(entry.get("pairs"), dict):
        raise KustomizeError(f"{where}: labels need pairs")
    for flag in ("includeSelectors", "includeTemplates"):
        if entry.get(flag):
            raise KustomizeError(f"{where}: {flag}: not supported by this builder")
    built = []
    for resource in resources:
        document = copy.deepcopy(resource.document)
        labels = document.setdefault("metadata", {}).setdefault("labels", {})
        labels.update({str(k): str(v) for k, v in entry["pairs"].items()})
        built.append(_replaced(resource, document))
    return built


def _images(resources: list[Resource], entry: Any, where: str) -> list[Resource]:
    if not isinstance(entry, dict) or not entry.get("name"):
        raise KustomizeError(f"{where}: an image entry needs a name")
    unknown = sorted(set(entry) - {"name", "newName", "newTag", "digest"})
    if unknown:
        raise KustomizeError(f"{where}: {', '.join(unknown)}: not supported by this builder")
    return [_replaced(r, _retag(copy.deepcopy(r.document), entry)) for r in resources]


def _retag(node: Any, entry: dict[str, Any]) -> Any:
    # kustomize looks for images in every containers/initContainers list of any kind
    if isinstance(node, dict):
        for key, value in node.items():
            if key in ("containers", "initContainers") and isinstance(value, list):
                for container in value:
                    if isinstance(container, dict) and isinstance(container.get("image"), str):
                        container["image"] = _new_image(container["image"], entry)
            else:
                _retag(value, entry)
    elif isinstance(node, list):
        for item in node:
            _retag(item, entry)
    return node


def _new_image(image: str, entry: dict[str, Any]) -> str:
    name, digest = image.split("@", 1) if "@" in image else (image, None)
    tag = None
    if ":" in name.rsplit("/", 1)[-1]:
        name, tag = name.rsplit(":", 1)
    if name != entry["name"]:
        return image
    name = entry.get("newName", name)
    if entry.get("digest"):
        return f"{name}@{entry['digest']}"
    if entry.get("newTag"):
        return f"{name}:{entry['newTag']}"
    return name + (f":{tag}" if tag else "") + (f"@{digest}" if digest else "")

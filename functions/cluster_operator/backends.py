"""Two cluster backends behind one interface: Kubernetes (the official client) and the
local platform (its services and instances stand in for pods and Knative services)."""

from __future__ import annotations

import json
import os
import platform
import urllib.error
import urllib.request
from collections.abc import Mapping
from typing import Any, Protocol

KNATIVE = ("serving.knative.dev", "v1", "services")


class JobExists(RuntimeError):
    """A Job of that name is already there (a redelivered request started it)."""


class ClusterBackend(Protocol):
    def pods(self, namespace: str) -> list[dict[str, Any]]: ...
    def nodes(self) -> list[dict[str, Any]]: ...
    def events(self, namespace: str) -> list[dict[str, Any]]: ...
    def deployments(self, namespace: str) -> list[dict[str, Any]]: ...
    def knative_services(self, namespace: str) -> list[dict[str, Any]]: ...
    def logs(self, namespace: str, pod: str, lines: int) -> str: ...
    def create_job(self, namespace: str, manifest: dict[str, Any]) -> dict[str, Any]: ...
    def job_status(self, namespace: str, name: str) -> dict[str, Any]: ...
    def job_logs(self, namespace: str, name: str, lines: int) -> str: ...


class KubernetesBackend:
    """The real API through the official ``kubernetes`` client; read-only except Jobs."""

    def __init__(self, api_client: Any) -> None:
        from kubernetes import client

        self.core = client.CoreV1Api(api_client)
        self.apps = client.AppsV1Api(api_client)
        self.batch = client.BatchV1Api(api_client)
        self.custom = client.CustomObjectsApi(api_client)

    @classmethod
    def from_environment(cls, env: Mapping[str, str]) -> KubernetesBackend:
        """In-cluster service-account config, else the kubeconfig (``KUBECONFIG`` of
        ``env``, else ``~/.kube/config``), each into a client of its own."""
        from kubernetes import client, config

        configuration = client.Configuration()
        try:
            config.load_incluster_config(client_configuration=configuration)
        except config.ConfigException:
            config.load_kube_config(
                config_file=env.get("KUBECONFIG") or None, client_configuration=configuration
            )
        return cls(client.ApiClient(configuration))

    def pods(self, namespace: str) -> list[dict[str, Any]]:
        out = []
        for pod in self.core.list_namespaced_pod(namespace, limit=100).items:
            statuses = pod.status.container_statuses or []
            out.append(
                {
                    "name": pod.metadata.name,
                    "phase": pod.status.phase,
                    "ready": all(s.ready for s in statuses) if statuses else False,
                    "restarts": sum(s.restart_count for s in statuses),
                    "node": pod.spec.node_name,
                }
            )
        return out

    def nodes(self) -> list[dict[str, Any]]:
        out = []
        for node in self.core.list_node(limit=100).items:
            ready = next((c.status for c in node.status.conditions or [] if c.type == "Ready"), "?")
            out.append(
                {
                    "name": node.metadata.name,
                    "ready": ready,
                    "arch": node.status.node_info.architecture,
                    "memory": node.status.allocatable.get("memory"),
                }
            )
        return out

    def events(self, namespace: str) -> list[dict[str, Any]]:
        items = self.core.list_namespaced_event(namespace, limit=50).items
        return [
            {
                "type": e.type,
                "reason": e.reason,
                "object": f"{e.involved_object.kind}/{e.involved_object.name}",
                "message": e.message,
            }
            for e in items
        ]

    def deployments(self, namespace: str) -> list[dict[str, Any]]:
        items = self.apps.list_namespaced_deployment(namespace, limit=100).items
        return [
            {
                "name": d.metadata.name,
                "replicas": d.spec.replicas,
                "ready": d.status.ready_replicas or 0,
            }
            for d in items
        ]

    def knative_services(self, namespace: str) -> list[dict[str, Any]]:
        group, version, plural = KNATIVE
        listing = self.custom.list_namespaced_custom_object(group, version, namespace, plural)
        out = []
        for item in listing.get("items", []):
            conditions = (item.get("status") or {}).get("conditions") or []
            ready = next((c.get("status") for c in conditions if c.get("type") == "Ready"), "?")
            out.append(
                {
                    "name": item["metadata"]["name"],
                    "ready": ready,
                    "url": (item.get("status") or {}).get("url"),
                }
            )
        return out

    def logs(self, namespace: str, pod: str, lines: int) -> str:
        # raw bytes: the client's own decoding of text/plain answers is unreliable
        answer = self.core.read_namespaced_pod_log(
            pod, namespace, tail_lines=lines, _preload_content=False
        )
        return answer.data.decode("utf-8", "replace")

    def create_job(self, namespace: str, manifest: dict[str, Any]) -> dict[str, Any]:
        from kubernetes.client.exceptions import ApiException

        try:
            job = self.batch.create_namespaced_job(namespace, manifest)
        except ApiException as problem:
            if problem.status == 409:
                raise JobExists(manifest["metadata"]["name"]) from None
            raise
        return {"name": job.metadata.name, "namespace": namespace, "created": True}

    def job_status(self, namespace: str, name: str) -> dict[str, Any]:
        status = self.batch.read_namespaced_job_status(name, namespace).status
        conditions = [f"{c.type}={c.status}" for c in status.conditions or []]
        return {
            "name": name,
            "active": status.active or 0,
            "succeeded": status.succeeded or 0,
            "failed": status.failed or 0,
            "conditions": conditions,
        }

    def job_logs(self, namespace: str, name: str, lines: int) -> str:
        pods = self.core.list_namespaced_pod(namespace, label_selector=f"job-name={name}").items
        if not pods:
            return ""
        return self.logs(namespace, pods[-1].metadata.name, lines)


class LocalBackend:
    """The local platform (``binks up``): its Services are the cluster this machine has."""

    def __init__(self, platform_url: str, token: str = "") -> None:
        self.url = platform_url.rstrip("/")
        # the platform's control API needs its credential (BINKS_PLATFORM_TOKEN)
        self.auth = {"Authorization": f"Bearer {token}"} if token else {}

    def _get(self, path: str) -> Any:
        request = urllib.request.Request(self.url + path, headers=self.auth)
        with urllib.request.urlopen(request, timeout=10) as answer:
            return json.load(answer)

    def _call(self, path: str, body: Any = None) -> bytes:
        """GET (or POST ``body``); an error answer raises with the platform's reason."""
        data = None if body is None else json.dumps(body).encode()
        headers = {**self.auth, **({"Content-Type": "application/json"} if data else {})}
        request = urllib.request.Request(self.url + path, data, headers)
        try:
            with urllib.request.urlopen(request, timeout=10) as answer:
                return answer.read()
        except urllib.error.HTTPError as problem:
            reason = json.loads(problem.read() or b"{}").get("error", problem.reason)
            if problem.code == 409:
                raise JobExists(reason) from None
            raise RuntimeError(f"{problem.code}: {reason}") from None

    def _services(self, namespace: str) -> list[dict[str, Any]]:
        return [s for s in self._get("/_binks/ps")["services"] if s["namespace"] == namespace]

    def pods(self, namespace: str) -> list[dict[str, Any]]:
        return [
            {
                "name": f"{s['service']}-{i['pid']}",
                "phase": "Running",
                "ready": True,
                "restarts": s["restarts"],
                "node": platform.node(),
            }
            for s in self._services(namespace)
            for i in s["instances"]
        ]

    def nodes(self) -> list[dict[str, Any]]:
        return [
            {
                "name": platform.node(),
                "ready": "True",
                "arch": platform.machine(),
                "memory": f"{os.sysconf('SC_PHYS_PAGES') * os.sysconf('SC_PAGE_SIZE') // 2**20}Mi",
            }
        ]

    def events(self, namespace: str) -> list[dict[str, Any]]:
        # the newest 50, without their data: the answer stays small however big events are
        rows = self._get("/_binks/events?order=desc&limit=50")["events"][::-1]
        return [
            {
                "type": "Normal",
                "reason": row["origin"],
                "object": row["attributes"]["type"],
                "message": ", ".join(f"{d['trigger']}:{d['state']}" for d in row["deliveries"]),
            }
            for row in rows
        ]

    def deployments(self, namespace: str) -> list[dict[str, Any]]:
        return [
            {"name": s["service"], "replicas": len(s["instances"]), "ready": len(s["instances"])}
            for s in self._services(namespace)
        ]

    def knative_services(self, namespace: str) -> list[dict[str, Any]]:
        return [
            {
                "name": s["service"],
                "ready": "True",
                "scale": s["scale"],
                "url": f"http://{s['service']}.{namespace}.localhost",
            }
            for s in self._services(namespace)
        ]

    def logs(self, namespace: str, pod: str, lines: int) -> str:
        return "logs of local instances are in the platform's state/logs/<service>.log"

    def create_job(self, namespace: str, manifest: dict[str, Any]) -> dict[str, Any]:
        return json.loads(self._call(f"/_binks/jobs/{namespace}", manifest))

    def job_status(self, namespace: str, name: str) -> dict[str, Any]:
        status = json.loads(self._call(f"/_binks/jobs/{namespace}/{name}"))
        conditions = [f"{c['type']}={c['status']}" for c in status["conditions"]]
        return {**status, "conditions": conditions}

    def job_logs(self, namespace: str, name: str, lines: int) -> str:
        return self._call(f"/_binks/jobs/{namespace}/{name}/log?lines={lines}").decode()


def backend_from_env(env: Mapping[str, str]) -> ClusterBackend | None:
    """``BINKS_CLUSTER``: ``kubernetes``, ``local`` (the platform behind ``K_SINK``) or
    ``auto`` (default: in-cluster or kubeconfig if there is one, else local, else none)."""
    choice = env.get("BINKS_CLUSTER", "auto")
    in_cluster = "KUBERNETES_SERVICE_HOST" in env
    kubeconfig = os.path.exists(os.path.expanduser(env.get("KUBECONFIG", "~/.kube/config")))
    if choice == "kubernetes" or (choice == "auto" and (in_cluster or kubeconfig)):
        return KubernetesBackend.from_environment(env)
    sink = env.get("K_SINK", "")
    if choice in ("local", "auto") and sink:
        scheme, _, rest = sink.partition("://")
        token = env.get("BINKS_PLATFORM_TOKEN", "")
        return LocalBackend(f"{scheme}://{rest.split('/', 1)[0]}", token)
    return None

"""The cluster operator's tools: each checks its arguments against the policy, then
asks the backend. Output is compact text, bounded, for the model."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from functions.cluster_operator.backends import ClusterBackend
from functions.cluster_operator.policy import Policy, Refused
from shared.role import Tool

MAX_LINES = 100


def _lines(rows: list[dict[str, Any]]) -> str:
    if not rows:
        return "(none)"
    text = "\n".join(
        json.dumps(row, separators=(",", ":"), default=str) for row in rows[:MAX_LINES]
    )
    return text + (f"\n... and {len(rows) - MAX_LINES} more" if len(rows) > MAX_LINES else "")


def _guarded(call) -> str:
    try:
        return call()
    except Refused as refused:
        return f"error: refused: {refused}"
    except Exception as problem:  # the cluster's answer, whatever it is, goes to the model
        return f"error: {type(problem).__name__}: {str(problem)[:300]}"


def cluster_tools(backend: ClusterBackend, policy: Policy) -> tuple[Tool, ...]:
    """The tools, bound to one backend and one policy.

    Long by design: its body is the eight tools, each a closure whose signature and
    docstring both frameworks turn into the schema the model is shown."""

    def list_pods(namespace: str) -> str:
        """List the pods of a namespace with phase, readiness and restarts.

        Args:
            namespace: The Kubernetes namespace.
        """
        return _guarded(lambda: _lines(backend.pods(policy.namespace(namespace))))

    def list_events(namespace: str) -> str:
        """List the recent events of a namespace (warnings explain most failures).

        Args:
            namespace: The Kubernetes namespace.
        """
        return _guarded(lambda: _lines(backend.events(policy.namespace(namespace))))

    def list_deployments(namespace: str) -> str:
        """List the deployments of a namespace with desired and ready replicas.

        Args:
            namespace: The Kubernetes namespace.
        """
        return _guarded(lambda: _lines(backend.deployments(policy.namespace(namespace))))

    def list_knative_services(namespace: str) -> str:
        """List the Knative services of a namespace with readiness and URL.

        Args:
            namespace: The Kubernetes namespace.
        """
        return _guarded(lambda: _lines(backend.knative_services(policy.namespace(namespace))))

    def list_nodes() -> str:
        """List the cluster's nodes with readiness, architecture and allocatable memory."""
        return _guarded(lambda: _lines(backend.nodes()))

    def read_logs(namespace: str, pod: str, lines: int = 50) -> str:
        """Read the last lines of a pod's log.

        Args:
            namespace: The Kubernetes namespace.
            pod: The pod's name.
            lines: How many lines from the end (at most 200).
        """

        def call() -> str:
            ns = policy.namespace(namespace)
            name = policy.name(pod, "pod")
            return backend.logs(ns, name, max(1, min(int(lines), 200)))[-20_000:] or "(empty)"

        return _guarded(call)

    def spawn_job(namespace: str, name: str, image: str, args: str = "") -> str:
        """Start a worker as a Kubernetes Job (bounded in time and resources).

        Args:
            namespace: The Kubernetes namespace.
            name: The Job's name (DNS-1123).
            image: The container image; only allow-listed images run.
            args: Space-separated arguments for the container.
        """

        def call() -> str:
            manifest = job_manifest(policy, policy.namespace(namespace), name, image, args.split())
            return json.dumps(backend.create_job(manifest["metadata"]["namespace"], manifest))

        return _guarded(call)

    def job_status(namespace: str, name: str) -> str:
        """Report how a spawned Job is doing: active, succeeded and failed pods, conditions.

        Args:
            namespace: The Kubernetes namespace.
            name: The Job's name.
        """

        def call() -> str:
            job = policy.name(name, "job", label=True)
            return json.dumps(backend.job_status(policy.namespace(namespace), job))

        return _guarded(call)

    functions = (
        list_pods,
        list_events,
        list_deployments,
        list_knative_services,
        list_nodes,
        read_logs,
        spawn_job,
        job_status,
    )
    return tuple(Tool(f.__name__, f) for f in functions)


def job_manifest(
    policy: Policy, namespace: str, name: str, image: str, args: Sequence[str]
) -> dict:
    """A Job that cannot outlive its budget: deadline, no retries storm, cleaned up, limited.

    ``args`` go to the container as they are: no shell ever parses them."""
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {
            "name": policy.name(name, "job", label=True),
            "namespace": namespace,
            "labels": {"app.kubernetes.io/managed-by": "binks-cluster-operator"},
        },
        "spec": {
            "activeDeadlineSeconds": policy.max_job_seconds,
            "backoffLimit": 1,
            "ttlSecondsAfterFinished": 600,
            "template": {
                "spec": {
                    "restartPolicy": "Never",
                    "automountServiceAccountToken": False,
                    "containers": [
                        {
                            "name": "worker",
                            "image": policy.image(image),
                            "args": [str(a)[:512] for a in args][:20],
                            "resources": {
                                "requests": {"cpu": "100m", "memory": "64Mi"},
                                "limits": {"cpu": "500m", "memory": "256Mi"},
                            },
                            "securityContext": {
                                "allowPrivilegeEscalation": False,
                                "runAsNonRoot": True,
                            },
                        }
                    ],
                }
            },
        },
    }

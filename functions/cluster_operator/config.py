"""What the cluster operator reads from its environment, once, when its app is created:
the policy, the backend and how long a requested Job is waited for."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from functions.cluster_operator.backends import ClusterBackend, backend_from_env
from functions.cluster_operator.policy import Policy
from shared.role import Context

#: Seconds a requested Job is waited for when ``BINKS_JOB_WAIT_S`` is unset.
DEFAULT_JOB_WAIT_S = 120.0


@dataclass(frozen=True)
class OperatorConfig:
    """The operator's dependencies; ``backend`` is None when there is no cluster (each
    request then fails with ``no_cluster``, as the deployment cannot change that)."""

    policy: Policy
    backend: ClusterBackend | None
    #: How long to wait for a requested Job before reporting it as still running.
    job_wait_s: float = DEFAULT_JOB_WAIT_S


def wait_limit(policy: Policy, env: Mapping[str, str]) -> float:
    """``BINKS_JOB_WAIT_S`` (default 120 s; 0: look once, do not wait), at most the Job's
    deadline; a value that is not a number of seconds is refused by name."""
    raw = env.get("BINKS_JOB_WAIT_S", "").strip()
    try:
        wait_s = float(raw) if raw else DEFAULT_JOB_WAIT_S
    except ValueError:
        raise ValueError(f"BINKS_JOB_WAIT_S must be a number of seconds, got {raw!r}") from None
    if not wait_s >= 0:
        raise ValueError(f"BINKS_JOB_WAIT_S must not be negative, got {raw!r}")
    return min(wait_s, policy.max_job_seconds)


def configure(env: Mapping[str, str], context: Context) -> OperatorConfig:
    """The policy (``BINKS_ALLOWED_NAMESPACES``, ``BINKS_JOB_IMAGES``), the backend
    (``BINKS_CLUSTER``, see :func:`backend_from_env`) and the Job wait."""
    policy = Policy.from_env(env)
    return OperatorConfig(policy, backend_from_env(env), wait_limit(policy, env))

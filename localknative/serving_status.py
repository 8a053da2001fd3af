"""``binks ps``'s view of Serving: one row per Service (settings, instances with their
memory against the limit, cold and restored starts, the checkpoint)."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from localknative.serving import Instance, Serving


def rows(serving: Serving) -> list[dict[str, Any]]:
    """What ``binks ps`` shows: per Service its settings, instances and starts."""
    found = []
    for (namespace, name), state in sorted(serving.states.items()):
        found.append(
            {
                "service": name,
                "namespace": namespace,
                "image": state.spec.image,
                "runtime": serving.runtime,
                "start": "cold" if serving.snapshots is None else "snapshot",
                "local": "platform (event_display)"
                if state.function is None
                else f"functions/{state.function.role} on {state.function.variant}",
                "instances": [instance_row(i) for i in state.instances],
                "starting": state.starting,
                "scale": f"{len(state.instances)}/{state.spec.min_scale}-{state.max_scale}",
                "restarts": state.restarts,
                "settings": {
                    "scale": [state.spec.min_scale, state.max_scale],
                    "initial_scale": state.spec.initial_scale,
                    "container_concurrency": state.spec.container_concurrency,
                    "timeout_s": state.spec.timeout_s,
                    "window_s": serving.window_s or state.spec.window_s,
                    "memory_limit_bytes": state.spec.memory_limit_bytes,
                    "cpu_request_millis": state.spec.cpu_request_millis,
                },
                "cold_starts_s": [round(s, 3) for s in state.cold_starts[-5:]],
                **(serving.snapshots.status(name, state.restores) if serving.snapshots else {}),
            }
        )
    return found


def instance_row(instance: Instance) -> dict[str, Any]:
    """One instance's row: where it serves, its load, and its memory as its cgroup
    counts it (usage, limit; RSS alone for a process without a cgroup)."""
    memory = instance.process.memory()

    def mib(key: str) -> float | None:
        return round(memory[key] / 2**20, 1) if memory.get(key) else None

    return {
        "pid": instance.process.pid,
        "start": "restored" if instance.restored else "cold",
        "port": instance.process.port,
        "active": instance.active,
        "served": instance.served,
        "ready_s": round(instance.ready_s, 3),
        "idle_s": round(time.monotonic() - instance.last_used, 1),
        "age_s": round(time.monotonic() - instance.started, 1),
        "memory_limit": "applied" if instance.process.cgroup else "not applied",
        "rss_mib": mib("rss"),
        "memory_mib": mib("usage"),
        "memory_limit_mib": mib("limit") if instance.process.cgroup else None,
    }

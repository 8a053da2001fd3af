"""A bounded burst through the real platform: nothing lost, nothing duplicated, memory bounded.

N events of a type both code-reviewer Services take (one Trigger per variant, so every
event is delivered twice: once to agno, once to crewai) go to the broker ingress with C
concurrent clients. The functions are real instances (``containerConcurrency`` 4,
``max-scale`` 2, from zero); the event type is one they answer with an empty 202, so
the run measures the platform and the runtime, not a model. A client that gets 429
(back-pressure) waits ``Retry-After`` and sends the same event again. At the end every
delivery's state comes from the event store, and the functions' own log lines (one per
event handled) show whether any event was handled twice.
"""

from __future__ import annotations

import asyncio
import json
import tempfile
import time
import uuid
from collections import Counter
from pathlib import Path
from subprocess import DEVNULL

import aiohttp
import uvloop

from bench.results import save
from events import VARIANTS
from localknative import instances
from localknative.launch import RunningPlatform, start_platform

EVENT_TYPE = "bench.load"
BROKER = """
apiVersion: eventing.knative.dev/v1
kind: Broker
metadata: {name: default, namespace: default}
spec: {delivery: {retry: 5, backoffPolicy: exponential, backoffDelay: PT0.2S}}
"""
SERVICE = """
---
apiVersion: serving.knative.dev/v1
kind: Service
metadata: {{name: code-reviewer-{variant}, namespace: default}}
spec:
  template:
    metadata:
      annotations:
        autoscaling.knative.dev/initial-scale: "0"
        autoscaling.knative.dev/max-scale: "2"
    spec:
      containerConcurrency: 4
      timeoutSeconds: 60
      containers:
        - image: example.org/binks/code-reviewer-{variant}:load
---
apiVersion: eventing.knative.dev/v1
kind: Trigger
metadata: {{name: load-{variant}, namespace: default}}
spec:
  broker: default
  filters: [{{exact: {{type: {event_type}}}}}]
  subscriber:
    ref: {{apiVersion: serving.knative.dev/v1, kind: Service, name: code-reviewer-{variant}}}
"""


def manifest(variants: tuple[str, ...]) -> str:
    services = "".join(SERVICE.format(variant=v, event_type=EVENT_TYPE) for v in variants)
    return BROKER + services


async def _all_events(http: aiohttp.ClientSession, platform: RunningPlatform) -> list[dict]:
    rows, after = [], 0
    while True:
        url = f"{platform.url}/_binks/events?after={after}&limit=500&type={EVENT_TYPE}"
        async with http.get(url, headers=platform.auth()) as answer:
            page = await answer.json()
        rows += page["events"]
        if not page["more"]:
            return rows
        after = page["events"][-1]["seq"]


def handled_ids(log_dir: Path, service: str) -> Counter:
    """How many times the function logged handling each event id."""
    counts: Counter = Counter()
    path = log_dir / f"{service}.log"
    for line in path.read_text(errors="replace").splitlines() if path.exists() else ():
        if line.startswith("{"):
            entry = json.loads(line)
            if entry.get("msg") == "event" and entry.get("type") == EVENT_TYPE:
                counts[entry["id"]] += 1
    return counts


async def run(
    events: int = 1000,
    concurrency: int = 16,
    variants: tuple[str, ...] = VARIANTS,
    backlog: int = 512,
    timeout_s: float = 240,
) -> dict:
    work = Path(tempfile.mkdtemp(prefix="binks-load-"))
    (work / "manifests").mkdir()
    (work / "manifests" / "all.yaml").write_text(manifest(variants))
    env = {"BINKS_BROKER_BACKLOG": str(backlog)}
    options = ("--manifests", str(work / "manifests"), "--window", "30")
    platform = start_platform(work / "state", *options, env=env, log=DEVNULL)
    base = platform.url
    rss: list[int] = [instances.rss(platform.process.pid)]
    refused = 0
    ids = [str(uuid.uuid4()) for _ in range(events)]
    try:
        async with aiohttp.ClientSession() as http:

            async def send(event_id: str) -> None:
                nonlocal refused
                headers = {
                    "ce-specversion": "1.0",
                    "ce-id": event_id,
                    "ce-source": "/bench/load",
                    "ce-type": EVENT_TYPE,
                    "content-type": "application/json",
                }
                while True:
                    async with http.post(
                        f"{base}/default/default", data=b"{}", headers=headers
                    ) as a:
                        await a.read()
                        if a.status == 202:
                            return
                        if a.status != 429:
                            raise RuntimeError(f"ingress answered {a.status}")
                        refused += 1
                        await asyncio.sleep(float(a.headers.get("Retry-After", "1")))

            queue = list(ids)

            async def client() -> None:
                while queue:
                    await send(queue.pop())
                    if len(queue) % 100 == 0:
                        rss.append(instances.rss(platform.process.pid))

            started = time.perf_counter()
            await asyncio.gather(*(client() for _ in range(concurrency)))
            accepted_s = time.perf_counter() - started
            deadline = time.monotonic() + timeout_s
            while True:
                rows = await _all_events(http, platform)
                states = Counter(d["state"] for r in rows for d in r["deliveries"])
                rss.append(instances.rss(platform.process.pid))
                if states["pending"] == 0 or time.monotonic() > deadline:
                    break
                await asyncio.sleep(0.5)
            delivered_s = time.perf_counter() - started
            async with http.get(f"{base}/_binks/ps", headers=platform.auth()) as answer:
                services = (await answer.json())["services"]
    finally:
        platform.stop(60)
    handled = {v: handled_ids(work / "state" / "logs", f"code-reviewer-{v}") for v in variants}
    stored_ids = Counter(r["attributes"]["id"] for r in rows)
    return {
        "events": events,
        "concurrency": concurrency,
        "variants": list(variants),
        "backlog": backlog,
        "accepted": len(stored_ids),
        "refused_429": refused,
        "deliveries": dict(states),
        "lost": sum(1 for i in ids if i not in stored_ids)
        + sum(1 for r in rows for d in r["deliveries"] if d["state"] != "delivered"),
        "stored_twice": sum(1 for n in stored_ids.values() if n > 1),
        "handled": {v: len(c) for v, c in handled.items()},
        "handled_twice": {v: sum(1 for n in c.values() if n > 1) for v, c in handled.items()},
        "not_handled": {v: sum(1 for i in ids if i not in c) for v, c in handled.items()},
        "instances_started": {s["service"]: len(s["cold_starts_s"]) for s in services},
        "platform_rss_mib": {
            "start": round(rss[0] / 2**20, 1),
            "peak": round(max(rss) / 2**20, 1),
            "end": round(rss[-1] / 2**20, 1),
        },
        "ingress_events_per_s": round(events / accepted_s, 1),
        "delivered_events_per_s": round(events * len(variants) / delivered_s, 1),
    }


def main(events: int = 1000, concurrency: int = 16) -> int:
    print(f"==> load: {events} events, {concurrency} clients, both variants", flush=True)
    result = uvloop.run(run(events, concurrency))
    print(
        f"accepted {result['accepted']}, 429s {result['refused_429']}, deliveries "
        f"{result['deliveries']}, lost {result['lost']}, handled twice "
        f"{result['handled_twice']}, platform RSS peak {result['platform_rss_mib']['peak']} MiB, "
        f"{result['delivered_events_per_s']} deliveries/s"
    )
    save("load", result)
    return 0 if result["lost"] == 0 else 1


if __name__ == "__main__":
    raise SystemExit(main())

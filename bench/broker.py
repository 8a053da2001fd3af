"""Broker throughput and added latency, through the real platform process.

A no-op subscriber (aiohttp, in this process) answers 202. The platform (``binks
up``, a separate process) has one Trigger to it. Throughput: N events sent with C
concurrent clients; events/s counts an event once the subscriber has it (accepted,
persisted, matched, delivered). Added latency: events sent one at a time; the
time from send to arrival at the subscriber, minus the same client's direct POST
to the subscriber, percentile by percentile.
"""

from __future__ import annotations

import asyncio
import statistics
import tempfile
import time
import uuid
from pathlib import Path
from subprocess import DEVNULL

import aiohttp
import uvloop
from aiohttp import web

from bench.results import save
from localknative.launch import start_platform
from shared.listen import bind_listener, port_of

MANIFEST = """
apiVersion: eventing.knative.dev/v1
kind: Broker
metadata: {{name: default, namespace: default}}
spec: {{delivery: {{retry: 3, backoffPolicy: exponential, backoffDelay: PT0.2S}}}}
---
apiVersion: eventing.knative.dev/v1
kind: Trigger
metadata: {{name: noop, namespace: default}}
spec:
  broker: default
  filters: [{{exact: {{type: bench.noop}}}}]
  subscriber: {{uri: "http://127.0.0.1:{port}/"}}
"""


def percentile(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]


async def run(events: int, concurrency: int, latency_samples: int) -> dict:
    arrived: dict[str, float] = {}
    delivered = asyncio.Event()

    async def noop(request: web.Request) -> web.Response:
        await request.read()
        arrived[request.headers.get("ce-id", "")] = time.perf_counter()
        if len(arrived) >= events:
            delivered.set()
        return web.Response(status=202)

    app = web.Application()
    app.router.add_post("/", noop)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    noop = bind_listener()
    noop_port = port_of(noop)
    await web.SockSite(runner, noop).start()
    work = Path(tempfile.mkdtemp(prefix="binks-bench-"))
    (work / "manifests").mkdir()
    (work / "manifests" / "all.yaml").write_text(MANIFEST.format(port=noop_port))
    manifests = str(work / "manifests")
    platform = start_platform(work / "state", "--manifests", manifests, log=DEVNULL)
    ingress = f"{platform.url}/default/default"
    try:
        async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=concurrency)) as http:

            async def post(url: str, event_id: str) -> int:
                headers = {
                    "ce-specversion": "1.0",
                    "ce-id": event_id,
                    "ce-source": "/bench",
                    "ce-type": "bench.noop",
                    "content-type": "application/json",
                }
                async with http.post(url, data=b'{"n": 1}', headers=headers) as answer:
                    await answer.read()
                    return answer.status

            # added latency: one event at a time, direct vs through the broker
            direct, through = [], []
            for _ in range(latency_samples):
                started = time.perf_counter()
                await post(f"http://127.0.0.1:{noop_port}/", "direct")
                direct.append(time.perf_counter() - started)
                event_id = str(uuid.uuid4())
                started = time.perf_counter()
                await post(ingress, event_id)
                while event_id not in arrived:
                    await asyncio.sleep(0.0002)
                through.append(arrived[event_id] - started)
            arrived.clear()

            # throughput: `events` events, `concurrency` at a time
            queue: asyncio.Queue[str] = asyncio.Queue()
            for _ in range(events):
                queue.put_nowait(str(uuid.uuid4()))
            statuses: list[int] = []

            async def client() -> None:
                while not queue.empty():
                    statuses.append(await post(ingress, queue.get_nowait()))

            started = time.perf_counter()
            await asyncio.gather(*(client() for _ in range(concurrency)))
            accepted_s = time.perf_counter() - started
            await asyncio.wait_for(delivered.wait(), 300)
            delivered_s = time.perf_counter() - started
    finally:
        platform.stop(30)
        await runner.cleanup()
    ms = 1000.0
    return {
        "events": events,
        "concurrency": concurrency,
        "accepted_202": statuses.count(202),
        "ingress_events_per_s": events / accepted_s,
        "delivered_events_per_s": events / delivered_s,
        "latency_samples": latency_samples,
        "direct_ms": {"p50": percentile(direct, 50) * ms, "p99": percentile(direct, 99) * ms},
        "broker_ms": {"p50": percentile(through, 50) * ms, "p99": percentile(through, 99) * ms},
        "added_ms": {
            "p50": (percentile(through, 50) - percentile(direct, 50)) * ms,
            "p99": (percentile(through, 99) - percentile(direct, 99)) * ms,
        },
        "broker_mean_ms": statistics.mean(through) * ms,
    }


def main(events: int = 3000, concurrency: int = 32, latency_samples: int = 500) -> int:
    print(
        f"==> broker benchmark: {latency_samples} sequential events for latency, then "
        f"{events} events with {concurrency} concurrent clients",
        flush=True,
    )
    result = uvloop.run(run(events, concurrency, latency_samples))
    print(
        f"throughput: {result['ingress_events_per_s']:.0f} events/s accepted, "
        f"{result['delivered_events_per_s']:.0f} events/s delivered end to end"
    )
    print(
        f"latency to a no-op subscriber: broker p50 {result['broker_ms']['p50']:.2f} ms / "
        f"p99 {result['broker_ms']['p99']:.2f} ms; direct p50 {result['direct_ms']['p50']:.2f} ms"
        f" / p99 {result['direct_ms']['p99']:.2f} ms; added p50 {result['added_ms']['p50']:.2f} ms"
        f" / p99 {result['added_ms']['p99']:.2f} ms"
    )
    save("broker", result)
    return 0

"""The dashboard ``binks up`` serves at ``/_binks/dashboard``: both variants' chains as
swimlanes per task, live (the page polls :meth:`Dashboard.state` every second), the
Services, the dead letters and the newest bench comparison.

No front-end build: ``page.html``, ``dashboard.js`` and ``dashboard.css`` beside this
module are served as they are. Everything the page shows comes from the platform's own
spans (:mod:`localknative.traces`), Serving's status and ``bench/results``; the page
writes it with ``textContent`` only, so no event data can become markup.
"""

from __future__ import annotations

import asyncio
import re
import time
from pathlib import Path
from typing import Any

from aiohttp import web

from localknative import credential
from localknative.broker import Eventing
from localknative.dashboard.bench_view import bench_summary
from localknative.guards import error
from localknative.paths import REPO
from localknative.serving import Serving
from localknative.store import EventQuery

HERE = Path(__file__).resolve().parent
#: The page's files, by the name it asks for them (nothing else is served from here).
ASSETS = {
    "dashboard.js": "text/javascript",
    "dashboard.css": "text/css",
    "favicon.svg": "image/svg+xml",
}
BENCH_RESULTS = REPO / "bench" / "results"
_PLOT = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}\.png$")
#: The most of one event's data the page gets when a hop is clicked.
EVENT_DATA_BYTES = 64 * 1024
#: Tasks the page shows (the newest).
TASKS_SHOWN = 12
#: Headers of every dashboard answer: no framing by other sites, no sniffing, no cache.
SAFE_HEADERS = {
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Cache-Control": "no-store",
    "Content-Security-Policy": "default-src 'self'; img-src 'self'; frame-ancestors 'none'",
    "Referrer-Policy": "no-referrer",
}


class Dashboard:
    """The dashboard's handlers; :meth:`add_routes` registers them (before the control
    API's catch-all)."""

    def __init__(
        self, eventing: Eventing, serving: Serving, token: str, bench: Path = BENCH_RESULTS
    ) -> None:
        self.eventing, self.serving, self.bench = eventing, serving, bench
        self.cookie = credential.view_cookie(token)
        self.view = credential.view_token(token)

    def add_routes(self, router: web.UrlDispatcher) -> None:
        base = credential.DASHBOARD_PATH
        router.add_get(base, self.page)
        router.add_get(f"{base}/state", self.state)
        router.add_get(f"{base}/events/{{seq}}", self.event)
        router.add_get(f"{base}/plots/{{name}}", self.plot)
        router.add_get(f"{base}/{{name}}", self.asset)

    async def page(self, request: web.Request) -> web.StreamResponse:
        """The page; opened with ``?token=``, it sets the view cookie and drops the token
        from the address (303 to itself)."""
        if "token" in request.query:
            answer = web.HTTPSeeOther(credential.DASHBOARD_PATH, headers=SAFE_HEADERS)
            answer.set_cookie(
                self.cookie, self.view, path=credential.DASHBOARD_PATH, httponly=True,
                samesite="Strict",
            )  # fmt: skip
            return answer
        return _file(HERE / "page.html", "text/html")

    async def asset(self, request: web.Request) -> web.StreamResponse:
        name = request.match_info["name"]
        if name not in ASSETS:
            return _refused(404, f"no dashboard file {name[:40]!r}")
        return _file(HERE / name, ASSETS[name])

    async def plot(self, request: web.Request) -> web.StreamResponse:
        name = request.match_info["name"]
        path = self.bench / "plots" / name
        if not _PLOT.match(name) or not path.is_file():
            return _refused(404, f"no bench plot {name[:40]!r}")
        return _file(path, "image/png")

    async def state(self, _: web.Request) -> web.Response:
        """Everything the page shows, as JSON (:func:`page_state`)."""
        bench = await asyncio.to_thread(bench_summary, self.bench)
        body = page_state(self.eventing, self.serving, bench)
        return web.json_response(body, headers=SAFE_HEADERS)

    async def event(self, request: web.Request) -> web.Response:
        """One event's attributes and data (the first 64 KiB), for a clicked hop."""
        raw = request.match_info["seq"]
        if not raw.isdigit() or int(raw) < 1:
            return _refused(400, "the event's seq is a positive integer")
        query = EventQuery(after=int(raw) - 1, limit=1, data=True, data_bytes=EVENT_DATA_BYTES)
        page = await asyncio.to_thread(self.eventing.store.events, query)
        found = [e for e in page["events"] if e["seq"] == int(raw)]
        if not found:
            return _refused(404, f"no event {raw}")
        return web.json_response(found[0], headers=SAFE_HEADERS)


def page_state(eventing: Eventing, serving: Serving, bench: dict[str, Any]) -> dict[str, Any]:
    """The tasks (each with one lane per variant, its hops in order), the Services, the
    dead letters (newest first) and the bench summary."""
    tasks = []
    for task in eventing.seen.traces.deliveries(TASKS_SHOWN):
        lanes: dict[str, list[dict[str, Any]]] = {}
        for hop in task["hops"]:
            lane = hop.get("variant") or hop.get("addressed_to") or "shared"
            lanes.setdefault(lane, []).append(hop)
        tasks.append({**{k: v for k, v in task.items() if k != "hops"}, "lanes": lanes})
    return {
        "now": time.time(),
        "tasks": tasks,
        "services": [_service_row(row) for row in serving.status()],
        "dead_letters": list(reversed(eventing.seen.dead_letters)),
        "bench": bench,
    }


def _service_row(row: dict[str, Any]) -> dict[str, Any]:
    """What the services table needs of ``binks ps``'s row."""
    memory = [i["memory_mib"] or i["rss_mib"] for i in row["instances"]]
    limit = row["settings"]["memory_limit_bytes"]
    return {
        "service": row["service"],
        "local": row["local"],
        "instances": len(row["instances"]),
        "starting": row["starting"],
        "scale": row["scale"],
        "restarts": row["restarts"],
        "cold_starts_s": row["cold_starts_s"],
        "memory_mib": [m for m in memory if m is not None],
        "memory_limit_mib": round(limit / 2**20, 1) if limit else None,
    }


def _file(path: Path, content_type: str) -> web.Response:
    return web.Response(body=path.read_bytes(), content_type=content_type, headers=SAFE_HEADERS)


def _refused(status: int, reason: str) -> web.Response:
    """A JSON error with the dashboard's headers (no framing, no sniffing, no cache)."""
    answer = error(status, reason)
    answer.headers.update(SAFE_HEADERS)
    return answer

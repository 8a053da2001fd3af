"""The control API (``/_binks/*``): services, the event log, Jobs. Behind the guards of
:mod:`localknative.guards`; for the CLI and the cluster operator."""

from __future__ import annotations

import asyncio

from aiohttp import web

from localknative.broker import Eventing
from localknative.guards import error
from localknative.jobs import JobError, Jobs
from localknative.serving import Serving
from localknative.store import EventQuery


class ControlAPI:
    """The handlers of ``/_binks/*``; :meth:`add_routes` registers them."""

    def __init__(self, eventing: Eventing, serving: Serving, jobs: Jobs | None) -> None:
        self.eventing, self.serving, self.jobs = eventing, serving, jobs

    def add_routes(self, router: web.UrlDispatcher) -> None:
        if self.jobs is not None:
            router.add_post("/_binks/jobs/{ns}", self.create_job)
            router.add_get("/_binks/jobs/{ns}/{name}", self.job)
            router.add_get("/_binks/jobs/{ns}/{name}/log", self.job_log)
        router.add_get("/_binks/ps", self.ps)
        router.add_get("/_binks/events", self.events)
        router.add_get("/_binks/events/{seq}/data", self.event_data)
        router.add_route("*", "/_binks/{tail:.*}", self.unknown)

    async def unknown(self, request: web.Request) -> web.Response:
        return error(404, f"no control endpoint {request.method} {request.path}")

    async def ps(self, _: web.Request) -> web.Response:
        """Every Service: its instances and settings, and the Triggers that feed it."""
        rows = self.serving.status()
        for row in rows:
            row["triggers"] = [
                {"name": key, "broker": t.broker, "filters": _filters_of(t)}
                for key, t in sorted(self.eventing.triggers.items())
                if t.subscriber.service == row["service"]
                and t.subscriber.namespace == row["namespace"]
            ]
        return web.json_response({"services": rows})

    async def events(self, request: web.Request) -> web.Response:
        """One page of the event log (:class:`~localknative.store.EventQuery`)."""
        try:
            query = EventQuery.from_params(request.query)
        except ValueError as problem:
            return error(400, str(problem))
        page = await asyncio.to_thread(self.eventing.store.events, query)
        return web.json_response(page)

    async def event_data(self, request: web.Request) -> web.StreamResponse:
        """One event's data, whole, streamed from the store in chunks."""
        try:
            seq = int(request.match_info["seq"])
        except ValueError:
            return error(400, "the event's seq is an integer")
        chunks = self.eventing.store.data_chunks(seq)
        try:
            piece = await asyncio.to_thread(next, chunks, None)
        except LookupError:
            return error(404, f"no event {seq}")
        answer = web.StreamResponse(headers={"Content-Type": "application/octet-stream"})
        await answer.prepare(request)
        while piece is not None:
            await answer.write(piece)
            piece = await asyncio.to_thread(next, chunks, None)
        await answer.write_eof()
        return answer

    async def create_job(self, request: web.Request) -> web.Response:
        assert self.jobs is not None
        try:
            manifest = await request.json()
        except ValueError:
            return error(400, "the body is not JSON: send one batch/v1 Job manifest")
        try:
            created = self.jobs.create(request.match_info["ns"], manifest)
        except JobError as problem:
            return error(problem.status, problem.reason)
        return web.json_response(created, status=201)

    async def job(self, request: web.Request) -> web.Response:
        assert self.jobs is not None
        try:
            found = self.jobs.get(request.match_info["ns"], request.match_info["name"])
        except JobError as problem:
            return error(problem.status, problem.reason)
        return web.json_response(found.status())

    async def job_log(self, request: web.Request) -> web.Response:
        assert self.jobs is not None
        raw = request.query.get("lines", "50")
        if not raw.isdigit():
            return error(400, f"lines must be a number of lines, got {raw[:20]!r}")
        lines = max(1, min(int(raw), 1000))
        try:
            text = self.jobs.logs(request.match_info["ns"], request.match_info["name"], lines)
        except JobError as problem:
            return error(problem.status, problem.reason)
        return web.Response(text=text)


def _filters_of(trigger) -> list | dict:
    """A Trigger's filters as its manifest writes them (``filters``, else ``filter``)."""
    return [dict(f) for f in trigger.filters] if trigger.filters else dict(trigger.attributes)

"""The platform's HTTP front: broker ingress, Host-routed services, management API."""

from __future__ import annotations

import asyncio
import re

import aiohttp
from aiohttp import web

from localknative.broker import Eventing, IngressError
from localknative.jobs import JobError, Jobs
from localknative.serving import Serving, ServingError

_BROKER_PATH = re.compile(r"^/(?P<ns>[a-z0-9]([-a-z0-9]*[a-z0-9])?)/(?P<name>[a-z0-9][-a-z0-9.]*)$")
_HOP_BY_HOP = {
    "connection",
    "keep-alive",
    "transfer-encoding",
    "te",
    "trailer",
    "upgrade",
    "proxy-authorization",
    "proxy-authenticate",
    "host",
    "content-length",
}
MAX_BODY = 4 * 1024 * 1024


def _error(status: int, reason: str, **details: object) -> web.Response:
    body = {"error": reason, **({"details": details} if details else {})}
    return web.json_response(body, status=status)


def create_app(eventing: Eventing, serving: Serving, jobs: Jobs | None = None) -> web.Application:
    """The aiohttp application; ``eventing`` and ``serving`` are started by the caller."""

    @web.middleware
    async def host_routing(request: web.Request, handler):
        host = (request.host or "").rsplit(":", 1)[0]
        labels = host.split(".")
        if len(labels) >= 3 and not host.replace(".", "").isdigit():
            service, namespace = labels[0], labels[1]
            if (namespace, service) not in serving.states:
                return _error(404, f"no service {service!r} in namespace {namespace!r}")
            return await proxy(request, namespace, service)
        return await handler(request)

    async def proxy(request: web.Request, namespace: str, service: str) -> web.StreamResponse:
        state = serving.state(namespace, service)
        if state.function is None:
            return _error(404, f"{service} has no HTTP endpoint locally")
        body = await request.read()
        try:
            instance = await serving.acquire(namespace, service, state.spec.timeout_s)
        except (TimeoutError, ServingError) as problem:
            return _error(503, str(problem))
        headers = {k: v for k, v in request.headers.items() if k.lower() not in _HOP_BY_HOP}
        url = instance.process.url + request.path_qs
        try:
            async with eventing.session.request(
                request.method,
                url,
                data=body,
                headers=headers,
                timeout=aiohttp.ClientTimeout(total=state.spec.timeout_s),
            ) as answer:
                payload = await answer.read()
                out = {k: v for k, v in answer.headers.items() if k.lower() not in _HOP_BY_HOP}
                return web.Response(status=answer.status, body=payload, headers=out)
        except (OSError, TimeoutError, aiohttp.ClientError) as problem:
            # the instance went away mid-answer (an OOM kill, a crash): a gateway error
            return _error(502, f"{service}: {type(problem).__name__}: {problem}")
        finally:
            await serving.release(namespace, service, instance)

    async def healthz(_: web.Request) -> web.Response:
        return web.Response(text="ok")

    async def ingress(request: web.Request) -> web.Response:
        match = _BROKER_PATH.match(request.path)
        if request.path == "/":
            return _error(404, "POST events to /<namespace>/<broker>, e.g. /default/default")
        if not match:
            return _error(400, f"{request.path!r} is not /<namespace>/<broker>")
        if request.method == "OPTIONS":
            return web.Response(
                headers={
                    "Allow": "POST, OPTIONS",
                    "WebHook-Allowed-Origin": "*",
                    "WebHook-Allowed-Rate": "*",
                }
            )
        if request.method != "POST":
            return _error(405, f"{request.method} is not allowed; POST one CloudEvent")
        try:
            body = await request.read()
        except web.HTTPRequestEntityTooLarge:
            return _error(413, f"the body is over the limit of {MAX_BODY} bytes")
        try:
            await eventing.ingest(match["ns"], match["name"], request.headers, body)
        except IngressError as problem:
            answer = _error(problem.status, problem.reason, **problem.details)
            answer.headers.update(problem.headers)
            return answer
        return web.Response(status=202)

    async def ps(_: web.Request) -> web.Response:
        return web.json_response({"services": serving.status()})

    async def events(request: web.Request) -> web.Response:
        try:
            after = int(request.query.get("after", "0"))
            limit = min(int(request.query.get("limit", "200")), 1000)
        except ValueError:
            return _error(400, "after and limit must be integers")
        kind = request.query.get("type") or None
        rows = await asyncio.to_thread(eventing.store.events, after, kind, limit)
        return web.json_response({"events": rows})

    async def create_job(request: web.Request) -> web.Response:
        try:
            manifest = await request.json()
            return web.json_response(jobs.create(request.match_info["ns"], manifest), status=201)
        except ValueError as problem:  # JobError, or a body that is not JSON
            status = problem.status if isinstance(problem, JobError) else 400
            return _error(status, str(problem))

    async def job(request: web.Request) -> web.Response:
        try:
            found = jobs.get(request.match_info["ns"], request.match_info["name"])
        except JobError as problem:
            return _error(problem.status, problem.reason)
        return web.json_response(found.status())

    async def job_log(request: web.Request) -> web.Response:
        try:
            lines = max(1, min(int(request.query.get("lines", "50")), 1000))
            text = jobs.logs(request.match_info["ns"], request.match_info["name"], lines)
        except ValueError as problem:
            status = problem.status if isinstance(problem, JobError) else 400
            return _error(status, str(problem))
        return web.Response(text=text)

    app = web.Application(middlewares=[host_routing], client_max_size=MAX_BODY)
    if jobs is not None:
        app.router.add_post("/_binks/jobs/{ns}", create_job)
        app.router.add_get("/_binks/jobs/{ns}/{name}", job)
        app.router.add_get("/_binks/jobs/{ns}/{name}/log", job_log)
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/_binks/ps", ps)
    app.router.add_get("/_binks/events", events)
    app.router.add_route("*", "/{tail:.*}", ingress)
    return app


def _timeout(seconds: float):
    import aiohttp

    return aiohttp.ClientTimeout(total=seconds)


async def _to_thread(function, *args):
    import asyncio

    return await asyncio.to_thread(function, *args)

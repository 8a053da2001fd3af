"""The platform's HTTP front: broker ingress, Host-routed services, control API.

Who may call what (README "Security"):

- ``Host`` must be an IP literal, ``localhost`` or a name under ``localhost`` or a
  domain the user configured (``binks up --domain``); any other name is refused, so a
  page on a DNS-rebinding domain cannot use the platform even though its requests
  reach loopback. ``<service>.<namespace>.<domain>`` routes to a Service.
- The control API (``/_binks/*``) needs the platform's credential
  (``Authorization: Bearer``, :mod:`localknative.credential`), refuses a foreign
  ``Origin`` and takes JSON only as ``application/json`` (a cross-site "simple
  request" can send ``text/plain`` but cannot read the credential).
- The broker ingress stays open to ordinary clients, as Knative's is in a cluster.
"""

from __future__ import annotations

import asyncio
import ipaddress
import re
from collections.abc import Iterable
from urllib.parse import urlsplit

import aiohttp
from aiohttp import web

from localknative import credential
from localknative.broker import MAX_ANSWER, AnswerTooLarge, Eventing, IngressError, read_bounded
from localknative.jobs import JobError, Jobs
from localknative.serving import Serving, ServingError
from localknative.store import EventQuery

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
CONTROL_PREFIX = "/_binks/"
#: Names under which the platform answers besides IP literals (``--domain`` adds more).
LOCAL_DOMAINS = ("localhost",)


def hostname(host_header: str | None) -> str:
    """The name part of a ``Host`` header, lowercased: ``[::1]:8470`` → ``::1``."""
    host = (host_header or "").strip().lower().rstrip(".")
    if host.startswith("["):
        return host[1:].split("]", 1)[0]
    return host.rsplit(":", 1)[0] if host.count(":") == 1 else host


def _is_ip(name: str) -> bool:
    try:
        ipaddress.ip_address(name)
    except ValueError:
        return False
    return True


def host_allowed(name: str, domains: Iterable[str]) -> bool:
    """IP literals (no rebinding without a name), the local domains and names under them."""
    return _is_ip(name) or any(name == d or name.endswith(f".{d}") for d in domains)


def routed_service(name: str, domains: Iterable[str]) -> tuple[str, str] | None:
    """``<service>.<namespace>.<domain>`` → (namespace, service); None for anything else."""
    for domain in domains:
        if name.endswith(f".{domain}"):
            labels = name[: -len(domain) - 1].split(".")
            if len(labels) == 2 and all(labels):
                return labels[1], labels[0]
    return None


def _error(status: int, reason: str, **details: object) -> web.Response:
    body = {"error": reason, **({"details": details} if details else {})}
    return web.json_response(body, status=status)


def create_app(
    eventing: Eventing,
    serving: Serving,
    jobs: Jobs | None = None,
    *,
    token: str,
    domains: Iterable[str] = (),
) -> web.Application:
    """The aiohttp application; ``eventing`` and ``serving`` are started by the caller.

    ``token`` is the control API's credential; ``domains`` are names the platform
    answers under besides ``localhost`` and IP literals.
    """
    domains = (*LOCAL_DOMAINS, *(d.lower().strip(".") for d in domains))

    @web.middleware
    async def host_routing(request: web.Request, handler):
        name = hostname(request.headers.get("Host"))
        if not host_allowed(name, domains):
            return _error(
                403,
                f"Host {name!r} is not served here: use an IP address, localhost, or a "
                "domain given to binks up --domain",
            )
        routed = routed_service(name, domains)
        if routed is not None:
            namespace, service = routed
            if (namespace, service) not in serving.states:
                return _error(404, f"no service {service!r} in namespace {namespace!r}")
            return await proxy(request, namespace, service)
        return await handler(request)

    @web.middleware
    async def control_guard(request: web.Request, handler):
        if not request.path.startswith(CONTROL_PREFIX):
            return await handler(request)
        if not credential.verify(token, request.headers.get("Authorization")):
            answer = _error(
                401,
                "the control API needs the platform's credential: "
                "Authorization: Bearer <state dir>/credential",
            )
            answer.headers["WWW-Authenticate"] = f'{credential.SCHEME} realm="binks"'
            return answer
        origin = request.headers.get("Origin")
        if origin is not None and _foreign(origin, request.headers.get("Host")):
            return _error(403, f"cross-origin requests are refused (Origin {origin!r})")
        if request.method in ("POST", "PUT", "PATCH") and request.content_type != (
            "application/json"
        ):
            return _error(415, f"send application/json, not {request.content_type!r}")
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
                payload = await read_bounded(answer, MAX_ANSWER)
                out = {k: v for k, v in answer.headers.items() if k.lower() not in _HOP_BY_HOP}
                return web.Response(status=answer.status, body=payload, headers=out)
        except AnswerTooLarge:
            return _error(502, f"{service} answered more than {MAX_ANSWER} bytes")
        except TimeoutError:
            return _error(504, f"{service} did not answer within {state.spec.timeout_s:g}s")
        except (OSError, aiohttp.ClientError):
            # the instance went away mid-answer (an OOM kill, a crash): a gateway error
            return _error(502, f"{service} closed the connection before answering")
        finally:
            await serving.release(namespace, service, instance)

    async def unknown_control(request: web.Request) -> web.Response:
        return _error(404, f"no control endpoint {request.method} {request.path}")

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
            query = EventQuery.from_params(request.query)
        except ValueError as problem:
            return _error(400, str(problem))
        page = await asyncio.to_thread(eventing.store.events, query)
        return web.json_response(page)

    async def event_data(request: web.Request) -> web.StreamResponse:
        """One event's data, whole, streamed from the store in chunks."""
        try:
            seq = int(request.match_info["seq"])
        except ValueError:
            return _error(400, "the event's seq is an integer")
        chunks = eventing.store.data_chunks(seq)
        try:
            first = await asyncio.to_thread(next, chunks, None)
        except LookupError:
            return _error(404, f"no event {seq}")
        answer = web.StreamResponse(headers={"Content-Type": "application/octet-stream"})
        await answer.prepare(request)
        while first is not None:
            await answer.write(first)
            first = await asyncio.to_thread(next, chunks, None)
        await answer.write_eof()
        return answer

    async def create_job(request: web.Request) -> web.Response:
        try:
            manifest = await request.json()
        except ValueError:
            return _error(400, "the body is not JSON: send one batch/v1 Job manifest")
        try:
            return web.json_response(jobs.create(request.match_info["ns"], manifest), status=201)
        except JobError as problem:
            return _error(problem.status, problem.reason)

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

    app = web.Application(middlewares=[host_routing, control_guard], client_max_size=MAX_BODY)
    if jobs is not None:
        app.router.add_post("/_binks/jobs/{ns}", create_job)
        app.router.add_get("/_binks/jobs/{ns}/{name}", job)
        app.router.add_get("/_binks/jobs/{ns}/{name}/log", job_log)
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/_binks/ps", ps)
    app.router.add_get("/_binks/events", events)
    app.router.add_get("/_binks/events/{seq}/data", event_data)
    app.router.add_route("*", "/_binks/{tail:.*}", unknown_control)
    app.router.add_route("*", "/{tail:.*}", ingress)
    return app


def _foreign(origin: str, host: str | None) -> bool:
    """True unless ``origin`` is this server's own (scheme-less compare of host:port)."""
    try:
        netloc = urlsplit(origin).netloc.lower()
    except ValueError:
        return True
    return not netloc or netloc != (host or "").lower()

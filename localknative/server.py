"""The platform's HTTP front: the broker ingress and Host-routed Services, behind the
guards of :mod:`localknative.guards`, beside the control API of :mod:`localknative.control`.

The broker ingress stays open to ordinary clients, as Knative's is in a cluster.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Iterable

import aiohttp
from aiohttp import web

from localknative import span_intake
from localknative.admission import MAX_ANSWER, AnswerTooLarge, IngressError, read_bounded
from localknative.broker import Eventing
from localknative.control import ControlAPI
from localknative.dashboard import Dashboard
from localknative.guards import LOCAL_DOMAINS, METRICS_PATH, control_guard, error, host_guard
from localknative.jobs import Jobs
from localknative.metrics import CONTENT_TYPE
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
#: Instances a request may try whose port refuses the connection (each is replaced).
CONNECT_ATTEMPTS = 3


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
    front = Front(eventing, serving)
    allowed = (*LOCAL_DOMAINS, *(d.lower().strip(".") for d in domains))
    app = web.Application(
        middlewares=[host_guard(allowed, front.proxy), control_guard(token)],
        client_max_size=MAX_BODY,
    )
    Dashboard(eventing, serving, token).add_routes(app.router)
    app.router.add_post(span_intake.PATH, span_intake.SpanIntake(eventing.seen.traces).receive)
    ControlAPI(eventing, serving, jobs).add_routes(app.router)
    app.router.add_get("/healthz", front.healthz)
    app.router.add_get(METRICS_PATH, front.metrics)
    app.router.add_route("*", "/{tail:.*}", front.ingress)
    return app


class Front:
    """The broker ingress and the proxy to a Service's instances."""

    def __init__(self, eventing: Eventing, serving: Serving) -> None:
        self.eventing, self.serving = eventing, serving

    async def healthz(self, _: web.Request) -> web.Response:
        return web.Response(text="ok")

    async def metrics(self, _: web.Request) -> web.Response:
        """Prometheus' text format (:mod:`localknative.metrics`); the scrape reads each
        instance's cgroup, so it runs off the event loop."""
        body = await asyncio.to_thread(self.eventing.seen.metrics.exposition)
        return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE})

    async def ingress(self, request: web.Request) -> web.Response:
        """``POST /<namespace>/<broker>``: one CloudEvent in, 202 once it is stored."""
        match = _BROKER_PATH.match(request.path)
        if request.path == "/":
            return error(404, "POST events to /<namespace>/<broker>, e.g. /default/default")
        if not match:
            return error(400, f"{request.path!r} is not /<namespace>/<broker>")
        if request.method == "OPTIONS":
            allowed = {"Allow": "POST, OPTIONS", "WebHook-Allowed-Origin": "*"}
            return web.Response(headers={**allowed, "WebHook-Allowed-Rate": "*"})
        if request.method != "POST":
            return error(405, f"{request.method} is not allowed; POST one CloudEvent")
        try:
            body = await request.read()
        except web.HTTPRequestEntityTooLarge:
            return error(413, f"the body is over the limit of {MAX_BODY} bytes")
        try:
            await self.eventing.ingest(match["ns"], match["name"], request.headers, body)
        except IngressError as problem:
            self.eventing.seen.metrics.reject(problem.status)
            answer = error(problem.status, problem.reason, **problem.details)
            answer.headers.update(problem.headers)
            return answer
        return web.Response(status=202)

    async def proxy(self, request: web.Request, namespace: str, service: str) -> web.Response:
        """A request for ``<service>.<namespace>.<domain>``: held while an instance starts
        (as Knative's activator), then passed on; its answer read up to MAX_ANSWER."""
        if (namespace, service) not in self.serving.states:
            return error(404, f"no service {service!r} in namespace {namespace!r}")
        state = self.serving.state(namespace, service)
        if state.function is None:
            return error(404, f"{service} has no HTTP endpoint locally")
        body = await request.read()
        for _ in range(CONNECT_ATTEMPTS):
            try:
                instance = await self.serving.acquire(namespace, service, state.spec.timeout_s)
            except (TimeoutError, ServingError) as problem:
                return error(503, str(problem))
            broken = False
            try:
                return await self._forward(
                    request, body, instance.process.url, state.spec.timeout_s
                )
            except aiohttp.ClientConnectorError:
                # nothing reached it (its port is closed: it died); as Knative's activator
                # does, another instance takes the request
                broken = True
            except AnswerTooLarge:
                return error(502, f"{service} answered more than {MAX_ANSWER} bytes")
            except TimeoutError:
                return error(504, f"{service} did not answer within {state.spec.timeout_s:g}s")
            except (OSError, aiohttp.ClientError):
                # the instance went away mid-answer (an OOM kill, a crash): a gateway error
                return error(502, f"{service} closed the connection before answering")
            finally:
                await self.serving.release(namespace, service, instance, broken)
        return error(502, f"{service}: {CONNECT_ATTEMPTS} instances refused the connection")

    async def _forward(
        self, request: web.Request, body: bytes, base_url: str, timeout_s: float
    ) -> web.Response:
        headers = {k: v for k, v in request.headers.items() if k.lower() not in _HOP_BY_HOP}
        assert self.eventing.session is not None
        async with self.eventing.session.request(
            request.method,
            base_url + request.path_qs,
            data=body,
            headers=headers,
            timeout=aiohttp.ClientTimeout(total=timeout_s),
        ) as answer:
            payload = await read_bounded(answer, MAX_ANSWER)
            out = {k: v for k, v in answer.headers.items() if k.lower() not in _HOP_BY_HOP}
            return web.Response(status=answer.status, body=payload, headers=out)

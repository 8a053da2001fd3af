"""Who may call the platform: the checks on ``Host``, the credential and ``Origin``.

- ``Host`` must be an IP literal, ``localhost`` or a name under ``localhost`` or a
  domain the user configured (``binks up --domain``); any other name is refused, so a
  page on a DNS-rebinding domain cannot use the platform even though its requests
  reach loopback. ``<service>.<namespace>.<domain>`` routes to a Service.
- The control API (``/_binks/*``) and ``/metrics`` need the platform's credential
  (``Authorization: Bearer``, :mod:`localknative.credential`), refuses a foreign
  ``Origin`` and takes JSON only as ``application/json`` (a cross-site "simple
  request" can send ``text/plain`` but cannot read the credential).
- The dashboard's own paths (``/_binks/dashboard*``, GET only) also take its read-only
  view token: once as ``?token=`` (the page then keeps it in a ``SameSite=Strict``,
  ``HttpOnly`` cookie), then from that cookie. It opens nothing else.
"""

from __future__ import annotations

import hmac
import ipaddress
from collections.abc import Awaitable, Callable, Iterable
from urllib.parse import urlsplit

from aiohttp import web

from localknative import credential

CONTROL_PREFIX = "/_binks/"
#: Prometheus' scrape path: behind the credential too (``authorization`` in a scrape config).
METRICS_PATH = "/metrics"
#: Names under which the platform answers besides IP literals (``--domain`` adds more).
LOCAL_DOMAINS = ("localhost",)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def error(status: int, reason: str, **details: object) -> web.Response:
    """A JSON error answer: ``{"error": reason, "details": {...}}``."""
    body = {"error": reason, **({"details": details} if details else {})}
    return web.json_response(body, status=status)


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


def foreign(origin: str, host: str | None) -> bool:
    """True unless ``origin`` is this server's own (scheme-less compare of host:port)."""
    try:
        netloc = urlsplit(origin).netloc.lower()
    except ValueError:
        return True
    return not netloc or netloc != (host or "").lower()


def host_guard(
    domains: tuple[str, ...],
    route: Callable[[web.Request, str, str], Awaitable[web.StreamResponse]],
) -> Callable:
    """Middleware: refuse foreign Hosts (403); ``<service>.<namespace>.<domain>`` goes to
    ``route(request, namespace, service)``; everything else to the app's routes."""

    @web.middleware
    async def guard(request: web.Request, handler: Handler) -> web.StreamResponse:
        name = hostname(request.headers.get("Host"))
        if not host_allowed(name, domains):
            return error(
                403,
                f"Host {name!r} is not served here: use an IP address, localhost, or a "
                "domain given to binks up --domain",
            )
        routed = routed_service(name, domains)
        if routed is not None:
            return await route(request, *routed)
        return await handler(request)

    return guard


def control_guard(token: str) -> Callable:
    """Middleware: ``/_binks/*`` needs the credential (401), no foreign Origin (403), and
    a body only as ``application/json`` (415)."""

    view, cookie = credential.view_token(token), credential.view_cookie(token)

    @web.middleware
    async def guard(request: web.Request, handler: Handler) -> web.StreamResponse:
        if not request.path.startswith(CONTROL_PREFIX) and request.path != METRICS_PATH:
            return await handler(request)
        if _viewing(request, view, cookie):
            return await handler(request)
        if not credential.verify(token, request.headers.get("Authorization")):
            answer = error(
                401,
                "the control API needs the platform's credential: "
                "Authorization: Bearer <state dir>/credential",
            )
            answer.headers["WWW-Authenticate"] = f'{credential.SCHEME} realm="binks"'
            return answer
        origin = request.headers.get("Origin")
        if origin is not None and foreign(origin, request.headers.get("Host")):
            return error(403, f"cross-origin requests are refused (Origin {origin!r})")
        if request.method in ("POST", "PUT", "PATCH") and request.content_type != (
            "application/json"
        ):
            return error(415, f"send application/json, not {request.content_type!r}")
        return await handler(request)

    return guard


def _viewing(request: web.Request, view: str, cookie: str) -> bool:
    """A GET of the dashboard's own paths with its view token (query or cookie) from
    no foreign Origin."""
    path = request.path
    if request.method not in ("GET", "HEAD") or not (
        path == credential.DASHBOARD_PATH or path.startswith(credential.DASHBOARD_PATH + "/")
    ):
        return False
    origin = request.headers.get("Origin")
    if origin is not None and foreign(origin, request.headers.get("Host")):
        return False
    shown = request.query.get("token") or request.cookies.get(cookie) or ""
    return hmac.compare_digest(shown.encode(), view.encode())

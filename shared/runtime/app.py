"""The app factory: one role + one variant → a Knative-ready Flask service.

``create_app`` is the one door: the environment comes in as a mapping (a copy of
``os.environ`` when none is given), is read once here, and the role's ``configure``
turns it into what its handlers need. Nothing reads the environment per request.
"""

from __future__ import annotations

import os
import time
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from flask import Flask, Response, request
from werkzeug.exceptions import HTTPException, RequestEntityTooLarge

from events import VARIANTS
from shared.defaults import LIVENESS_PATH, READINESS_PATH
from shared.errors import FunctionError, PayloadTooLarge
from shared.role import Context, ModelSettings, Role, Runner
from shared.runtime import logs
from shared.runtime.config import Settings
from shared.runtime.dispatch import Dispatcher, Outcome
from shared.runtime.idempotency import SeenEvents
from shared.wire import decode

if TYPE_CHECKING:
    from shared.runtime.telemetry import FunctionTelemetry

HEALTH_LIVENESS = LIVENESS_PATH
HEALTH_READINESS = READINESS_PATH


class RoleNotConfigured(RuntimeError):
    """The role's ``configure`` failed, so there is no app and nothing to serve."""


def create_app(
    role: Role,
    variant: str,
    *,
    runner: Runner | None = None,
    env: Mapping[str, str] | None = None,
) -> Flask:
    """Build the HTTP service for ``role`` on ``variant``.

    Everything is set up before the app is returned, so a served app is a ready app:
    the settings are read, the role's ``configure(env, context)`` runs once, and the
    framework is imported and the runner built. ``/health/readiness`` therefore answers
    200 from the first request on. A ``configure`` that fails logs one JSON line
    (``"msg": "configure failed"``) and raises :class:`RoleNotConfigured`: the process
    exits before it listens, as func-python's failed ``start`` does, so Knative keeps
    the revision not ready and shows the log's tail as the container's termination
    message instead of routing traffic to an instance that can only fail.

    Tests pass ``runner`` and ``env`` (the whole environment the app may see).
    """
    if variant not in VARIANTS:
        raise ValueError(f"unknown variant {variant!r}; expected one of {VARIANTS}")
    env = dict(os.environ if env is None else env)
    settings = Settings.from_env(env, default_service=f"{role.name}-{variant}")
    logs.configure()
    dispatch = _dispatcher(role, variant, runner, env, settings)
    telemetry = _telemetry(settings.service, variant, env) if settings.telemetry else None
    app = Flask(settings.service)
    app.config["MAX_CONTENT_LENGTH"] = settings.max_body_bytes
    _add_health(app)
    _add_receiver(app, dispatch, settings.service, variant, telemetry)
    if telemetry is not None:
        _add_metrics(app, telemetry)
    _add_error_handlers(app, settings.service)
    logs.log_line(
        msg="ready",
        service=settings.service,
        revision=settings.revision or None,
        variant=variant,
        model=settings.model,
        ollama_host=settings.ollama_host,
        workspace=str(settings.workspace),
    )
    return app


def _dispatcher(
    role: Role,
    variant: str,
    runner: Runner | None,
    env: Mapping[str, str],
    settings: Settings,
) -> Dispatcher:
    """Configure the role, build the runner (unless given) and the idempotency store."""
    context = Context(
        variant=variant,
        model=settings.model,
        workspace=settings.workspace,
        state_dir=settings.state_dir,
    )
    config = _configure(role, env, context, settings.service)
    if runner is None:
        from shared.frameworks import load_runner

        model = ModelSettings(
            name=settings.model,
            host=settings.ollama_host,
            timeout_s=settings.model_timeout_s,
        )
        runner = load_runner(variant, role, model)
    return Dispatcher(
        role,
        runner,
        context,
        settings.service,
        settings.sink,
        SeenEvents(settings.state_dir / f"{settings.service}.seen.sqlite3"),
        config=config,
        structured_answer=settings.structured_answer,
    )


def _add_health(app: Flask) -> None:
    """Knative's probes; both answer 200 once the app exists (see :func:`create_app`)."""

    @app.get(HEALTH_LIVENESS)
    def liveness() -> Response:
        return Response("OK", mimetype="text/plain")

    @app.get(HEALTH_READINESS)
    def readiness() -> Response:
        return Response("READY", mimetype="text/plain")


def _telemetry(service: str, variant: str, env: Mapping[str, str]) -> FunctionTelemetry:
    """Traces and metrics (:mod:`shared.runtime.telemetry`), with every model call seen
    (:mod:`shared.runtime.model_calls`); only called with telemetry on
    (``Settings.telemetry``): off, neither module is imported."""
    from shared.runtime import model_calls
    from shared.runtime.telemetry import FunctionTelemetry

    telemetry = FunctionTelemetry(service, variant, env)
    model_calls.install(telemetry.model_call)
    return telemetry


def _add_receiver(
    app: Flask,
    dispatch: Dispatcher,
    service: str,
    variant: str,
    telemetry: FunctionTelemetry | None,
) -> None:
    """``POST /``: decode, dispatch, answer; one JSON log line per request, whatever
    happens, and with telemetry on, the request's span and metrics."""

    @app.post("/")
    def receive() -> Response:
        started, started_ns = time.monotonic(), time.time_ns()
        outcome: Outcome | None = None
        fields: dict[str, Any] = {}
        trace = None
        try:
            incoming = decode(request.headers, _body())
            fields = {
                "id": incoming.attributes.get("id"),
                "type": incoming.type,
                "source": incoming.attributes.get("source"),
                "task": incoming.attributes.get("binkstask"),
                "mode": incoming.mode,
            }
            if telemetry is not None:
                trace = telemetry.continue_trace(request.headers, incoming.attributes)
                with telemetry.current(trace):
                    outcome = dispatch(incoming, trace)
            else:
                outcome = dispatch(incoming)
        except FunctionError as error:
            outcome = Outcome(error.status, note=error.reason)
            raise
        except Exception:
            outcome = Outcome(500, note="internal error")
            raise
        finally:
            status = outcome.status if outcome else 500
            line = {
                "status": status,
                "reply": outcome.reply_type if outcome else None,
                "note": (outcome.note or None) if outcome else None,
                **fields,
            }
            if telemetry is not None:
                trace = trace or telemetry.continue_trace(request.headers, {})
                line.update(trace_id=trace.trace_id, span_id=trace.span_id)
                telemetry.request_done(
                    trace, started_ns, str(fields.get("type") or ""), _outcome_name(outcome),
                    line, None if status < 500 else (line["note"] or "error"),
                )  # fmt: skip
            logs.log_line(
                msg="event",
                service=service,
                variant=variant,
                duration_ms=round((time.monotonic() - started) * 1000),
                **line,
            )
        return Response(outcome.body, status=outcome.status, headers=outcome.headers)


def _outcome_name(outcome: Outcome | None) -> str:
    """The ``outcome`` label of a request: replied, failed (a ``...failed`` reply),
    accepted, ignored, duplicate, rejected (4xx) or error (5xx)."""
    if outcome is None or outcome.status >= 500:
        return "error"
    if outcome.status >= 400:
        return "rejected"
    if outcome.note.startswith(("ignored", "duplicate")):
        return outcome.note.split(":", 1)[0]
    if outcome.reply_type:
        return "failed" if outcome.reply_type.endswith(".failed") else "replied"
    return "accepted"


def _add_metrics(app: Flask, telemetry: FunctionTelemetry) -> None:
    """``GET /metrics``: Prometheus' text format."""
    from shared.telemetry.metrics import CONTENT_TYPE

    @app.get("/metrics")
    def metrics() -> Response:
        return Response(telemetry.exposition(), headers={"Content-Type": CONTENT_TYPE})


def _add_error_handlers(app: Flask, service: str) -> None:
    """Every error answers JSON; an unexpected one is logged with its traceback, and
    answered without it."""

    @app.errorhandler(FunctionError)
    def function_error(error: FunctionError) -> tuple[dict, int]:
        return error.body(), error.status

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException) -> tuple[dict, int]:
        code = (error.name or "error").lower().replace(" ", "_")
        return {"error": code, "reason": error.description}, error.code or 500

    @app.errorhandler(Exception)
    def unexpected(error: Exception) -> tuple[dict, int]:
        logs.log_exception("unhandled error", service=service, error=repr(error))
        return {"error": "internal_error", "reason": "internal error; see the function's log"}, 500


def _configure(role: Role, env: Mapping[str, str], context: Context, service: str) -> Any:
    """Run ``role.configure`` once; a failure is logged and raised as RoleNotConfigured."""
    try:
        return role.configure(env, context)
    except Exception as problem:
        reason = f"{type(problem).__name__}: {problem}"
        logs.log_line(
            msg="configure failed", service=service, variant=context.variant, error=reason
        )
        raise RoleNotConfigured(f"{service} cannot start: {reason}") from problem


def _body() -> bytes:
    try:
        return request.get_data(cache=False)
    except RequestEntityTooLarge:
        limit = request.max_content_length
        raise PayloadTooLarge(f"the body is over the limit of {limit} bytes") from None

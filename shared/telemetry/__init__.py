"""Telemetry shared by the functions and the platform: W3C trace context
(:mod:`~shared.telemetry.tracecontext`), finished spans (:mod:`~shared.telemetry.spans`)
and their optional OTLP export (:mod:`~shared.telemetry.otlp`, imported only when an
endpoint is set). Standard library only: a function's cold start pays for none of it
beyond these small modules.
"""

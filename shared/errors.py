"""The runtime's error tree. Each class carries the HTTP status and code it maps to.

Decode problems (the caller's fault) stay apart from run problems (ours or the
model's), so a bug in a role is never reported as a bad request.
"""

from __future__ import annotations

from typing import Any


class FunctionError(Exception):
    """Base of every error the runtime answers with a JSON body."""

    status: int = 500
    code: str = "internal_error"

    def __init__(self, reason: str, details: dict[str, Any] | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.details = details or {}

    def body(self) -> dict[str, Any]:
        """The JSON body of the error response."""
        body: dict[str, Any] = {"error": self.code, "reason": self.reason}
        if self.details:
            body["details"] = self.details
        return body


class BadRequest(FunctionError, ValueError):
    """The request is not something this function can take (HTTP 400)."""

    status = 400
    code = "bad_request"


class InvalidEvent(BadRequest):
    """Not a valid CloudEvents 1.0 event; ``details`` maps attribute → problem."""

    code = "invalid_event"


class InvalidData(BadRequest):
    """The event's data breaks its JSON Schema; ``details`` maps field → problem."""

    code = "invalid_data"


class UnsupportedEvent(BadRequest):
    """An event the function will never take, such as ``kn func invoke``'s default."""

    code = "unsupported_event"


class UnsupportedMediaType(FunctionError, ValueError):
    """Neither a CloudEvent nor JSON (HTTP 415)."""

    status = 415
    code = "unsupported_media_type"


class PayloadTooLarge(FunctionError, ValueError):
    """The body is over the configured limit (HTTP 413)."""

    status = 413
    code = "payload_too_large"


class ModelUnavailable(FunctionError, ConnectionError):
    """The agent run failed on the model's side; worth a retry (HTTP 503)."""

    status = 503
    code = "model_unavailable"


class SinkUnavailable(FunctionError, ConnectionError):
    """The events a role publishes could not reach ``K_SINK``; worth a retry (HTTP 503)."""

    status = 503
    code = "sink_unavailable"


class RoleFailed(FunctionError):
    """The run finished but its answer is unusable (HTTP 502 on the plain-HTTP path)."""

    status = 502
    code = "role_failed"

"""The model server's app factory: Ollama's API over one engine."""

from __future__ import annotations

from flask import Flask, Response, jsonify, request
from werkzeug.exceptions import HTTPException

from modelserver.api_ollama import ModelNotFound, ollama
from modelserver.api_openai import openai
from modelserver.chat import DEFAULT_MAX_TOOL_ROUNDS, RequestError
from modelserver.engine import Engine, EngineError


def create_app(
    engine: Engine,
    context_per_slot: int = 8192,
    max_tool_rounds: int = DEFAULT_MAX_TOOL_ROUNDS,
) -> Flask:
    """Serve ``engine`` with Ollama's native and OpenAI-compatible routes."""
    app = Flask("modelserver")
    app.extensions["engine"] = engine
    app.config["CONTEXT_PER_SLOT"] = context_per_slot
    app.config["MAX_TOOL_ROUNDS"] = max_tool_rounds
    app.register_blueprint(ollama)
    app.register_blueprint(openai)

    @app.get("/")
    def root() -> Response:
        return Response("Ollama is running", mimetype="text/plain")

    def error(status: int, message: str, kind: str) -> tuple[Response, int]:
        # Ollama answers {"error": "..."}; its OpenAI layer {"error": {"message", "type"}}
        if request.path.startswith("/v1/"):
            body = {"message": message, "type": kind, "param": None, "code": None}
            return jsonify(error=body), status
        return jsonify(error=message), status

    @app.errorhandler(RequestError)
    def bad_request(problem: RequestError):
        return error(400, str(problem), "invalid_request_error")

    @app.errorhandler(ModelNotFound)
    def not_found(problem: ModelNotFound):
        return error(404, str(problem), "not_found_error")

    @app.errorhandler(EngineError)
    def engine_failed(problem: EngineError):
        return error(problem.status, str(problem), "api_error")

    @app.errorhandler(HTTPException)
    def http_error(problem: HTTPException):
        return error(problem.code or 500, problem.description or problem.name, "api_error")

    return app

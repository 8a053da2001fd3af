"""``python -m modelserver [--host H] [--port P]``: serve the embedded model until SIGTERM."""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
import threading

from werkzeug.serving import make_server

from modelserver.app import create_app
from modelserver.engine import EngineSettings, LlamaEngine
from modelserver.weights import installed_model
from shared.listen import inherited_listener


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m modelserver", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1", help="bind address (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=11435, help="port (default 11435)")
    parser.add_argument("--parallel", type=int, default=2, help="requests decoded at once")
    parser.add_argument("--context", type=int, default=8192, help="context tokens per request")
    parser.add_argument("--threads", type=int, default=2, help="CPU threads for llama.cpp")
    parser.add_argument(
        "--max-tool-rounds",
        type=int,
        default=4,
        help="tool results after which only a final answer is allowed (default 4)",
    )
    args = parser.parse_args(argv)
    if args.host not in ("127.0.0.1", "localhost", "::1"):
        print(
            f"warning: binding {args.host}: the model server has no authentication", file=sys.stderr
        )
    try:
        card = installed_model()
    except FileNotFoundError as missing:
        print(f"modelserver: error: {missing}", file=sys.stderr)
        return 2
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # the turn log says more
    settings = EngineSettings(args.parallel, args.context, args.threads)
    engine = LlamaEngine(card, settings)
    try:
        inherited = inherited_listener(os.environ)  # a socket the parent bound (no port race)
    except ValueError as problem:
        print(f"modelserver: error: {problem}", file=sys.stderr)
        return 2
    app = create_app(engine, args.context, args.max_tool_rounds)
    server = make_server(
        args.host,
        args.port,
        app,
        threaded=True,
        fd=inherited.detach() if inherited else None,
    )
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    threading.Thread(target=server.serve_forever, daemon=True).start()
    host, port = server.server_address[:2]
    print(
        f"modelserver: {card.name} loaded in {engine.load_seconds:.1f} s; "
        f"Ollama API on http://{host}:{port}",
        flush=True,
    )
    stop.wait()
    server.shutdown()
    return 0


if __name__ == "__main__":
    sys.exit(main())

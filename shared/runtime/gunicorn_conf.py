"""gunicorn settings for every function: ``gunicorn -c python:shared.runtime.gunicorn_conf``.

Knative's contract: listen on ``$PORT`` (default 8080); SIGTERM drains in-flight
requests before exit. We bind 127.0.0.1 unless ``BINKS_BIND`` says otherwise
(a container sets ``BINKS_BIND=0.0.0.0``). Agent runs are long, so the worker
timeout is off and the drain window follows Knative's request timeout.
"""

import os

_host = os.environ.get("BINKS_BIND", "127.0.0.1")
_port = os.environ.get("PORT", "8080")
bind = [f"[{_host}]:{_port}" if ":" in _host else f"{_host}:{_port}"]
workers = 1  # one process per instance: Knative scales instances, not workers
worker_class = "gthread"
threads = int(os.environ.get("BINKS_THREADS", "4"))
timeout = 0  # a model call may take minutes; Knative's timeoutSeconds bounds it
graceful_timeout = int(os.environ.get("BINKS_DRAIN_SECONDS", "300"))
keepalive = 5
accesslog = None  # the runtime writes one structured line per event instead
errorlog = "-"
loglevel = os.environ.get("BINKS_LOG_LEVEL", "warning")
proc_name = os.environ.get("K_SERVICE", "binks-function")

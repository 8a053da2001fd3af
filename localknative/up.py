"""The platform's server (``python -m localknative``, ``binks up``): load the manifests,
start Serving, Eventing and Jobs, serve until SIGTERM/Ctrl-C."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import sys
from collections.abc import Callable, Mapping
from pathlib import Path

import uvloop
from aiohttp import web

from localknative import credential, span_intake
from localknative.broker import Eventing
from localknative.command import DEFAULT_PORT
from localknative.jobs import Jobs
from localknative.manifests import load
from localknative.paths import MANIFESTS, STATE, WORKSPACE
from localknative.server import create_app
from localknative.serving import Serving
from localknative.snapshots import Snapshots
from localknative.sources import ScheduleError, parse_schedule, run_ping_source
from localknative.store import EventStore
from localknative.traces import Traces
from shared.listen import LISTEN_FD_ENV, bind_listener, inherited_listener, port_of


async def serve(
    port: int = DEFAULT_PORT,
    manifests: Path = MANIFESTS,
    state_dir: Path = STATE,
    env: Mapping[str, str] | None = None,
    window_s: float | None = None,
    host: str = "127.0.0.1",
    on_ready: Callable[[str], None] | None = None,
    stop: asyncio.Event | None = None,
    listener: socket.socket | None = None,
    domains: tuple[str, ...] = (),
    workspace: Path = WORKSPACE,  # the functions' BINKS_REPO_BASE: not the project, not state/
    runtime: str = "process",
    cgroup_parent: str | None = None,
    start: str = "cold",
) -> None:
    """Run the platform until ``stop`` is set (or SIGTERM/SIGINT when ``stop`` is None).

    ``listener``: a socket bound by whoever started the platform (``port`` and ``host``
    then only describe it); otherwise the platform binds ``host:port`` itself (port 0:
    any free one, shown in the banner).
    """
    loaded = _load_checked(manifests)
    token = _credential(state_dir)  # before serving: a client can read it at once
    if listener is None:
        try:
            listener = bind_listener(host, port)
        except OSError as problem:
            raise RuntimeError(f"cannot listen on {host}:{port}: {problem.strerror}") from None
    # functions reach the broker (K_SINK) on loopback even when the platform listens wider
    local = "127.0.0.1" if host in ("0.0.0.0", "::", "") else host
    base_url = f"http://{local}:{port_of(listener)}"
    broker_urls = {key: f"{base_url}/{key[0]}/{key[1]}" for key in loaded.brokers}
    sink = broker_urls.get(("default", "default")) or next(iter(broker_urls.values()), "")
    platform_env = {
        "BINKS_REPO_BASE": str(workspace),
        "K_SINK": sink,
        # the functions' own state (idempotency, reporter) lives with the platform's
        "BINKS_STATE_DIR": str(state_dir / "functions"),
        **(env or {}),
        credential.ENV: token,
        # the functions' spans join the platform's (the dashboard), unless a collector is named
        **span_intake.intake_env(base_url, token, {**os.environ, **(env or {})}),
    }
    serving = Serving(
        loaded.services,
        platform_env,
        window_s,
        log_dir=state_dir / "logs",
        host=host,
        runtime=runtime,
        container_state=state_dir / "containers" / "functions",
        cgroup_parent=cgroup_parent,
        snapshots=Snapshots(state_dir / "snapshots") if start == "snapshot" else None,
    )
    store = EventStore(state_dir / "events.sqlite3")
    eventing = Eventing(loaded, store, serving, base_url, traces=Traces(os.environ))
    jobs = Jobs(
        state_dir / "logs",
        platform_env,
        runtime=runtime,
        owner=str(state_dir / "containers" / "functions"),
    )
    stop = stop or _signal_event()
    runner = web.AppRunner(
        create_app(eventing, serving, jobs, token=token, domains=domains), access_log=None
    )
    await runner.setup()
    # resume what a previous run left pending BEFORE taking requests: an event accepted
    # meanwhile would be both spawned at once and found pending, and delivered twice
    resumed = await eventing.start()
    await serving.start()
    await web.SockSite(runner, listener).start()
    loop = asyncio.get_running_loop()
    background = [loop.create_task(serving.reap())]
    background += [
        loop.create_task(run_ping_source(s, _ping_sender(eventing, base_url)))
        for s in loaded.ping_sources.values()
    ]
    if on_ready:
        on_ready(
            _banner(
                base_url,
                loaded,
                broker_urls,
                resumed,
                state_dir,
                runtime,
                token,
                snapshotting=serving.snapshots is not None,
            )
        )
    try:
        await stop.wait()
    finally:
        print(_stopping(serving, jobs), file=sys.stderr, flush=True)
        for task in background:
            task.cancel()
        await runner.cleanup()  # stop taking requests first
        await eventing.stop()  # pending deliveries stay in the store for the next start
        await jobs.stop()
        await serving.stop()
        store.close()
        eventing.seen.traces.close()  # what the OTLP exporter still holds, if there is one


def _stopping(serving: Serving, jobs: Jobs) -> str:
    """What a stop ends, said before it starts: each Service's instances (SIGTERM: they
    drain), the Jobs still running; deliveries still pending stay for the next start."""
    running = [
        f"{len(s.instances)} instance(s) of {s.spec.name}"
        for s in serving.states.values()
        if s.instances
    ]
    active = sum(job.active for job in jobs.jobs.values())
    return (
        "localknative: stopping: "
        + (", ".join(running) if running else "no instance running")
        + (f"; {active} Job(s) killed" if active else "")
        + "; pending deliveries stay in the event store for the next start"
    )


def _load_checked(manifests: Path):
    """The manifests, with every PingSource's schedule checked (RuntimeError names it)."""
    loaded = load(manifests)
    for source in loaded.ping_sources.values():
        try:
            parse_schedule(source.schedule, source.timezone)
        except ScheduleError as problem:
            raise RuntimeError(f"PingSource {source.name}: spec.schedule: {problem}") from None
    return loaded


def _credential(state_dir: Path) -> str:
    """A new credential in ``state_dir`` (RuntimeError when it cannot be written)."""
    try:
        return credential.create(state_dir)
    except OSError as problem:
        reason = f"cannot write the credential in {state_dir}: {problem.strerror}"
        raise RuntimeError(reason) from None


def _ping_sender(eventing: Eventing, base_url: str):
    """How a PingSource's tick reaches its sink: a broker directly, a URI or a Service
    (through the platform's Host routing) over HTTP."""

    async def send_ping(source, headers: dict[str, str], body: bytes) -> None:
        if source.sink.broker:
            await eventing.ingest(source.sink.namespace, source.sink.broker, headers, body)
            return
        url = source.sink.uri or base_url
        host = (
            {}
            if source.sink.uri
            else {"Host": f"{source.sink.service}.{source.sink.namespace}.localhost"}
        )
        async with eventing.session.post(url, data=body, headers={**headers, **host}) as answer:
            answer.raise_for_status()

    return send_ping


def _signal_event() -> asyncio.Event:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    return stop


def _banner(
    base_url: str,
    loaded,
    broker_urls,
    resumed: int,
    state_dir: Path,
    runtime: str,
    token: str,
    snapshotting: bool = False,
) -> str:
    lines = [f"localknative: serving on {base_url} (GET /healthz)"]
    lines.append(f"  dashboard: {credential.dashboard_url(base_url, token)}")
    lines.append(
        f"  control /_binks/* and /metrics: credential in {state_dir / credential.FILE_NAME}"
    )
    where = "images under podman" if runtime == "container" else "processes"
    lines.append(f"  runtime {runtime}: instances and Jobs run as {where}")
    if snapshotting:
        lines.append(
            "  start   snapshot: each Service's first instance starts cold and is "
            f"checkpointed after its imports; later ones are restored ({state_dir / 'snapshots'})"
        )
    for (namespace, name), url in broker_urls.items():
        lines.append(f"  broker  {namespace}/{name}: POST {url}")
    for (namespace, name), service in sorted(loaded.services.items()):
        lines.append(f"  service {name}: Host {name}.{namespace}.localhost ({service.image})")
    for trigger in loaded.triggers:
        lines.append(
            f"  trigger {trigger.name} → {trigger.subscriber.service or trigger.subscriber.uri}"
        )
    for (_, name), source in sorted(loaded.ping_sources.items()):
        lines.append(f"  ping    {name}: {source.schedule!r} → {_sink(source.sink)}")
    if resumed:
        lines.append(f"  resumed {resumed} pending deliveries from the last run")
    return "\n".join(lines)


def _sink(sink) -> str:
    return sink.uri or f"{'broker' if sink.broker else 'service'} {sink.broker or sink.service}"


LOOPBACK = ("127.0.0.1", "localhost", "::1")


def main(
    port: int,
    manifests: Path,
    state_dir: Path,
    window_s: float | None,
    env: dict,
    host: str = "127.0.0.1",
    domains: tuple[str, ...] = (),
    runtime: str = "process",
    cgroup_parent: str | None = None,
    start: str = "cold",
) -> int:
    def ready(banner: str) -> None:
        print(banner, flush=True)

    try:
        listener = inherited_listener(os.environ)
    except ValueError as problem:
        print(f"binks up: error: {problem}", file=sys.stderr)
        return 2
    os.environ.pop(LISTEN_FD_ENV, None)  # the platform's own; no child may inherit it

    if host not in LOOPBACK:
        print(
            f"warning: binding {host}: the broker ingress, every function and the functions' "
            "own ports take events from anyone who can reach this machine (no authentication; "
            "the control API still needs the credential)",
            file=sys.stderr,
            flush=True,
        )

    try:
        # uvloop: libuv's event loop, ~2x the HTTP throughput of asyncio's default loop
        uvloop.run(
            serve(
                port,
                manifests,
                state_dir,
                env,
                window_s,
                host=host,
                on_ready=ready,
                listener=listener,
                domains=domains,
                runtime=runtime,
                cgroup_parent=cgroup_parent,
                start=start,
            )
        )
    except RuntimeError as problem:
        print(f"binks up: error: {problem}", file=sys.stderr)
        return 2
    return 0

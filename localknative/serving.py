"""Knative Serving, locally: instances per Service, scale from and to zero, concurrency.

Like Knative's activator, a request for a Service at zero is *held* while an
instance starts, never failed. ``containerConcurrency`` bounds the requests one
instance takes; above it another instance starts, up to ``max-scale``. An
instance idle for the stable window (plus the retention period) is stopped with
SIGTERM, down to ``min-scale``.
"""

from __future__ import annotations

import asyncio
import contextlib
import subprocess
import sys
import time
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from localknative import containers
from localknative.containers import FunctionContainer
from localknative.instances import FunctionProcess, FunctionSpec
from localknative.manifests import Service
from localknative.snapshots import RestoredProcess, SnapshotProcess, Snapshots
from shared import variants
from shared.defaults import READINESS_PATH
from shared.listen import LOOPBACK
from shared.runtime.config import DEFAULT_MAX_BODY_BYTES

#: How instances run: ``process`` (the variant's Python on the checkout, the default:
#: python3 + make only) or ``container`` (the Service's image under podman).
RUNTIMES = ("process", "container")
#: Images the platform serves itself instead of starting a process.
EVENT_DISPLAY = "event_display"
#: What an unset max-scale (unlimited on a cluster) means on one machine; a Service that
#: sets max-scale gets what it asks for.
LOCAL_MAX_SCALE = 10
#: How long an instance may take to become ready (Knative's progress deadline, shortened
#: for one machine); a Service's timeoutSeconds bounds requests, not starts.
START_TIMEOUT_S = 120.0


class ServingError(RuntimeError):
    """A Service that cannot run locally, or an instance that never became ready."""


def function_for_image(image: str) -> FunctionSpec | None:
    """``ghcr.io/x/code-reviewer-agno:0.1.0`` → functions/code_reviewer on agno.

    The image name is the link between a manifest and the code: the same name
    ``make images`` builds from ``functions/<role>/`` for a variant. ``None`` for
    Knative's event_display, which the platform serves itself.
    """
    if EVENT_DISPLAY in image.rsplit("/", 1)[-1]:
        return None
    parsed = variants.parse_service(image)
    if parsed is None:
        known = "|".join(variants.NAMES)
        raise ServingError(f"image {image!r} is not <role>-<{known}>: cannot run it locally")
    role, variant = parsed
    try:
        return FunctionSpec(role, variant.name)
    except ValueError as problem:
        raise ServingError(f"image {image!r}: {problem}") from None


@dataclass
class Instance:
    process: FunctionProcess | FunctionContainer
    started: float
    ready_s: float = 0.0
    active: int = 0
    served: int = 0
    last_used: float = field(default_factory=time.monotonic)
    #: its port refused a connection: it is gone whatever its process says
    broken: bool = False
    #: started from a checkpoint (snapshot start), not cold
    restored: bool = False


@dataclass
class ServiceState:
    """One Service's instances and the requests waiting for one."""

    spec: Service
    function: FunctionSpec | None
    env: dict[str, str]
    instances: list[Instance] = field(default_factory=list)
    starting: int = 0
    waiting: int = 0
    restarts: int = 0
    cold_starts: list[float] = field(default_factory=list)
    #: starts that restored a checkpoint (snapshot start), counted in ``cold_starts`` too
    restores: int = 0
    changed: asyncio.Condition = field(default_factory=asyncio.Condition)

    @property
    def capacity(self) -> int:
        return self.spec.container_concurrency or 1_000_000

    @property
    def max_scale(self) -> int:
        return self.spec.max_scale or LOCAL_MAX_SCALE


class Serving:
    """All Services of the loaded manifests."""

    def __init__(
        self,
        services: Mapping[tuple[str, str], Service],
        env: Mapping[str, str],
        window_s: float | None = None,
        log_dir: Path | None = None,
        host: str = LOOPBACK,
        runtime: str = "process",
        container_state: Path | None = None,
        cgroup_parent: str | None = None,
        snapshots: Snapshots | None = None,
    ) -> None:
        if runtime not in RUNTIMES:
            raise ServingError(f"runtime {runtime!r} is not one of {', '.join(RUNTIMES)}")
        if snapshots is not None and runtime != "process":
            raise ServingError("--start snapshot works with --runtime process only")
        self.runtime = runtime
        #: snapshot start (``binks up --start snapshot``): checkpoints per Service
        self.snapshots = snapshots
        #: containers' BINKS_STATE_DIR on the host (apart from the processes': the
        #: mount makes it the image user's)
        self.container_state = container_state
        self.cgroup_parent = cgroup_parent  # containers' parent cgroup: a node's budget
        #: instances still starting (not yet in any state's list): a stop ends them too
        self._starting: set[FunctionProcess | FunctionContainer] = set()
        self.window_s = window_s
        self.log_dir = log_dir
        self.host = host  # where instances listen: loopback unless `binks up --host` widens it
        self.states: dict[tuple[str, str], ServiceState] = {}
        for key, spec in services.items():
            function = function_for_image(spec.image)
            service_env = {
                **spec.env,
                **env,
                "K_SERVICE": spec.name,
                "K_CONFIGURATION": spec.name,
                "K_REVISION": f"{spec.name}-00001",
            }
            self.states[key] = ServiceState(spec, function, service_env)
        # a thread per instance starting or stopping: readiness polls and drains wait, and
        # the loop's default executor (cores + 4 threads) would serve a burst's starts a
        # handful at a time, the rest timing out in its queue before they were polled
        self._threads = ThreadPoolExecutor(
            max_workers=sum(s.max_scale for s in self.states.values()) + 4,
            thread_name_prefix="instance",
        )
        if runtime == "container":
            self._check_images()

    def _check_images(self) -> None:
        """ServingError naming every image not built here (nothing is pulled) and the
        command that builds them."""
        containers.check_podman()
        wanted = sorted({s.spec.image for s in self.states.values() if s.function})
        missing = containers.missing_images(wanted)
        if missing:
            names = " ".join(image.rsplit("/", 1)[-1].split(":")[0] for image in missing)
            raise ServingError(
                f"--runtime container: {len(missing)} image(s) not built here: "
                f"{', '.join(missing)}; build them with: "
                f'make images PLATFORMS=linux/{containers.host_arch()} ONLY="{names}"'
            )

    def state(self, namespace: str, name: str) -> ServiceState:
        try:
            return self.states[(namespace, name)]
        except KeyError:
            raise LookupError(f"no Service {namespace}/{name}") from None

    def builtin(self, namespace: str, name: str) -> bool:
        return self.state(namespace, name).function is None

    def max_body(self, namespace: str, name: str) -> int | None:
        """The largest body a Service's function takes (its ``BINKS_MAX_BODY_BYTES``);
        None for a Service the platform serves itself or one it does not know."""
        state = self.states.get((namespace, name))
        if state is None or state.function is None:
            return None
        raw = state.env.get("BINKS_MAX_BODY_BYTES", "").strip()
        return int(raw) if raw.isdigit() else DEFAULT_MAX_BODY_BYTES

    async def start(self) -> None:
        """Start ``max(initial-scale, min-scale)`` instances per Service, as a deploy does
        (after removing the containers a killed run of this platform left)."""
        if self.runtime == "container" and self.container_state is not None:
            await asyncio.to_thread(containers.remove_leftovers, str(self.container_state))
        await asyncio.gather(
            *(
                self._scale_up(state)
                for state in self.states.values()
                if state.function
                for _ in range(max(state.spec.initial_scale, state.spec.min_scale))
            )
        )

    async def acquire(self, namespace: str, name: str, timeout_s: float) -> Instance:
        """An instance with free capacity; starts one (held, not failed) if there is none."""
        state = self.state(namespace, name)
        if state.function is None:
            raise ServingError(f"{name} is served by the platform itself")
        deadline = time.monotonic() + timeout_s
        async with state.changed:
            state.waiting += 1
            try:
                while True:
                    state.instances = [i for i in state.instances if self._alive(state, i)]
                    free = [i for i in state.instances if i.active < state.capacity]
                    if free:
                        instance = min(free, key=lambda i: i.active)
                        instance.active += 1
                        return instance
                    self._scale_for_waiting(state)
                    remaining = deadline - time.monotonic()
                    if remaining <= 0:
                        raise TimeoutError(f"no instance of {name} could take the request in time")
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(state.changed.wait(), remaining)
            finally:
                state.waiting -= 1

    def _scale_for_waiting(self, state: ServiceState) -> None:
        """Start enough instances for every request held, up to max-scale, as Knative's
        autoscaler sizes a revision for the concurrency it sees (a burst is not served
        one new instance at a time)."""
        wanted = -(-state.waiting // state.capacity)  # ceil
        while state.starting < wanted and len(state.instances) + state.starting < state.max_scale:
            state.starting += 1
            asyncio.get_running_loop().create_task(self._scale_up(state, counted=True))

    async def release(
        self, namespace: str, name: str, instance: Instance, broken: bool = False
    ) -> None:
        """Give ``instance`` back; ``broken``: its port refused the connection (nothing
        reached it), so it is replaced instead of taking the next request."""
        state = self.state(namespace, name)
        instance.broken = instance.broken or broken
        async with state.changed:
            instance.active -= 1
            instance.served += 1
            instance.last_used = time.monotonic()
            state.changed.notify_all()

    def _alive(self, state: ServiceState, instance: Instance) -> bool:
        if instance.process.running() and not instance.broken:
            return True
        state.restarts += 1  # it died (an OOM kill, a crash): a new one starts on demand
        # its cgroup (its container) goes with it, in a thread: never blocking the loop
        asyncio.get_running_loop().run_in_executor(None, instance.process.stop, 5)
        return False

    async def _scale_up(self, state: ServiceState, counted: bool = False) -> None:
        if not counted:
            async with state.changed:
                state.starting += 1
        process = self.instance(state)
        log = None
        if self.log_dir:
            self.log_dir.mkdir(parents=True, exist_ok=True)
            log = (self.log_dir / f"{state.spec.name}.log").open("ab")
        instance = Instance(
            process, time.monotonic(), restored=isinstance(process, RestoredProcess)
        )
        self._starting.add(process)
        try:
            process.start(log=log.fileno() if log else subprocess.DEVNULL)
            loop = asyncio.get_running_loop()
            instance.ready_s = await loop.run_in_executor(
                self._threads, process.wait_ready, START_TIMEOUT_S
            )
        except (RuntimeError, TimeoutError) as problem:
            print(f"localknative: {state.spec.name} failed to start: {problem}", file=sys.stderr)
            process.stop(5)
            instance = None
            if isinstance(process, RestoredProcess) and self.snapshots:
                self.snapshots.discard(state.spec.name)  # the next start is a cold one
        finally:
            self._starting.discard(process)
            if log:
                log.close()
        async with state.changed:
            state.starting -= 1
            if instance:
                state.instances.append(instance)
                state.cold_starts.append(instance.ready_s)
                state.restores += instance.restored
            state.changed.notify_all()

    def instance(self, state: ServiceState) -> FunctionProcess | FunctionContainer:
        """A new (not yet started) instance of ``state``'s function on this runtime."""
        spec = state.spec
        readiness = spec.readiness_path or READINESS_PATH
        if self.runtime == "process":
            settings = {
                "env": state.env,
                "readiness_path": readiness,
                "host": self.host,
                "memory_limit_bytes": spec.memory_limit_bytes,
            }
            if self.snapshots is None:
                return FunctionProcess(state.function, **settings)
            checkpoint = self.snapshots.get(spec.name)
            if checkpoint is None:
                return SnapshotProcess(state.function, snapshots=self.snapshots, **settings)
            return RestoredProcess(
                state.function, snapshots=self.snapshots, checkpoint=checkpoint, **settings
            )
        workspace = state.env.get("BINKS_REPO_BASE")
        return FunctionContainer(
            state.function,
            spec.image,
            env=state.env,
            readiness_path=readiness,
            host=self.host,
            memory_limit_bytes=spec.memory_limit_bytes,
            cpu_request_millis=spec.cpu_request_millis,
            cpu_limit_millis=spec.cpu_limit_millis,
            workspace=Path(workspace) if workspace else None,
            state_dir=self.container_state,
            owner=str(self.container_state or ""),
            cgroup_parent=self.cgroup_parent,
        )

    async def reap(self) -> None:
        """Scale idle Services toward min-scale after their stable window, and forget
        instances that died (run forever)."""
        while True:
            await asyncio.sleep(min(1.0, (self.window_s or 2.0) / 2))
            now = time.monotonic()
            for state in self.states.values():
                idle_for = self.window_s
                if idle_for is None:
                    idle_for = state.spec.window_s + state.spec.retention_s
                async with state.changed:
                    # the dead go at once (their cgroups with them), not at the next request
                    state.instances = [i for i in state.instances if self._alive(state, i)]
                    idle = [
                        i for i in state.instances if i.active == 0 and now - i.last_used > idle_for
                    ]
                    surplus = len(state.instances) - state.spec.min_scale
                    victims = sorted(idle, key=lambda i: i.last_used)[: max(0, surplus)]
                    for victim in victims:
                        state.instances.remove(victim)
                for victim in victims:  # each takes its cgroup with it
                    await asyncio.to_thread(victim.process.stop, state.spec.timeout_s)

    async def stop(self) -> None:
        """SIGTERM every instance (each drains its in-flight requests first)."""
        everything = [i.process for s in self.states.values() for i in s.instances]
        everything += self._starting  # a start in progress must not outlive the platform
        for state in self.states.values():
            state.instances.clear()
        # a thread each: a few threads would stop a burst's instances a handful at a time,
        # each waiting out its drain before the next is even signalled
        loop = asyncio.get_running_loop()
        with ThreadPoolExecutor(max_workers=max(1, len(everything))) as pool:
            await asyncio.gather(*(loop.run_in_executor(pool, p.stop, 30) for p in everything))
        self._threads.shutdown(wait=False, cancel_futures=True)
        if self.snapshots is not None:
            await asyncio.to_thread(self.snapshots.remove)

    def status(self) -> list[dict[str, Any]]:
        """What ``binks ps`` shows (``localknative.serving_status``)."""
        from localknative.serving_status import rows

        return rows(self)

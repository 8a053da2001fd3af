"""PingSources, locally: a CloudEvent to the sink on each tick of a cron schedule.

Knative's ping adapter reads the schedule with the standard cron parser: five
fields (minute hour day-of-month month day-of-week), ``CRON_TZ=``/``TZ=`` prefixes,
``@hourly``-style descriptors and ``@every <duration>``. This module does the same,
so the schedules in ``knative/`` mean the same here as on a cluster.
"""

from __future__ import annotations

import asyncio
import json
import sys
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from localknative.manifests import PingSource, go_duration

PING_TYPE = "dev.knative.sources.ping"
_DESCRIPTORS = {
    "@yearly": "0 0 1 1 *",
    "@annually": "0 0 1 1 *",
    "@monthly": "0 0 1 * *",
    "@weekly": "0 0 * * 0",
    "@daily": "0 0 * * *",
    "@midnight": "0 0 * * *",
    "@hourly": "0 * * * *",
}
_FIELDS = (("minute", 0, 59), ("hour", 0, 23), ("day of month", 1, 31), ("month", 1, 12))
_DOW = ("day of week", 0, 6)


class ScheduleError(ValueError):
    """A schedule the cron parser refuses; the message names the field."""


@dataclass(frozen=True)
class Schedule:
    """A parsed schedule: sets of allowed values, or a fixed interval (``@every``)."""

    minutes: frozenset[int] = frozenset()
    hours: frozenset[int] = frozenset()
    days: frozenset[int] = frozenset()
    months: frozenset[int] = frozenset()
    weekdays: frozenset[int] = frozenset()
    #: both day fields restricted: a day matches if either does (cron's rule)
    either_day: bool = False
    every_s: float | None = None
    zone: ZoneInfo | None = None

    def next_after(self, moment: datetime) -> datetime:
        """The first tick strictly after ``moment`` (an aware datetime)."""
        if self.every_s is not None:
            return moment + timedelta(seconds=self.every_s)
        local = moment.astimezone(self.zone or UTC).replace(second=0, microsecond=0)
        candidate = local + timedelta(minutes=1)
        for _ in range(366 * 24 * 60 * 5):  # five years of minutes: a schedule that can fire
            if self._matches(candidate):
                return candidate.astimezone(UTC)
            candidate += timedelta(minutes=1)
        raise ScheduleError("the schedule never fires")

    def _matches(self, t: datetime) -> bool:
        if t.minute not in self.minutes or t.hour not in self.hours or t.month not in self.months:
            return False
        day, weekday = t.day in self.days, (t.isoweekday() % 7) in self.weekdays
        return (day or weekday) if self.either_day else (day and weekday)


def parse_schedule(text: str, timezone: str | None = None) -> Schedule:
    """Parse a PingSource ``schedule`` (and ``timezone``) or raise ScheduleError."""
    spec = text.strip()
    zone_name = timezone
    if spec.startswith(("CRON_TZ=", "TZ=")):
        prefix, _, spec = spec.partition(" ")
        zone_name = prefix.split("=", 1)[1]
    try:
        zone = ZoneInfo(zone_name) if zone_name else None
    except (ZoneInfoNotFoundError, ValueError):
        raise ScheduleError(f"unknown time zone {zone_name!r}") from None
    spec = _DESCRIPTORS.get(spec, spec)
    if spec.startswith("@every "):
        try:
            seconds = go_duration(spec.removeprefix("@every ").strip(), "schedule")
        except ValueError as problem:
            raise ScheduleError(str(problem)) from None
        if seconds <= 0:
            raise ScheduleError("@every needs a positive duration")
        return Schedule(every_s=seconds, zone=zone)
    fields = spec.split()
    if len(fields) != 5:
        raise ScheduleError(f"expected 5 fields (minute hour day month weekday), got {spec!r}")
    minutes, hours, days, months = (
        _field(value, *limits) for value, limits in zip(fields[:4], _FIELDS, strict=True)
    )
    weekdays = frozenset(d % 7 for d in _field(fields[4], "day of week", 0, 7))  # 7 is Sunday
    either = fields[2] not in ("*", "?") and fields[4] not in ("*", "?")
    return Schedule(minutes, hours, days, months, weekdays, either, zone=zone)


def _field(text: str, name: str, low: int, high: int) -> frozenset[int]:
    values: set[int] = set()
    for part in text.split(","):
        body, _, step_text = part.partition("/")
        try:
            step = int(step_text) if step_text else 1
            if body in ("*", "?"):
                start, end = low, high
            elif "-" in body:
                start, end = (int(x) for x in body.split("-", 1))
            else:
                start = int(body)
                end = high if step_text else start
        except ValueError:
            raise ScheduleError(f"{name}: {part!r} is not a number, range or step") from None
        if step < 1 or not low <= start <= end <= high:
            raise ScheduleError(f"{name}: {part!r} is outside {low}-{high}")
        values.update(range(start, end + 1, step))
    return frozenset(values)


def ping_event(source: PingSource, at: datetime) -> tuple[dict[str, str], bytes]:
    """The binary-mode CloudEvent a PingSource sends at ``at``."""
    headers = {
        "ce-specversion": "1.0",
        "ce-id": str(uuid.uuid4()),
        "ce-source": f"/apis/v1/namespaces/{source.namespace}/pingsources/{source.name}",
        "ce-type": PING_TYPE,
        "ce-time": at.astimezone(UTC).isoformat().replace("+00:00", "Z"),
        "content-type": source.content_type or "text/plain",
    }
    return headers, (source.data or "").encode()


#: Sends one ping: (source, headers, body) → None; raises to report a refused send.
Send = Callable[[PingSource, dict[str, str], bytes], Awaitable[None]]


async def run_ping_source(
    source: PingSource, send: Send, now: Callable[[], datetime] = lambda: datetime.now(UTC)
) -> None:
    """Tick forever (until cancelled). A refused send is logged; the next tick still comes."""
    schedule = parse_schedule(source.schedule, source.timezone)
    moment = now()
    while True:
        moment = schedule.next_after(moment)
        await asyncio.sleep(max(0.0, (moment - now()).total_seconds()))
        headers, body = ping_event(source, moment)
        try:
            await send(source, headers, body)
        except Exception as problem:  # the platform logs it; a PingSource never stops
            line = {"pingsource": source.name, "error": f"{type(problem).__name__}: {problem}"}
            print(json.dumps(line), file=sys.stderr, flush=True)

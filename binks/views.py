"""What the control commands print: ``binks events`` (a line per event for people, JSON
or YAML for programs, the dead-letter reason decoded), ``binks describe`` and ``binks ps``."""

from __future__ import annotations

import base64
import binascii
import json
import time
from typing import Any

#: Delivery states that will not change any more (``pending`` will).
FINAL_STATES = frozenset({"delivered", "failed"})


def deliveries(row: dict[str, Any]) -> list[str]:
    """``trigger:state(attempts)`` per delivery, with the last error of one not delivered."""
    shown = []
    for delivery in row.get("deliveries", []):
        trigger = delivery["trigger"].rsplit("/", 1)[-1]
        text = f"{trigger}:{delivery['state']}({delivery['attempts']})"
        if delivery["state"] != "delivered" and delivery.get("last_error"):
            text += f" last: {delivery['last_error'][:80]}"
        shown.append(text)
    return shown


def settled(row: dict[str, Any]) -> bool:
    """True once none of the event's deliveries can change."""
    return all(d["state"] in FINAL_STATES for d in row.get("deliveries", []))


def dead_letter_reason(attributes: dict[str, str]) -> str | None:
    """A dead letter's ``knativeerrorcode`` and its decoded ``knativeerrordata`` (the
    subscriber's last answer, base64 as Knative sends it); None for other events."""
    code = attributes.get("knativeerrorcode")
    if code is None and "knativeerrordest" not in attributes:
        return None
    raw = attributes.get("knativeerrordata", "")
    try:
        text = base64.b64decode(raw, validate=True).decode("utf-8", "replace")
    except (binascii.Error, ValueError):
        text = raw
    with_reason = text
    try:  # the functions answer {"error": ..., "reason": ...}
        body = json.loads(text)
        if isinstance(body, dict):
            with_reason = str(body.get("reason") or body.get("error") or text)
    except json.JSONDecodeError:
        pass
    destination = attributes.get("knativeerrordest", "?")
    return f"HTTP {code or '?'} from {destination}: {with_reason}".strip()


def record(row: dict[str, Any], data: str | None = None) -> dict[str, Any]:
    """One event for ``-o json|yaml``: when, where, its attributes, its deliveries, the
    dead-letter reason, and its data when asked for."""
    out: dict[str, Any] = {
        "seq": row["seq"],
        "time": _iso(row.get("accepted_at")),
        "origin": row["origin"],
        "broker": row["broker"],
        "attributes": row["attributes"],
        "deliveries": row.get("deliveries", []),
    }
    reason = dead_letter_reason(row["attributes"])
    if reason:
        out["dead_letter_reason"] = reason
    if data is not None:
        out["data"] = _parsed(data)
    return out


def line(row: dict[str, Any], data: str | None = None) -> str:
    """One event for people: time, seq, type, source, task, variant, deliveries (and the
    dead-letter reason, and the data when asked for)."""
    attributes = row["attributes"]
    parts = [
        _iso(row.get("accepted_at"))[11:19],
        f"#{row['seq']}",
        attributes.get("type", "?"),
        f"from {attributes.get('source', '?')}",
    ]
    if attributes.get("binkstask"):
        parts.append(f"task={attributes['binkstask']}")
    if attributes.get("binksvariant"):
        parts.append(f"variant={attributes['binksvariant']}")
    shown = deliveries(row)
    parts.append("→ " + ", ".join(shown) if shown else "→ (no trigger matched)")
    text = "  ".join(parts)
    reason = dead_letter_reason(attributes)
    if reason:
        text += f"\n    dead letter: {reason}"
    if data is not None:
        text += f"\n    data: {data}"
    return text


def _iso(epoch: float | None) -> str:
    if epoch is None:
        return "????-??-??T??:??:??"
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.localtime(epoch))


def _parsed(data: str) -> Any:
    try:
        return json.loads(data)
    except json.JSONDecodeError:
        return data


def description(row: dict[str, Any], url: str, recent: list[dict[str, Any]]) -> str:
    """``binks describe``: a Service as ``kn service describe`` shows one, plus its
    Triggers, instances and the newest events delivered to it."""
    settings = row.get("settings", {})
    low, high = settings.get("scale", ["?", "?"])
    limit = settings.get("memory_limit_bytes")
    cpu = settings.get("cpu_request_millis")
    lines = [
        f"Name:          {row['service']}",
        f"Namespace:     {row['namespace']}",
        f"Image:         {row['image']}",
        f"Runs as:       {row['local']} ({row.get('runtime', 'process')})",
        f"URL:           {url}",
        f"Scale:         {low}-{high} (initial {settings.get('initial_scale', '?')}), "
        f"containerConcurrency {settings.get('container_concurrency', '?')}, timeout "
        f"{settings.get('timeout_s', 0):g}s, scale to zero after "
        f"{settings.get('window_s', 0):g}s idle",
        "Resources:     "
        + (f"memory limit {limit / 2**20:.0f}Mi" if limit else "no memory limit")
        + (f", cpu request {cpu}m" if cpu else ""),
        f"Cold starts:   {', '.join(f'{s:.2f}s' for s in row['cold_starts_s']) or '-'}"
        f" (restarts {row['restarts']})",
        *_snapshot_lines(row),
        "Triggers:",
    ]
    for trigger in row.get("triggers", []):
        lines.append(
            f"  {trigger['name']}  broker {trigger['broker']}  {json.dumps(trigger['filters'])}"
        )
    if not row.get("triggers"):
        lines.append("  (none: only Host routing reaches it)")
    lines.append("Instances:")
    for i in row["instances"]:
        memory = i.get("memory_mib") or i.get("rss_mib")
        lines.append(
            f"  pid {i['pid']}  port {i['port']}  ready in {i['ready_s']:.2f}s  served "
            f"{i['served']}  active {i['active']}  memory {memory or '?'} MiB"
        )
    if not row["instances"]:
        lines.append("  (none: scaled to zero)")
    names = {t["name"] for t in row.get("triggers", [])}
    mine = [e for e in recent if any(d["trigger"] in names for d in e.get("deliveries", []))]
    lines.append(f"Recent events ({len(mine[:10])} newest delivered to it):")
    lines += [f"  {line(e)}" for e in mine[:10]] or ["  (none)"]
    return "\n".join(lines)


def _snapshot_lines(row: dict[str, Any]) -> list[str]:
    """``binks up --start snapshot``: the checkpoint and how many starts restored it."""
    if "restores" not in row:
        return []
    taken = row.get("checkpoint")
    where = (
        f"checkpoint {taken['mib']:.0f} MiB (dumped in {taken['dump_s']:.2f}s)"
        if taken
        else "no checkpoint yet (the first instance starts cold)"
    )
    return [f"Snapshot:      {where}, {row['restores']} restored start(s)"]


def ps_table(services: list[dict[str, Any]], port: str) -> str:
    """``binks ps``: the Services as ``kn service list`` shows them, plus what a
    scale-to-zero comparison needs: instances (ready+starting), cold and restored
    starts, memory against the limit, age."""
    rows = [["NAME", "URL", "READY", "INSTANCES", "COLD STARTS", "MEMORY/LIMIT", "AGE"]]
    for row in services:
        instances = row["instances"]
        memory = sum(i.get("memory_mib") or i.get("rss_mib") or 0 for i in instances)
        limits = {i.get("memory_limit_mib") for i in instances} - {None}
        colds = row["cold_starts_s"]
        rows.append(
            [
                row["service"],
                f"http://{row['service']}.{row['namespace']}.localhost:{port}",
                "True" if row["restarts"] == 0 or instances else "False",
                f"{len(instances)}+{row['starting']}" if row["starting"] else str(len(instances)),
                _starts(colds, row.get("restores")),
                f"{memory:.0f}/{max(limits):.0f}Mi"
                if limits
                else (f"{memory:.0f}Mi" if instances else "-"),
                _age(max((i["age_s"] for i in instances), default=None)),
            ]
        )
    widths = [max(len(r[c]) for r in rows) for c in range(len(rows[0]))]
    return "\n".join(
        "  ".join(cell.ljust(width) for cell, width in zip(r, widths, strict=True)).rstrip()
        for r in rows
    )


def _starts(colds: list[float], restores: int | None) -> str:
    """The last start's seconds and how many there were (restored: with snapshot start)."""
    if not colds:
        return "-"
    restored = f", {restores} restored" if restores else ""
    return f"{colds[-1]:.2f}s (last of {len(colds)}{restored})"


def _age(seconds: float | None) -> str:
    """``kubectl``'s AGE: 45s, 12m, 3h; ``-`` without instances."""
    if seconds is None:
        return "-"
    for unit, size in (("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{seconds // size:.0f}{unit}"
    return f"{seconds:.0f}s"

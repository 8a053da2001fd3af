"""A Trigger's filters as ``kn func``'s ``deploy.subscriptions``.

func creates one Trigger per subscription, with the subscription's ``filters`` as exact
attribute filters (all must match) on the Broker named by ``source``. A Trigger of ours
becomes the subscriptions whose union it delivers. Exact filters cannot say "no
``binksvariant``": a Trigger that takes a request without one, or addressed to its own
variant, becomes a subscription on the type alone, which also delivers requests
addressed to the other variant; the function answers those 202 "ignored: addressed to
variant ..." without running (``shared/runtime/dispatch.py``), so nothing else changes.
Any other CESQL is refused: a new filter must be translated here, on purpose.
"""

from __future__ import annotations

import re
from itertools import product
from typing import Any

_ANY_OR_OWN = re.compile(r"^NOT EXISTS binksvariant OR binksvariant = '(\w+)'$")
_OWN_TYPES = re.compile(r"^binksvariant = '(\w+)' AND type IN \(([^)]*)\)$")


def _alternatives(one: dict[str, Any]) -> list[dict[str, str]]:
    """The exact-filter alternatives of one filter of a Trigger's ``filters`` list."""
    if "exact" in one:
        return [dict(one["exact"])]
    if "any" in one:
        return [alt for sub in one["any"] for alt in _alternatives(sub)]
    sql = " ".join(one.get("cesql", "").split())
    if _ANY_OR_OWN.match(sql):
        return [{}]  # widened: the function ignores the other variant's requests
    if own := _OWN_TYPES.match(sql):
        types = re.findall(r"'([^']+)'", own.group(2))
        return [{"binksvariant": own.group(1), "type": t} for t in types]
    raise ValueError(f"no func subscription for the filter {one!r}")


def subscriptions(trigger: dict[str, Any]) -> list[dict[str, Any]]:
    """The subscriptions that deliver what ``trigger`` delivers (see the module)."""
    spec = trigger["spec"]
    filters = spec.get("filters") or [{"exact": spec.get("filter", {}).get("attributes", {})}]
    out = []
    for combination in product(*(_alternatives(one) for one in filters)):
        merged: dict[str, str] = {}
        for part in combination:
            merged |= part
        out.append({"source": spec["broker"], "filters": merged})
    return out

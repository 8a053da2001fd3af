"""A bounded burst (1 000 events, both variants, containerConcurrency 4, max-scale 2, a
backlog small enough to push back): nothing lost, nothing handled twice, the
platform's memory stays bounded. The same run as ``binks bench load``."""

from __future__ import annotations

import pytest
import uvloop

from bench import load

pytestmark = [pytest.mark.faults, pytest.mark.process]


def test_a_burst_loses_nothing_duplicates_nothing_and_stays_bounded() -> None:
    result = uvloop.run(load.run(events=1000, concurrency=16, backlog=256, timeout_s=240))
    assert result["accepted"] == 1000 and result["stored_twice"] == 0
    assert result["deliveries"] == {"delivered": 2000}
    assert result["lost"] == 0
    assert result["not_handled"] == {"agno": 0, "crewai": 0}
    assert result["handled_twice"] == {"agno": 0, "crewai": 0}
    assert all(1 <= n <= 2 for n in result["instances_started"].values())  # max-scale 2
    assert result["platform_rss_mib"]["peak"] < 256  # a bounded backlog, not a RAM queue

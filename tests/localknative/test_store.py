"""The event store's reads: pages bounded in rows and bytes, data only when asked and cut,
one event's data streamed in chunks (from any thread), cursors in both directions."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from localknative.store import MAX_PAGE, PAGE_DATA_BUDGET, EventQuery, EventStore


@pytest.fixture
def store(tmp_path: Path):
    store = EventStore(tmp_path / "events.sqlite3")
    yield store
    store.close()


def accept(store: EventStore, n: int, data: bytes, task: str = "t1") -> None:
    attributes = {"id": str(n), "source": "/s", "type": "t.a", "binkstask": task}
    store.accept("default", "default", attributes, data, [], "ingress").result(10)


def test_a_page_without_data_carries_sizes_only(store) -> None:
    accept(store, 1, b"x" * 5000)
    (row,) = store.events(EventQuery())["events"]
    assert row["data_bytes"] == 5000 and "data" not in row, row


def test_data_is_cut_to_what_the_query_asks(store) -> None:
    accept(store, 1, b"y" * 5000)
    (row,) = store.events(EventQuery(data=True, data_bytes=100))["events"]
    assert (row["data"], row["data_truncated"]) == ("y" * 100, True)


def test_a_page_ends_once_its_data_passes_the_budget(store) -> None:
    for n in range(30):
        accept(store, n, b"z" * 70_000)
    page = store.events(EventQuery(data=True, data_bytes=65536))
    carried = sum(len(row["data"]) for row in page["events"])
    assert page["more"] is True and len(page["events"]) < 30, len(page["events"])
    assert PAGE_DATA_BUDGET <= carried <= PAGE_DATA_BUDGET + 65536, carried


def test_pages_follow_each_other_in_both_directions(store) -> None:
    for n in range(7):
        accept(store, n, b"{}", task="a" if n % 2 else "b")
    first = store.events(EventQuery(limit=3))
    second = store.events(EventQuery(after=first["next"], limit=3))
    assert [r["seq"] for r in first["events"] + second["events"]] == [1, 2, 3, 4, 5, 6]
    assert first["more"] and second["more"]
    newest = store.events(EventQuery(newest_first=True, limit=2))
    assert [r["seq"] for r in newest["events"]] == [7, 6]
    older = store.events(EventQuery(newest_first=True, before=newest["next"], limit=2))
    assert [r["seq"] for r in older["events"]] == [5, 4]
    only_a = store.events(EventQuery(task="a"))["events"]
    assert [r["attributes"]["id"] for r in only_a] == ["1", "3", "5"]


def test_one_events_data_streams_in_chunks_from_worker_threads(store) -> None:
    body = bytes(range(256)) * 1000
    accept(store, 1, body)
    chunks = store.data_chunks(1, chunk=4096)
    with ThreadPoolExecutor(4) as pool:  # as the server reads it: each next() anywhere
        pieces = []
        while (piece := pool.submit(next, chunks, None).result()) is not None:
            pieces.append(piece)
    assert b"".join(pieces) == body and len(pieces) == len(body) // 4096 + 1


def test_an_unknown_events_data_is_a_lookup_error(store) -> None:
    with pytest.raises(LookupError):
        next(store.data_chunks(99))


@pytest.mark.parametrize(
    "params",
    [
        {"limit": str(MAX_PAGE + 1)},
        {"limit": "0"},
        {"after": "-1"},
        {"order": "random"},
        {"data_bytes": "1048576"},
        {"sort": "seq"},
    ],
)
def test_queries_out_of_bounds_name_the_parameter(params: dict[str, str]) -> None:
    with pytest.raises(ValueError) as refused:
        EventQuery.from_params(params)
    assert next(iter(params)) in str(refused.value), (params, str(refused.value))

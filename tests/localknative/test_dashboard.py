"""The dashboard's door: its view token opens its own read-only paths and nothing else;
``/metrics`` needs the credential; what the page gets is JSON and files from an
allow-list. (The page in a real browser: ``test_dashboard_browser``.)"""

from __future__ import annotations

import http.client
import json

import pytest

from localknative import credential
from localknative.dashboard.bench_view import sections

from .conftest import BROKER

pytestmark = pytest.mark.process


def get(platform, path: str, headers: dict[str, str] | None = None, method: str = "GET"):
    """(status, headers, body) of one request, redirects not followed."""
    connection = http.client.HTTPConnection("127.0.0.1", platform.port, timeout=30)
    try:
        connection.request(method, path, headers=headers or {})
        answer = connection.getresponse()
        return answer.status, {k.lower(): v for k, v in answer.getheaders()}, answer.read()
    finally:
        connection.close()


@pytest.fixture
def platform(platform_factory):
    return platform_factory(BROKER.format(delivery="{}"))


def test_the_view_token_becomes_a_strict_cookie_and_leaves_the_address(platform) -> None:
    view = credential.view_token(platform.running.token)
    status, headers, _ = get(platform, f"/_binks/dashboard?token={view}")
    print(status, headers)
    assert status == 303 and headers["location"] == "/_binks/dashboard"
    cookie = headers["set-cookie"]
    assert (
        "HttpOnly" in cookie and "SameSite=Strict" in cookie and "Path=/_binks/dashboard" in cookie
    )
    name = cookie.split("=", 1)[0]
    opened = {"Cookie": f"{name}={view}"}
    status, headers, body = get(platform, "/_binks/dashboard", opened)
    assert status == 200 and b"dashboard.js" in body
    assert "frame-ancestors 'none'" in headers["content-security-policy"]
    status, _, body = get(platform, "/_binks/dashboard/state", opened)
    state = json.loads(body)
    print(sorted(state))
    assert status == 200 and {"tasks", "services", "dead_letters", "bench"} <= set(state)


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/_binks/ps"),
        ("GET", "/_binks/events"),
        ("GET", "/metrics"),
        ("POST", "/_binks/dashboard/state"),
        ("POST", "/_binks/jobs/default"),
        ("POST", "/_binks/otlp/v1/traces"),
    ],
)
def test_the_view_token_opens_nothing_else(platform, method: str, path: str) -> None:
    view = credential.view_token(platform.running.token)
    name = credential.view_cookie(platform.running.token)
    status, _, body = get(platform, path, {"Cookie": f"{name}={view}"}, method)
    print(method, path, status, body[:200])
    assert status in (401, 405), (method, path, status)


def test_without_the_token_or_from_another_origin_nothing_is_shown(platform) -> None:
    view = credential.view_token(platform.running.token)
    name = credential.view_cookie(platform.running.token)
    for path, headers in [
        ("/_binks/dashboard/state", {}),
        ("/_binks/dashboard/state", {"Cookie": f"{name}=wrong"}),
        ("/_binks/dashboard?token=wrong", {}),
        ("/_binks/dashboard/state", {"Cookie": f"{name}={view}", "Origin": "http://evil.test"}),
    ]:
        status, _, body = get(platform, path, headers)
        print(path, headers, status)
        assert status == 401, (path, headers, status)
        assert "credential" in json.loads(body)["error"]


def test_metrics_need_the_credential(platform) -> None:
    status, _, _ = get(platform, "/metrics")
    assert status == 401
    status, headers, body = get(platform, "/metrics", platform.running.auth())
    assert status == 200 and headers["content-type"].startswith("text/plain")
    assert b"binks_broker_events_total" in body or b"binks_broker_events" in body


def test_files_come_from_an_allow_list(platform) -> None:
    opened = platform.running.auth()
    for path, expected in [
        ("/_binks/dashboard/dashboard.js", 200),
        ("/_binks/dashboard/dashboard.css", 200),
        ("/_binks/dashboard/favicon.svg", 200),
        ("/_binks/dashboard/__init__.py", 404),
        ("/_binks/dashboard/plots/..%2F..%2Fpyproject.toml", 404),
        ("/_binks/dashboard/plots/cold_start.png", 200),
        ("/_binks/dashboard/events/0", 400),
        ("/_binks/dashboard/events/999999", 404),
    ]:
        status, _, _ = get(platform, path, opened)
        print(path, status)
        assert status == expected, (path, status)


def test_the_bench_summary_reads_headings_paragraphs_and_tables() -> None:
    text = "# Bench\n\nMachine: x.\n\n## Per function\n\n| a | b |\n|---|---|\n| 1 | 2 |\n"
    found = sections(text)
    print(found)
    assert found == [
        {"heading": "Bench", "paragraphs": ["Machine: x."], "tables": []},
        {
            "heading": "Per function",
            "paragraphs": [],
            "tables": [{"header": ["a", "b"], "rows": [["1", "2"]]}],
        },
    ]

"""The platform's Host and Origin rules, as pure functions (the attacks themselves run
against a real platform in tests/faults/test_security.py)."""

from __future__ import annotations

import pytest

from localknative.guards import LOCAL_DOMAINS, foreign, host_allowed, hostname, routed_service


@pytest.mark.parametrize(
    ("header", "name"),
    [("127.0.0.1:8470", "127.0.0.1"), ("[::1]:8470", "::1"), ("LocalHost.", "localhost"),
     ("a.b.localhost:1", "a.b.localhost"), (None, ""), ("::1", "::1")],
)  # fmt: skip
def test_the_name_of_a_host_header(header, name) -> None:
    assert hostname(header) == name


@pytest.mark.parametrize(
    ("name", "allowed"),
    [("127.0.0.1", True), ("::1", True), ("10.1.2.3", True), ("localhost", True),
     ("svc.ns.localhost", True), ("evil.example", False), ("localhost.evil.example", False),
     ("", False), ("mylocalhost", False)],
)  # fmt: skip
def test_only_ip_literals_and_local_names_are_served(name: str, allowed: bool) -> None:
    assert host_allowed(name, LOCAL_DOMAINS) is allowed, name


def test_a_configured_domain_is_served_and_routes() -> None:
    domains = (*LOCAL_DOMAINS, "pi.lan")
    assert host_allowed("pi.lan", domains) and host_allowed("svc.ns.pi.lan", domains)
    assert routed_service("code-reviewer-agno.default.pi.lan", domains) == (
        "default",
        "code-reviewer-agno",
    )
    assert routed_service("a.b.c.localhost", domains) is None  # exactly service.namespace
    assert routed_service("localhost", domains) is None


@pytest.mark.parametrize(
    ("origin", "host", "is_foreign"),
    [("http://127.0.0.1:8470", "127.0.0.1:8470", False),
     ("http://evil.example", "127.0.0.1:8470", True),
     ("null", "127.0.0.1:8470", True),
     ("http://127.0.0.1:9999", "127.0.0.1:8470", True)],
)  # fmt: skip
def test_only_the_platforms_own_origin_is_not_foreign(origin, host, is_foreign) -> None:
    assert foreign(origin, host) is is_foreign, origin

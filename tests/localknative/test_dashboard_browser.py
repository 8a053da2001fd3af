"""The dashboard in a real browser: headless Chromium (Debian's ``chromium`` and
``chromium-driver``, driven by Selenium; nothing downloaded) opens the address
``binks up`` prints while the scripted four-role chain runs on the repository's
manifests, and the page shows both variants' chains side by side, live.

Skipped when ``/usr/bin/chromium`` or ``/usr/bin/chromedriver`` is missing, unless
``BINKS_REQUIRE_BROWSER=1`` (CI), which makes that a failure. The screenshot is left
in ``test-artifacts/dashboard.png``.
"""

from __future__ import annotations

import base64
import json
import os
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from localknative import credential

from .chain import run_team_chain

pytestmark = pytest.mark.process

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
TASK = "chain-9"  # run_team_chain's task
VARIANTS = ("agno", "crewai")
ROLES = ("orchestrator", "code-reviewer", "cluster-operator", "reporter")
#: How long the page may take to show what the platform already has (it polls every second).
PAGE_S = 30
#: The tallest full-page screenshot taken (px).
SCREENSHOT_MAX_PX = 12000


def _browser_or_skip() -> None:
    missing = [str(p) for p in (CHROMIUM, CHROMEDRIVER) if not p.is_file()]
    if not missing:
        return
    reason = (
        f"no headless browser: {' and '.join(missing)} missing "
        "(Debian packages chromium and chromium-driver)"
    )
    if os.environ.get("BINKS_REQUIRE_BROWSER") == "1":
        pytest.fail(f"BINKS_REQUIRE_BROWSER=1 but {reason}")
    pytest.skip(reason)


@pytest.fixture
def browsers(monkeypatch) -> Iterator[Callable[[], object]]:
    """Starts headless Chromium sessions (each a fresh profile: no cookies); all quit after."""
    _browser_or_skip()
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    monkeypatch.setenv("SE_OFFLINE", "true")  # Selenium Manager must not download anything
    started = []

    def start():
        options = webdriver.ChromeOptions()
        options.binary_location = str(CHROMIUM)
        for argument in (
            "--headless=new",
            "--no-sandbox",  # the tests run as root
            "--disable-dev-shm-usage",
            "--window-size=1600,2000",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
        ):
            options.add_argument(argument)
        options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
        driver = webdriver.Chrome(
            service=Service(executable_path=str(CHROMEDRIVER)), options=options
        )
        started.append(driver)
        return driver

    yield start
    for driver in started:
        driver.quit()


def test_the_dashboard_shows_both_variants_chains_side_by_side(platform_factory, browsers) -> None:
    from selenium.common.exceptions import StaleElementReferenceException
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    began = time.monotonic()
    browser = browsers()
    wait = WebDriverWait(browser, PAGE_S, ignored_exceptions=(StaleElementReferenceException,))
    platforms = []

    def platform_with_page_open(*args, **kwargs):
        """The platform, and the dashboard open on it before the task is sent: the
        chain then appears on the page as it runs."""
        platform = platform_factory(*args, **kwargs)
        platforms.append(platform)
        token = credential.read(platform.state, {})  # <state dir>/credential
        address = credential.dashboard_url(platform.url, token)
        browser.get(address)
        page = f"{platform.url}{credential.DASHBOARD_PATH}"
        print(f"opened {address.split('?')[0]}?token=…; now at {browser.current_url}")
        assert browser.current_url == page, "the token is dropped from the address (303)"
        cookies = {c["name"]: c for c in browser.get_cookies()}
        cookie = cookies[credential.view_cookie(token)]
        assert (cookie["httpOnly"], cookie["sameSite"]) == (True, "Strict"), cookie
        wait.until(lambda d: d.find_element(By.ID, "status").get_attribute("data-state") == "ok")
        print("page loaded its state:", browser.find_element(By.ID, "status").text)
        return platform

    run_team_chain(platform_with_page_open, "process")  # asserts every hop of both chains
    chained = time.monotonic()
    platform = platforms[0]
    card = f'[data-task="{TASK}"]'

    def lane(variant: str):
        return browser.find_element(By.CSS_SELECTOR, f'{card} [data-lane="{variant}"]')

    # both lanes reach the report, on the page (it polls)
    wait.until(lambda d: all(lane(v).get_attribute("data-done") == "true" for v in VARIANTS))

    # ... and the page shows every hop the platform recorded for the task
    def task_state() -> dict:
        state = platform.control(f"{credential.DASHBOARD_PATH}/state")
        return next(t for t in state["tasks"] if t["task"] == TASK)

    def hops_shown() -> dict[str, dict[str, str | None]]:
        """Per lane: each hop's span id → the model calls it shows (None: none yet)."""
        shown: dict[str, dict[str, str | None]] = {}
        for box in browser.find_elements(By.CSS_SELECTOR, f"{card} [data-lane] .hop"):
            variant = box.find_element(By.XPATH, "./ancestor::*[@data-lane]")
            calls = box.get_attribute("data-model-calls")
            shown.setdefault(variant.get_attribute("data-lane"), {})[
                box.get_attribute("data-span")
            ] = calls
        return shown

    def caught_up() -> dict | None:
        """The task's state once the page shows every hop of it, as the platform has it
        now (the functions' own spans, which add the model calls, may come a bit later)."""
        task = task_state()
        wanted = {
            name: {h["span_id"]: _text(h.get("model_calls")) for h in hops}
            for name, hops in task["lanes"].items()
        }
        return task if hops_shown() == wanted else None

    task = wait.until(lambda _: caught_up())
    shown_at = time.monotonic()
    print(f"the page shows all {sum(len(h) for h in task['lanes'].values())} hops of {TASK}")

    # the variants' lanes side by side: agno, then crewai to its right, level with it
    boxes = {v: lane(v).rect for v in VARIANTS}
    print("lane boxes:", boxes)
    assert boxes["agno"]["x"] + boxes["agno"]["width"] <= boxes["crewai"]["x"], boxes
    assert abs(boxes["agno"]["y"] - boxes["crewai"]["y"]) < 1, boxes
    order = [
        e.get_attribute("data-lane")
        for e in browser.find_elements(By.CSS_SELECTOR, f"{card} [data-lane]")
    ]
    print("lanes in page order:", order)
    assert order == list(VARIANTS), order
    for variant in VARIANTS:
        assert lane(variant).find_element(By.CSS_SELECTOR, ".badge").text == "report ✓"

    # each lane holds its variant's four roles
    for variant in VARIANTS:
        services = {
            e.get_attribute("data-service")
            for e in lane(variant).find_elements(By.CSS_SELECTOR, ".hop")
        }
        wanted = {f"{role}-{variant}" for role in ROLES}
        print(f"{variant} lane services: {sorted(services)} (want {sorted(wanted)})")
        assert services == wanted

    # cold or warm, as the platform's span says, on every hop
    spans = {h["span_id"]: h for hops in task["lanes"].values() for h in hops}
    labels = {}
    for box in browser.find_elements(By.CSS_SELECTOR, f"{card} .hop"):
        span = spans[box.get_attribute("data-span")]
        label = box.find_element(By.CSS_SELECTOR, ".temp").text
        expected = f"cold {span['cold_start_s']:.1f} s" if span["cold"] else "warm"
        assert label == expected, (span["service"], span["event_type"], label, expected)
        labels[(span["service"], span["event_seq"])] = label
    print("cold/warm labels:", labels)
    temperatures = {label.split()[0] for label in labels.values()}
    assert temperatures == {"cold", "warm"}, temperatures

    # what the functions reported of their hops: model calls, tokens, tool calls
    models = {}
    for box in browser.find_elements(By.CSS_SELECTOR, f"{card} .hop[data-model-calls]"):
        span = spans[box.get_attribute("data-span")]
        text = box.find_element(By.CSS_SELECTOR, ".inside").text
        models[(span["service"], span["event_seq"])] = text
        if span["model_calls"]:
            assert f"{span['model_calls']} model call" in text, (text, span)
            assert f"tokens {span['tokens_in']} in / {span['tokens_out']} out" in text, text
    print("what the functions reported:", models)
    reviewers = {s for s, _ in models if s.startswith("code-reviewer-")}
    assert reviewers == {f"code-reviewer-{v}" for v in VARIANTS}, models

    # the task's trace ids as the platform recorded them
    traces = [
        e.get_attribute("data-trace-id")
        for e in browser.find_elements(By.CSS_SELECTOR, f"{card} [data-trace-id]")
    ]
    print(f"trace ids shown: {traces}; recorded: {task['trace_ids']}")
    assert traces == task["trace_ids"]

    # the services table: the 8 function Services (and whatever else the manifests run)
    rows = {
        e.get_attribute("data-service")
        for e in browser.find_elements(By.CSS_SELECTOR, "#services tbody tr[data-service]")
    }
    functions = {f"{role}-{variant}" for role in ROLES for variant in VARIANTS}
    print(f"services table: {sorted(rows)}")
    assert functions <= rows, functions - rows
    assert rows == set(platform.ps()), rows ^ set(platform.ps())

    # clicking a hop shows the event it delivered: its attributes and its data
    hop = next(h for h in task["lanes"]["agno"] if h["service"] == "code-reviewer-agno")
    seq = hop["event_seq"]

    def click() -> bool:
        lane("agno").find_element(By.CSS_SELECTOR, f'.hop[data-span="{hop["span_id"]}"]').click()
        return True

    wait.until(lambda _: click())
    detail = wait.until(lambda d: d.find_element(By.CSS_SELECTOR, f'#detail[data-seq="{seq}"]'))
    stored = next(e for e in platform.events() if e["seq"] == seq)
    shown = detail.find_element(By.ID, "detail-data").get_property("textContent")
    print(f"event {seq} ({hop['event_type']}) on the page: {shown[:200]}…")
    assert json.loads(shown) == json.loads(stored["data"])
    attributes = {
        row.find_element(By.TAG_NAME, "th").text: row.find_element(By.TAG_NAME, "td").text
        for row in detail.find_elements(By.CSS_SELECTOR, "table.attributes tr")
    }
    print(
        f"attributes shown: type={attributes.get('type')} binkstask={attributes.get('binkstask')}"
    )
    assert attributes["type"] == stored["attributes"]["type"] == hop["event_type"]
    assert attributes["id"] == stored["attributes"]["id"]
    assert attributes["binkstask"] == TASK

    # the page made no markup or style the Content-Security-Policy refused, and no error
    # of any kind (a failed request, the favicon's too, is one)
    problems = [
        entry["message"]
        for entry in browser.get_log("browser")
        if entry["level"] == "SEVERE"
        or "Content Security Policy" in entry["message"]
        or "Uncaught" in entry["message"]
    ]
    assert not problems, problems

    path = _screenshot(browser, ARTIFACTS / "dashboard.png")
    print(f"screenshot: {path}")

    # without the view token a fresh browser (no cookie) gets neither the page nor its state
    fresh = browsers()
    fresh.get(f"{platform.url}{credential.DASHBOARD_PATH}")
    page = fresh.find_element(By.TAG_NAME, "body").text
    print(f"a fresh session's page: {page[:160]}")
    assert not fresh.find_elements(By.ID, "tasks")
    assert "credential" in json.loads(page)["error"]
    status, kind, body = fresh.execute_async_script(
        """
        const done = arguments[arguments.length - 1];
        fetch("/_binks/dashboard/state", {credentials: "same-origin"})
          .then(async (r) => done([r.status, r.headers.get("content-type"), await r.text()]))
          .catch((e) => done([0, "", String(e)]));
        """
    )
    print(f"a fresh session's state: {status} {kind} {body[:160]}")
    assert (status, kind.split(";")[0]) == (401, "application/json")
    assert "error" in json.loads(body)
    print(
        f"timings: chain {chained - began:.1f} s, page caught up {shown_at - chained:.1f} s later, "
        f"test {time.monotonic() - began:.1f} s"
    )


def _text(value: object) -> str | None:
    return None if value is None else str(value)


def _screenshot(browser, path: Path) -> Path:
    """The whole page (up to :data:`SCREENSHOT_MAX_PX` tall) as a PNG at ``path``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    width, height = browser.execute_script(
        "const e = document.documentElement; return [e.scrollWidth, e.scrollHeight];"
    )
    clip = {"x": 0, "y": 0, "width": width, "height": min(height, SCREENSHOT_MAX_PX), "scale": 1}
    shot = browser.execute_cdp_cmd(
        "Page.captureScreenshot", {"format": "png", "captureBeyondViewport": True, "clip": clip}
    )
    path.write_bytes(base64.b64decode(shot["data"]))
    return path

"""What tracing and metrics cost a cold start, per function, both variants.

``python -m bench.telemetry_cost --runs 5``: every function × variant is started as a
fresh process with telemetry on (the default, spans exported over OTLP as under
``binks up``) and with ``BINKS_TELEMETRY=off``,
interleaved (the variants' order and the settings' order flip every run), against the
zero-latency scripted model. Per start: spawn → ready, spawn → the reply to a first
event (the span, the metrics and the model-call hook all used once), CPU seconds to
ready, and idle RSS. The figure is on − off per function and variant, as medians; the
goal (issue 17) is within 2 % or 10 ms. Also measured: the import of the telemetry
code alone, in each variant's environment after the framework (median of 20).
"""

from __future__ import annotations

import argparse
import compileall
import json
import subprocess
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from statistics import median
from typing import Any

from bench.footprint import bytecode_compiled
from bench.functions import ROLES, order, post_event, request_for, spawn_sample
from bench.probes import spread
from bench.results import save
from localknative.instances import FunctionProcess, FunctionSpec
from modelserver.sample_answers import sample_team
from modelserver.scripted import ScriptedOllama
from shared.defaults import DEFAULT_MODEL

REPO = Path(__file__).resolve().parents[1]
SETTINGS = ("on", "off")
#: Events after the first, per start: the warm median is the per-request cost.
WARM_EVENTS = 10
#: Each setting's environment: "on" as ``binks up`` runs a function, its spans exported
#: over OTLP (to the bench's sink, which takes any POST); "off" with nothing of it.
SETTING_ENV = {
    "on": lambda sink: {"BINKS_TELEMETRY": "on", "OTEL_EXPORTER_OTLP_ENDPOINT": sink},
    "off": lambda sink: {"BINKS_TELEMETRY": "off"},
}
#: Imported in the variant's environment after what a function imports anyway; the
#: time of the last import line is the telemetry's own.
IMPORT_PROBE = """
import time, shared.runtime.app, shared.frameworks.{variant}_runner
started = time.perf_counter()
import shared.runtime.telemetry, shared.runtime.model_calls, shared.telemetry.otlp
print(time.perf_counter() - started)
"""


class _Sink(BaseHTTPRequestHandler):
    """``K_SINK`` for the orchestrator's extra events: 202, nothing kept."""

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.send_response(202)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *_: Any) -> None:
        pass


def first_reply(spec: FunctionSpec, env: dict[str, str]) -> dict[str, float]:
    """Spawn → the reply to one event (posted the moment the instance is ready), then
    the median of :data:`WARM_EVENTS` more, one after another (the cost per request)."""
    event_type, data = request_for(spec.role, spec.variant)
    with FunctionProcess(spec, env=env) as instance:
        instance.wait_ready()
        post_event(instance.url, event_type, data)
        first = time.monotonic() - instance.started
        warm = [post_event(instance.url, event_type, data)[0] for _ in range(WARM_EVENTS)]
    return {"first_reply_s": first, "warm_p50_s": median(warm)}


def import_seconds(variant: str, times: int = 20) -> float:
    """Median seconds to import the telemetry modules after the framework and the app."""
    python = REPO / ".venvs" / variant / "bin" / "python"
    samples = []
    for _ in range(times):
        done = subprocess.run(
            [str(python), "-c", IMPORT_PROBE.format(variant=variant)],
            cwd=REPO, capture_output=True, text=True, check=True,
        )  # fmt: skip
        samples.append(float(done.stdout.strip()))
    return median(samples)


def measure(runs: int, roles: tuple[str, ...]) -> dict[str, Any]:
    """Samples by service and setting, interleaved."""
    samples: dict[str, dict[str, list[dict[str, float]]]] = {}
    sink = ThreadingHTTPServer(("127.0.0.1", 0), _Sink)
    threading.Thread(target=sink.serve_forever, daemon=True).start()
    with ScriptedOllama(sample_team()) as model:
        base = {"OLLAMA_HOST": model.url_per_service, "BINKS_MODEL": DEFAULT_MODEL}
        base["BINKS_CLUSTER"] = "local"
        base["K_SINK"] = f"http://127.0.0.1:{sink.server_address[1]}"
        for run in range(1, runs + 1):
            settings = SETTINGS if run % 2 else tuple(reversed(SETTINGS))
            for role in roles:
                for variant in order(run):
                    spec = FunctionSpec(role, variant)
                    for setting in settings:
                        env = {**base, **SETTING_ENV[setting](base["K_SINK"])}
                        sample = spawn_sample(spec, env)
                        sample.update(first_reply(spec, env))
                        rows = samples.setdefault(spec.service, {}).setdefault(setting, [])
                        rows.append(sample)
                        print(
                            f"run {run}/{runs} {spec.service:<24} telemetry {setting:<3} "
                            f"ready {sample['ready_s']:5.2f} s  first reply "
                            f"{sample['first_reply_s']:5.2f} s  idle RSS "
                            f"{sample['idle_rss_mib']:6.1f} MiB",
                            flush=True,
                        )
    sink.shutdown()
    return samples


KEYS = ("ready_s", "first_reply_s", "warm_p50_s", "cpu_s", "idle_rss_mib")


def measured(samples: dict[str, dict[str, list[dict[str, float]]]]) -> tuple[str, ...]:
    """The :data:`KEYS` every sample has (a result saved before warm events has none)."""
    rows = [r for by in samples.values() for rs in by.values() for r in rs]
    return tuple(k for k in KEYS if all(k in r for r in rows))


def summarise(samples: dict[str, dict[str, list[dict[str, float]]]]) -> dict[str, Any]:
    """Per service: each setting's spread, and on − off of the medians (absolute and %)."""
    summary = {}
    keys = measured(samples)
    for service, by_setting in samples.items():
        spreads = {
            s: {k: spread([r[k] for r in rows]) for k in keys} for s, rows in by_setting.items()
        }
        cost = {}
        for key in keys:
            on, off = spreads["on"][key]["median"], spreads["off"][key]["median"]
            cost[key] = {
                "on_minus_off": on - off,
                "percent": 100 * (on - off) / off if off else None,
            }
        summary[service] = {"spread": spreads, "cost": cost}
    return summary


def pooled(samples: dict[str, dict[str, list[dict[str, float]]]]) -> dict[str, Any]:
    """Per variant, over its functions: the median of each function's on / off ratio of
    medians. (The functions' figures differ by up to 4×, so their samples are not pooled
    into one median: that would compare mixtures, not the cost.)"""
    summary = summarise(samples)
    keys = measured(samples)
    out: dict[str, Any] = {}
    for variant in ("agno", "crewai"):
        rows = [row for service, row in summary.items() if service.endswith(variant)]
        out[variant] = {
            key: {
                "on_over_off": median(
                    r["spread"]["on"][key]["median"] / r["spread"]["off"][key]["median"]
                    for r in rows
                ),
                "on_minus_off": median(r["cost"][key]["on_minus_off"] for r in rows),
                "functions": len(rows),
                "starts": len(samples[next(s for s in samples if s.endswith(variant))]["on"]),
            }
            for key in keys
        }
    return out


LABELS = {
    "ready_s": "spawn → ready",
    "first_reply_s": "spawn → first reply",
    "warm_p50_s": "warm reply (median)",
    "cpu_s": "CPU s to ready",
}


def table(summary: dict[str, Any], imports: dict[str, float], together: dict[str, Any]) -> str:
    """The markdown table of the cost (what the README quotes)."""
    timed = [k for k in ("ready_s", "first_reply_s", "warm_p50_s") if k in LABELS and any(
        k in row["cost"] for row in summary.values())]  # fmt: skip
    lines = [
        "| function | "
        + " | ".join(f"{LABELS[k]}, on / off s | cost" for k in timed)
        + " | idle RSS on − off MiB |",
        "|---|" + "---|---|" * len(timed) + "---|",
    ]
    for service, row in sorted(summary.items()):
        cells = [service]
        for key in timed:
            on = row["spread"]["on"][key]["median"]
            off = row["spread"]["off"][key]["median"]
            cost = row["cost"][key]
            cells += [
                f"{on:.3f} / {off:.3f}",
                f"{cost['on_minus_off'] * 1000:+.0f} ms ({cost['percent']:+.1f} %)",
            ]
        cells.append(f"{row['cost']['idle_rss_mib']['on_minus_off']:+.1f}")
        lines.append("| " + " | ".join(cells) + " |")
    lines += [
        "",
        "| variant: median over its functions | starts per function and setting | "
        + " | ".join(LABELS[k] for k in (*timed, "cpu_s"))
        + " | idle RSS |",
        "|---|---|" + "---|" * (len(timed) + 2),
    ]
    for variant, row in together.items():
        cells = [variant, str(row["ready_s"]["starts"])]
        for key in (*timed, "cpu_s"):
            ratio, delta = row[key]["on_over_off"], row[key]["on_minus_off"]
            cells.append(f"{delta * 1000:+.1f} ms ({100 * (ratio - 1):+.1f} %)")
        cells.append(f"{row['idle_rss_mib']['on_minus_off']:+.1f} MiB")
        lines.append("| " + " | ".join(cells) + " |")
    lines.append("")
    for variant, seconds in imports.items():
        lines.append(
            f"Import of the telemetry code in the {variant} environment: "
            f"{seconds * 1000:.1f} ms (median of 20)."
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.telemetry_cost", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument(
        "--runs", type=int, default=5, help="starts per function, variant and setting"
    )
    parser.add_argument(
        "--roles", default=",".join(ROLES), help="comma-separated roles (default: all four)"
    )
    parser.add_argument(
        "--report", type=Path, help="print a saved result's tables; measure nothing"
    )
    args = parser.parse_args(argv)
    if args.report:
        saved = json.loads(args.report.read_text())
        print(table(summarise(saved["samples"]), saved["import_s"], pooled(saved["samples"])))
        return 0
    roles = tuple(r.strip() for r in args.roles.split(",") if r.strip())
    unknown = set(roles) - set(ROLES)
    if unknown or args.runs < 1:
        parser.error(f"--roles takes {', '.join(ROLES)}; --runs at least 1")
    for package in ("shared", "functions", "events"):  # as the images ship them: compiled
        compileall.compile_dir(REPO / package, quiet=2)
    compiled = {v: bytecode_compiled(v) for v in ("agno", "crewai")}
    if not all(compiled.values()):
        print(f"warning: bytecode not compiled in {compiled}: cold starts are inflated")
    imports = {v: import_seconds(v) for v in ("agno", "crewai")}
    samples = measure(args.runs, roles)
    summary = summarise(samples)
    together = pooled(samples)
    text = table(summary, imports, together)
    print("\n" + text)
    save("telemetry-cost", {
        "runs": args.runs, "roles": roles, "bytecode_compiled": compiled,
        "import_s": imports, "samples": samples, "summary": summary, "pooled": together,
        "table": text,
    })  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

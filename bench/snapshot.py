"""``binks bench snapshot``: snapshot start against cold start, per function × variant,
interleaved (the variants' order flips every run; cold and restored alternate too).

Per function × variant:
1. **process level**: spawn → ready of a cold instance vs ``criu restore`` → ready of a
   copy of the function's checkpoint (taken once, after the imports), each with CPU
   seconds to ready and idle memory (RSS, PSS, USS) once ready;
2. **through the platform**: an event at zero scale → its reply, on ``binks up --start
   cold`` and on ``binks up --start snapshot`` (checkpoints taken before run 1), zero-
   latency scripted model: the function is measured, not the model;
3. the checkpoint: its size raw and gzip-compressed (what a registry would hold), and
   how long the dump took;
4. ``--profile pi4``: the code reviewer's burst at zero scale in a 4 GiB node, cold and
   with snapshot start (``bench.pi4.burst``).

Results: ``bench/results/<timestamp>-<host>-snapshot.json``; ``--report FILE`` prints
the tables of a result file.
"""

from __future__ import annotations

import argparse
import gzip
import json
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path
from typing import Any

from bench import functions, pi4
from bench.footprint import bytecode_compiled
from bench.probes import spread
from bench.results import RESULTS, save
from events import VARIANTS
from localknative import criu
from localknative.instances import FunctionProcess, FunctionSpec
from localknative.paths import REPO
from localknative.snapshots import Checkpoint, RestoredProcess, SnapshotProcess, Snapshots
from modelserver.sample_answers import sample_team
from modelserver.scripted import ScriptedOllama

ROLES = functions.ROLES
MODES = ("cold", "restored")
KEYS = ("ready_s", "cpu_s", "rss_mib", "pss_mib", "uss_mib", "event_at_zero_s")
BEGIN, END = "<!-- snapshot:begin -->", "<!-- snapshot:end -->"
NO_MODEL = {"OLLAMA_HOST": "http://127.0.0.1:9"}  # readiness needs no model


class _Counting:
    """A file-like sink that only counts what is written to it."""

    def __init__(self) -> None:
        self.size = 0

    def write(self, data: bytes) -> int:
        self.size += len(data)
        return len(data)

    def flush(self) -> None:
        pass


def compressed_size(directory: Path) -> int:
    """Bytes of ``directory`` as a gzip'd tar (level 6), as it would be shipped."""
    sink = _Counting()
    with (
        gzip.GzipFile(fileobj=sink, mode="wb", compresslevel=6) as zipped,  # type: ignore[arg-type]
        tarfile.open(fileobj=zipped, mode="w") as tar,
    ):
        tar.add(directory, arcname=".")
    return sink.size


def checkpoint(spec: FunctionSpec, store: Snapshots) -> tuple[Checkpoint, float]:
    """Start ``spec`` cold in snapshot mode, checkpoint it; (the checkpoint, its cold
    start → ready including the dump)."""
    with SnapshotProcess(spec, env=NO_MODEL, snapshots=store) as first:
        ready_s = first.wait_ready()
    taken = store.get(spec.service)
    if taken is None:
        raise RuntimeError(f"{spec.service} was not checkpointed (see the messages above)")
    return taken, ready_s


def _restored(spec: FunctionSpec, store: Snapshots) -> RestoredProcess:
    taken = store.get(spec.service)
    assert taken is not None
    return RestoredProcess(spec, env=NO_MODEL, snapshots=store, checkpoint=taken)


def run(roles: tuple[str, ...], runs: int, profile: str | None) -> dict[str, Any]:
    """Every figure of the module docstring; the result document."""
    version = criu.check()
    specs = [FunctionSpec(role, variant) for role in roles for variant in VARIANTS]
    samples: dict[str, dict[str, list[dict[str, float]]]] = {
        s.service: {m: [] for m in MODES} for s in specs
    }
    checkpoints: dict[str, dict[str, Any]] = {}
    with tempfile.TemporaryDirectory(prefix="binks-bench-snapshot-") as scratch:
        store = Snapshots(Path(scratch) / "checkpoints")
        for spec in specs:
            taken, first_s = checkpoint(spec, store)
            raw = taken.size_bytes
            checkpoints[spec.service] = {
                "raw_mib": raw / 2**20,
                "gzip_mib": compressed_size(taken.directory) / 2**20,
                "dump_s": taken.dump_s,
                "first_start_with_dump_s": first_s,
            }
            print(
                f"checkpoint {spec.service:<24} {raw / 2**20:6.1f} MiB in {taken.dump_s:.2f} s",
                flush=True,
            )
        with ScriptedOllama(sample_team()) as model:
            env = {"OLLAMA_HOST": model.url_per_service}
            state = Path(scratch)
            with (
                functions.platform(state / "cold", env) as cold,
                functions.platform(state / "snapshot", env, start="snapshot") as restoring,
            ):
                for spec in specs:  # each Service's checkpoint, before run 1
                    event_type, data = functions.request_for(spec.role, spec.variant)
                    functions.invoke(restoring.url, spec.service, event_type, data)
                for number in range(1, runs + 1):
                    for role in roles:
                        for variant in functions.order(number):
                            spec = FunctionSpec(role, variant)
                            _one_run(
                                spec, number, store, {"cold": cold, "restored": restoring}, samples
                            )
        store.remove()
    document: dict[str, Any] = {
        "runs": runs,
        "bytecode_compiled": {v: bytecode_compiled(v) for v in VARIANTS},
        "criu": version,
        "samples": samples,
        "summary": summarize(samples),
        "checkpoints": checkpoints,
    }
    if profile == "pi4":
        document["pi4_burst"] = _bursts()
    return document


def _one_run(spec, number, store, platforms, samples) -> None:
    """Cold and restored, their order flipping every run: start → ready, then an event
    at zero through each platform."""
    modes = MODES if number % 2 else tuple(reversed(MODES))
    event_type, data = functions.request_for(spec.role, spec.variant)
    for mode in modes:
        instance = FunctionProcess(spec, env=NO_MODEL) if mode == "cold" else _restored(spec, store)
        started = functions.start_sample(instance)
        sample = {k: started[k] for k in ("ready_s", "cpu_s")}
        sample.update({k: started[f"idle_{k}"] for k in ("rss_mib", "pss_mib", "uss_mib")})
        functions.wait_for_zero(platforms[mode], spec.service)
        sample["event_at_zero_s"] = functions.invoke(
            platforms[mode].url, spec.service, event_type, data
        )
        samples[spec.service][mode].append(sample)
        print(
            f"run {number} {spec.service:<24} {mode:<8} ready {sample['ready_s']:6.3f} s  "
            f"event at zero {sample['event_at_zero_s']:6.3f} s  PSS {sample['pss_mib']:6.1f} MiB",
            flush=True,
        )


def _bursts() -> dict[str, Any]:
    """The code reviewer's Pi burst at zero scale per variant, cold and snapshot start."""
    out: dict[str, Any] = {}
    with ScriptedOllama(sample_team()) as model:
        env = {"OLLAMA_HOST": model.url_per_service}
        for variant in VARIANTS:
            spec = FunctionSpec("code_reviewer", variant)
            for start in ("cold", "snapshot"):
                try:
                    out[f"{spec.service}/{start}"] = pi4.burst(spec, env, start=start)
                except (RuntimeError, OSError, subprocess.SubprocessError) as problem:
                    # the figures of every other phase are kept; this one says what failed
                    out[f"{spec.service}/{start}"] = {"measured": False, "reason": str(problem)}
                print(
                    f"pi4 burst {spec.service} {start}: {out[f'{spec.service}/{start}']}",
                    flush=True,
                )
    return out


def summarize(samples: dict[str, dict[str, list[dict[str, float]]]]) -> dict[str, Any]:
    """Per function: each mode's spread per key and restored / cold medians."""
    summary: dict[str, Any] = {}
    for service, modes in samples.items():
        if not all(modes.values()):
            continue
        row = {
            mode: {k: spread([s[k] for s in rows]) for k in KEYS} for mode, rows in modes.items()
        }
        row["restored_over_cold"] = {
            k: row["restored"][k]["median"] / row["cold"][k]["median"]
            for k in KEYS
            if row["cold"][k]["median"]
        }
        summary[service] = row
    return summary


def report(document: dict[str, Any]) -> str:
    """The result document as Markdown tables."""
    lines = [
        "| function | start → ready, cold / restored | restored / cold "
        "| event at zero → reply, cold / restored | restored / cold "
        "| idle PSS, cold / restored | checkpoint, raw / gzip | dump |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for service, row in document["summary"].items():
        ratio = row["restored_over_cold"]
        taken = document["checkpoints"][service]

        lines.append(
            f"| {service} | {_pair(row, 'ready_s', 2, 's')} | {ratio['ready_s']:.3f}× "
            f"| {_pair(row, 'event_at_zero_s', 2, 's')} | {ratio['event_at_zero_s']:.2f}× "
            f"| {_pair(row, 'pss_mib', 0, 'MiB')} "
            f"| {taken['raw_mib']:.0f} / {taken['gzip_mib']:.0f} MiB | {taken['dump_s']:.2f} s |"
        )
    return "\n".join(lines)


def burst_table(document: dict[str, Any]) -> str:
    """The Pi profile's bursts, cold and with snapshot start, as a Markdown table."""
    bursts = document.get("pi4_burst") or {}
    lines = [
        "| burst at zero in 4 GiB (`--profile pi4`) | start | answered | failed | OOM kills "
        "| send → reply p50 / p99 | node peak |",
        "|---|---|---|---|---|---|---|",
    ]
    for key, burst in bursts.items():
        service, start = key.split("/")
        if not burst.get("measured"):
            lines.append(f"| {service} | {start} | not measured: {burst.get('reason', '')} |||||")
            continue
        p50, p99 = burst["latency_p50_s"], burst["latency_p99_s"]
        latency = f"{p50:.2f} / {p99:.2f} s" if p50 is not None else "–"
        lines.append(
            f"| {service} | {start} | {burst['answered']}/{burst['events']} | {burst['failed']} "
            f"| {burst['oom_kills']} | {latency} | {burst['peak_usage_mib']:.0f} MiB |"
        )
    return "\n".join(lines) if bursts else ""


def readme_section(document: dict[str, Any], source: str) -> str:
    """The README's snapshot figures (between its snapshot markers)."""
    machine = document.get("machine", {})
    parts = [
        BEGIN,
        f"Measured by `binks bench snapshot --runs {document['runs']}"
        f"{' --profile pi4' if document.get('pi4_burst') else ''}` (`{source}`; "
        f"{machine.get('cpu', '?')}, {machine.get('cores', '?')} cores, commit "
        f"`{machine.get('commit', '?')}`; {document['criu']}). Medians of cold and restored "
        "starts interleaved in one run; *restored / cold* is the ratio of the medians. "
        "Start → ready is the process alone (spawn, or `criu restore`); event at zero → reply "
        "goes through `binks up --start cold` and `--start snapshot` with the zero-latency "
        "scripted model.",
        "",
        report(document),
    ]
    bursts = burst_table(document)
    if bursts:
        parts += ["", bursts]
    return "\n".join([*parts, END])


def write_readme(path: Path, readme: Path = REPO / "README.md") -> None:
    """Put ``path``'s figures into the README's snapshot section."""
    from bench.report import replace_readme_section

    document = json.loads(path.read_text())
    source = f"bench/results/{path.name}"
    text = replace_readme_section(readme.read_text(), readme_section(document, source), BEGIN, END)
    readme.write_text(text)


def newest(directory: Path = RESULTS) -> Path:
    """The newest snapshot result file."""
    found = sorted(directory.glob("*-snapshot.json"))
    if not found:
        raise FileNotFoundError(f"no *-snapshot.json in {directory}: run binks bench snapshot")
    return found[-1]


def _pair(row: dict[str, Any], key: str, digits: int, unit: str) -> str:
    cold, restored = row["cold"][key]["median"], row["restored"][key]["median"]
    return f"{cold:.{digits}f} / {restored:.{digits}f} {unit}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.snapshot", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--functions", nargs="+", choices=[r.replace("_", "-") for r in ROLES])
    parser.add_argument("--profile", choices=("pi4",))
    parser.add_argument("--report", help="print the tables of this result file and exit")
    parser.add_argument(
        "--readme", action="store_true", help="write the newest result into the README and exit"
    )
    args = parser.parse_args(argv)
    if args.report:
        document = json.loads(Path(args.report).read_text())
        print(report(document), burst_table(document), sep="\n\n")
        return 0
    if args.readme:
        write_readme(newest())
        return 0
    roles = tuple(f.replace("-", "_") for f in args.functions) if args.functions else ROLES
    try:
        document = run(roles, args.runs, args.profile)
    except criu.SnapshotUnavailable as problem:
        print(f"bench snapshot: {problem}", file=sys.stderr)
        return 2
    path = save("snapshot", document)
    print(report(document), burst_table(document), sep="\n\n")
    write_readme(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())

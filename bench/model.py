"""The embedded model, through our Ollama API vs the binding called directly.

Same prompt, same sampling (temperature 0, fixed seed, fixed ``num_predict``),
same process start for both, runs interleaved (direct, API, direct, ...). Both
sides stream, so time-to-first-token is measured the same way: from sending the
request to the first content token. The API side is a real HTTP client against
``python -m modelserver``; the direct side calls ``LlamaEngine.stream`` with the
very request body our API builds.
"""

from __future__ import annotations

import json
import statistics
import time
import urllib.request

from bench.results import save
from modelserver.chat import ChatRequest, engine_request, sampling_from_options
from modelserver.engine import LlamaEngine
from modelserver.selection import start_embedded
from modelserver.weights import installed_model
from shared.defaults import DEFAULT_MODEL

PROMPT = "Write a short story about a lighthouse keeper who finds a message in a bottle."
OPTIONS = {"temperature": 0, "seed": 42, "num_predict": 128}


def direct(engine: LlamaEngine) -> dict[str, float]:
    body = engine_request(
        ChatRequest([{"role": "user", "content": PROMPT}], sampling=sampling_from_options(OPTIONS))
    )
    started = time.perf_counter()
    first, tokens = None, 0
    for chunk in engine.stream(body):
        for choice in chunk.get("choices") or []:
            if (choice.get("delta") or {}).get("content"):
                tokens += 1
                first = first or time.perf_counter()
    return _sample(started, first, time.perf_counter(), tokens)


def through_api(url: str) -> dict[str, float]:
    body = {
        "model": DEFAULT_MODEL,
        "messages": [{"role": "user", "content": PROMPT}],
        "options": OPTIONS,
        "stream": True,
    }
    request = urllib.request.Request(url + "/api/chat", json.dumps(body).encode(), method="POST")
    started = time.perf_counter()
    first, tokens = None, 0
    with urllib.request.urlopen(request) as answer:
        for line in answer:
            part = json.loads(line)
            if part["message"]["content"]:
                tokens += 1
                first = first or time.perf_counter()
    return _sample(started, first, time.perf_counter(), tokens)


def _sample(started: float, first: float | None, ended: float, tokens: int) -> dict[str, float]:
    first = first or ended
    decode = (tokens - 1) / (ended - first) if tokens > 1 and ended > first else 0.0
    return {
        "ttft_s": first - started,
        "total_s": ended - started,
        "tokens": tokens,
        "tokens_per_s": tokens / (ended - started),
        "decode_tokens_per_s": decode,
    }


def main(runs: int = 5) -> int:
    print("==> loading the model in this process (direct binding) ...", flush=True)
    engine = LlamaEngine(installed_model())
    print("==> starting the embedded Ollama-API server ...", flush=True)
    server = start_embedded()
    samples: dict[str, list[dict[str, float]]] = {"direct": [], "api": []}
    try:
        direct(engine), through_api(server.url)  # warm both prompt caches alike
        for run in range(1, runs + 1):
            for side, measure in (
                ("direct", lambda: direct(engine)),
                ("api", lambda: through_api(server.url)),
            ):
                sample = measure()
                samples[side].append(sample)
                print(
                    f"run {run}/{runs} {side:<7} {sample['tokens']:>4} tokens "
                    f"{sample['tokens_per_s']:6.1f} tok/s  ttft {sample['ttft_s'] * 1000:6.1f} ms",
                    flush=True,
                )
    finally:
        server.stop()
    summary = {
        side: {key: statistics.median(s[key] for s in rows) for key in rows[0]}
        for side, rows in samples.items()
    }
    ratio = summary["api"]["tokens_per_s"] / summary["direct"]["tokens_per_s"]
    decode_ratio = summary["api"]["decode_tokens_per_s"] / summary["direct"]["decode_tokens_per_s"]
    print(
        f"\nmedian of {runs}: direct {summary['direct']['tokens_per_s']:.1f} tok/s, "
        f"API {summary['api']['tokens_per_s']:.1f} tok/s -> API/direct {ratio:.1%} "
        f"(decode only {decode_ratio:.1%}); time to first token: direct "
        f"{summary['direct']['ttft_s'] * 1000:.0f} ms, API {summary['api']['ttft_s'] * 1000:.0f} ms"
    )
    save(
        "model",
        {
            "model": DEFAULT_MODEL,
            "prompt": PROMPT,
            "options": OPTIONS,
            "runs": runs,
            "samples": samples,
            "median": summary,
            "ratio_api_over_direct": {"tokens_per_s": ratio, "decode_tokens_per_s": decode_ratio},
        },
    )
    return 0

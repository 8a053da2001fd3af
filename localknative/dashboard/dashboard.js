// The Binks dashboard: polls /_binks/dashboard/state every second and draws it.
// No framework and no build step. Everything the server sends is written as text
// (textContent, text nodes, attribute values): no markup is ever made from data.
"use strict";

(() => {
  const BASE = "/_binks/dashboard";
  const POLL_MS = 1000;
  const RETRY_MS = 5000;
  const VARIANTS = ["agno", "crewai"]; // side by side, in this order; any other lane after
  const REPORT = "dev.binks.report.published";
  const OUTCOMES = ["delivered", "retrying", "failed"];
  const DEAD_LETTERS_SHOWN = 20;

  const drawn = {}; // section → the JSON it was last drawn from (redrawn only on change)
  const opened = new Map(); // task → open or closed, once the user toggled it
  let selected = null; // the clicked hop's span id
  let detailAsked = 0; // the newest event request (older answers are dropped)

  // ---- small helpers ------------------------------------------------------------

  /** An element; attributes are set as values, children appended as nodes or text. */
  function el(tag, attributes, ...children) {
    const node = document.createElement(tag);
    for (const [name, value] of Object.entries(attributes || {})) {
      if (value === null || value === undefined || value === false) continue;
      if (name === "class") node.className = value;
      else if (name === "text") node.textContent = value;
      else node.setAttribute(name, value === true ? "" : String(value));
    }
    for (const child of children.flat()) {
      if (child === null || child === undefined || child === false) continue;
      node.append(child instanceof Node ? child : String(child));
    }
    return node;
  }

  const $ = (id) => document.getElementById(id);
  const shortType = (type) => String(type || "").replace(/^dev\.binks\./, "");
  const clock = (epoch) => new Date(epoch * 1000).toLocaleTimeString([], { hour12: false });
  const seconds = (s) => `${Number(s).toFixed(1)} s`;

  function millis(value) {
    if (value === null || value === undefined) return "–";
    if (value >= 1000) return `${(value / 1000).toFixed(2)} s`;
    return `${value < 10 ? value.toFixed(1) : Math.round(value)} ms`;
  }

  /** Text with `code` spans (the bench's markdown uses them); everything else as text. */
  function inline(text) {
    return String(text)
      .split("`")
      .map((part, i) => (i % 2 ? el("code", { text: part }) : part.replace(/\*\*/g, "")));
  }

  /** Draw ``data`` into a section with ``draw`` unless it is what is already there. */
  function section(name, data, draw) {
    const key = JSON.stringify(data);
    if (drawn[name] === key) return;
    drawn[name] = key;
    draw(data);
  }

  // ---- polling ------------------------------------------------------------------

  function setStatus(text, state) {
    const status = $("status");
    status.textContent = text;
    status.dataset.state = state;
  }

  function setProblem(text) {
    const problem = $("problem");
    problem.textContent = text || "";
    problem.hidden = !text;
  }

  async function poll() {
    let next = POLL_MS;
    try {
      const answer = await fetch(`${BASE}/state`, { credentials: "same-origin", cache: "no-store" });
      if (answer.ok) {
        render(await answer.json());
        setProblem(null);
      } else {
        next = RETRY_MS;
        setStatus(`HTTP ${answer.status}`, "error");
        setProblem(
          answer.status === 401
            ? "Not signed in: open the dashboard address `binks up` printed (it carries the " +
                "view token; the platform makes a new one at every start)."
            : `The platform answered ${answer.status} for the dashboard's state.`,
        );
      }
    } catch (problem) {
      next = RETRY_MS;
      setStatus("platform unreachable", "error");
      setProblem(`No answer from the platform (${problem.message}); retrying.`);
    }
    setTimeout(poll, next);
  }

  function render(state) {
    const tasks = state.tasks || [];
    const services = state.services || [];
    setStatus(
      `updated ${clock(state.now)} · ${tasks.length} task${tasks.length === 1 ? "" : "s"} · ` +
        `${services.length} services`,
      "ok",
    );
    section("tasks", tasks, drawTasks);
    section("services", services, drawServices);
    section("dead", state.dead_letters || [], drawDeadLetters);
    section("bench", state.bench || {}, drawBench);
  }

  // ---- tasks and their lanes ----------------------------------------------------

  /** The lanes, agno and crewai first, each lane's hops in the order they started. */
  function orderedLanes(lanes) {
    const names = Object.keys(lanes || {});
    const rank = (name) => (VARIANTS.includes(name) ? VARIANTS.indexOf(name) : VARIANTS.length);
    names.sort((a, b) => rank(a) - rank(b) || a.localeCompare(b));
    return names.map((name) => [name, [...lanes[name]].sort((a, b) => a.start - b.start)]);
  }

  /** A lane reached the report: a delivered hop carried the report, or a reporter's
   * delivered hop replied with it. */
  function reachedReport(hops) {
    return hops.some(
      (hop) =>
        hop.outcome === "delivered" &&
        (hop.event_type === REPORT ||
          (String(hop.service || "").startsWith("reporter-") && hop.reply_type === REPORT)),
    );
  }

  /** First delivery's start to the last one's end. */
  function laneSpan(hops) {
    if (!hops.length) return 0;
    const first = Math.min(...hops.map((h) => h.start));
    const last = Math.max(...hops.map((h) => h.start + (h.duration_ms || 0) / 1000));
    return last - first;
  }

  function laneState(hops) {
    if (reachedReport(hops)) return ["done", "report ✓"];
    if (hops.some((h) => h.outcome === "failed")) return ["failed", "failed"];
    return ["running", "running…"];
  }

  function drawTasks(tasks) {
    const box = $("tasks");
    if (!tasks.length) {
      box.replaceChildren(
        el("p", {
          class: "empty",
          text: "No tasks yet: a task appears once an event with a binkstask extension is delivered.",
        }),
      );
      return;
    }
    box.replaceChildren(...tasks.map((task, i) => taskCard(task, i === 0)));
    markSelected();
  }

  function taskCard(task, newest) {
    const lanes = orderedLanes(task.lanes);
    const card = el("details", { class: "task", "data-task": task.task });
    card.open = opened.has(task.task) ? opened.get(task.task) : newest;
    const summary = el(
      "summary",
      {},
      el("strong", { class: "task-name", text: task.task }),
      el("span", { class: "muted", text: `started ${clock(task.started)}` }),
      lanes.map(([name, hops]) => {
        const [state, label] = laneState(hops);
        return el("span", { class: `pill ${state}`, text: `${name} ${label} ${seconds(laneSpan(hops))}` });
      }),
    );
    // the user's choice is kept across redraws (a click toggles what ``open`` is now)
    summary.addEventListener("click", () => opened.set(task.task, !card.open));
    const ids = task.trace_ids || [];
    const traces = el(
      "p",
      { class: "traces" },
      el("span", {
        class: ids.length > 1 ? "muted warn" : "muted",
        text: ids.length === 1 ? "trace" : `${ids.length} traces (one per task expected)`,
        title: ids.length > 1 ? "the hops of this task do not share one trace id" : null,
      }),
      ids.map((id) => el("code", { class: "trace", "data-trace-id": id, title: id, text: id })),
    );
    const grid = el("div", { class: "lanes" }, lanes.map(([name, hops]) => lane(name, hops)));
    card.append(summary, traces, grid);
    return card;
  }

  function lane(name, hops) {
    const [state, label] = laneState(hops);
    return el(
      "section",
      { class: `lane ${state}`, "data-lane": name, "data-done": state === "done" ? "true" : null },
      el(
        "header",
        { class: "lane-head" },
        el("h3", { text: name }),
        el("span", { class: `badge ${state}`, text: label }),
        el("span", {
          class: "muted right",
          text: `${hops.length} hop${hops.length === 1 ? "" : "s"} · ${seconds(laneSpan(hops))}`,
        }),
      ),
      el("ol", { class: "hops" }, hops.map(hopBox)),
    );
  }

  function hopBox(hop) {
    const outcome = OUTCOMES.includes(hop.outcome) ? hop.outcome : "unknown";
    const start = hop.restored ? "restored" : "cold"; // snapshot start: from a checkpoint
    const temperature = hop.cold
      ? `${start} ${hop.cold_start_s === undefined ? "" : seconds(hop.cold_start_s)}`.trim()
      : "warm";
    const box = el(
      "li",
      {
        class: `hop ${outcome}`,
        "data-service": hop.service,
        "data-outcome": hop.outcome,
        "data-seq": hop.event_seq,
        "data-span": hop.span_id,
        "data-cold": hop.cold ? "true" : "false",
        "data-model-calls": hop.model_calls,
        tabindex: 0,
        role: "button",
        title: `event ${hop.event_seq} via ${hop.trigger}: click for its data`,
      },
      el(
        "div",
        { class: "hop-head" },
        el("span", { class: "service", text: hop.service }),
        el("span", { class: `outcome ${outcome}`, text: hop.outcome }),
      ),
      el(
        "div",
        { class: "types" },
        el("span", { class: "in", title: hop.event_type, text: shortType(hop.event_type) }),
        hop.reply_type
          ? [" → ", el("span", { class: "reply", title: hop.reply_type, text: shortType(hop.reply_type) })]
          : el("span", { class: "muted", text: " (no reply)" }),
      ),
      el(
        "div",
        { class: "facts" },
        el("span", { class: `temp ${hop.cold ? "cold" : "warm"}`, text: temperature }),
        el("span", { class: "queue", text: `queue ${millis(hop.queue_ms)}` }),
        !hop.cold && hop.wait_ms >= 1 ? el("span", { text: `instance wait ${millis(hop.wait_ms)}` }) : null,
        el("span", { class: "handler", text: `handler ${millis(hop.handler_ms)}` }),
        hop.attempt > 1 ? el("span", { class: "warn", text: `attempt ${hop.attempt}` }) : null,
        outcome !== "delivered" && !hop.error
          ? el("span", { text: hop.status === -1 ? "no answer" : `HTTP ${hop.status}` })
          : null,
      ),
      inside(hop),
      hop.error ? el("div", { class: "error", text: hop.error }) : null,
    );
    box.addEventListener("click", () => select(hop));
    box.addEventListener("keydown", (key) => {
      if (key.key === "Enter" || key.key === " ") {
        key.preventDefault();
        select(hop);
      }
    });
    return box;
  }

  const plural = (n, word) => `${n} ${word}${n === 1 ? "" : "s"}`;

  /** What the function did inside the hop, once its own spans reached the platform:
   * its handler's time, its model calls (time, tokens) and tool calls. */
  function inside(hop) {
    if (hop.model_calls === undefined) return null;
    return el(
      "div",
      { class: "facts inside" },
      el("span", { text: `function ${millis(hop.function_ms)}` }),
      el("span", {
        class: hop.model_calls ? "model" : null,
        text: hop.model_calls
          ? `${plural(hop.model_calls, "model call")} ${millis(hop.model_ms)}`
          : "no model call",
      }),
      hop.model_calls ? el("span", { text: `tokens ${hop.tokens_in} in / ${hop.tokens_out} out` }) : null,
      hop.tool_calls ? el("span", { text: plural(hop.tool_calls, "tool call") }) : null,
    );
  }

  function markSelected() {
    for (const box of document.querySelectorAll(".hop")) {
      box.classList.toggle("selected", box.dataset.span === selected);
    }
  }

  // ---- the clicked hop's event --------------------------------------------------

  async function select(hop) {
    selected = hop.span_id;
    markSelected();
    const asked = ++detailAsked;
    drawDetail(hop, null, "loading the event…");
    let event = null;
    let problem = null;
    try {
      const answer = await fetch(`${BASE}/events/${encodeURIComponent(hop.event_seq)}`, {
        credentials: "same-origin",
        cache: "no-store",
      });
      const body = await answer.json().catch(() => null);
      if (answer.ok) event = body;
      else problem = `HTTP ${answer.status}: ${(body && body.error) || "no event"}`;
    } catch (failure) {
      problem = `no answer from the platform (${failure.message})`;
    }
    if (asked === detailAsked) drawDetail(hop, event, problem);
  }

  /** The data as stored, pretty-printed when it is whole JSON. */
  function shownData(event) {
    const data = event.data === null || event.data === undefined ? "" : String(event.data);
    if (!event.data_truncated) {
      try {
        return JSON.stringify(JSON.parse(data), null, 2);
      } catch {
        // not JSON: shown as it is
      }
    }
    return data;
  }

  function table(rows, className) {
    return el(
      "table",
      { class: className },
      el(
        "tbody",
        {},
        rows.map(([key, value]) => el("tr", {}, el("th", { text: key }), el("td", { text: value }))),
      ),
    );
  }

  function drawDetail(hop, event, message) {
    const detail = $("detail");
    const close = el("button", { type: "button", class: "close", title: "close", text: "×" });
    close.addEventListener("click", () => {
      selected = null;
      detailAsked++;
      markSelected();
      delete detail.dataset.seq;
      detail.replaceChildren(
        el("h2", { text: "Event" }),
        el("p", { class: "empty", text: "Click a hop to see the event it delivered." }),
      );
    });
    const facts = [
      ["service", hop.service],
      ["trigger", hop.trigger],
      ["outcome", `${hop.outcome} (HTTP ${hop.status}, attempt ${hop.attempt})`],
      ["cold start", hop.cold ? `${seconds(hop.cold_start_s || 0)}${hop.restored ? " (restored)" : ""}` : "warm"],
      ["queue / wait / handler", `${millis(hop.queue_ms)} / ${millis(hop.wait_ms)} / ${millis(hop.handler_ms)}`],
      ["reply", hop.reply_type || "none"],
      ["trace", hop.trace_id],
      ["span", `${hop.span_id} (parent ${hop.parent_id || "none"})`],
    ];
    if (hop.model_calls !== undefined) {
      facts.push(
        ["function", millis(hop.function_ms)],
        ["model", `${plural(hop.model_calls, "call")}, ${millis(hop.model_ms)}`],
        ["tokens", `${hop.tokens_in} in / ${hop.tokens_out} out`],
        ["tool calls", String(hop.tool_calls)],
      );
    }
    if (hop.error) facts.push(["error", hop.error]);
    const parts = [
      el("h2", {}, `Event ${hop.event_seq} `, close),
      el("p", { class: "event-type", text: hop.event_type }),
      table(facts, "facts-table"),
    ];
    if (message) parts.push(el("p", { class: event ? "muted" : "problem-inline", text: message }));
    if (event) {
      detail.dataset.seq = String(event.seq);
      const attributes = Object.entries(event.attributes || {}).sort(([a], [b]) => a.localeCompare(b));
      const size = `${event.data_bytes ?? "?"} bytes${event.data_truncated ? ", cut to the first 64 KiB" : ""}`;
      parts.push(
        el("h3", { text: "Attributes" }),
        table(attributes, "attributes"),
        el("h3", {}, "Data ", el("span", { class: "muted", text: size })),
        el("pre", { id: "detail-data", class: "data", text: shownData(event) }),
      );
      if ((event.deliveries || []).length) {
        parts.push(
          el("h3", { text: "Deliveries of this event" }),
          table(
            event.deliveries.map((d) => [
              d.trigger,
              `${d.state}, ${d.attempts} attempt${d.attempts === 1 ? "" : "s"}` +
                (d.last_status ? `, HTTP ${d.last_status}` : "") +
                (d.last_error && d.last_error !== `HTTP ${d.last_status}` ? `: ${d.last_error}` : ""),
            ]),
            "attributes",
          ),
        );
      }
    } else {
      delete detail.dataset.seq;
    }
    detail.replaceChildren(...parts);
  }

  // ---- services -----------------------------------------------------------------

  function drawServices(services) {
    const body = $("services").tBodies[0];
    if (!services.length) {
      body.replaceChildren(el("tr", {}, el("td", { colspan: 8, class: "empty", text: "No Services." })));
      return;
    }
    body.replaceChildren(
      ...services.map((s) => {
        const colds = s.cold_starts_s || [];
        const memory = s.memory_mib || [];
        const limit = s.memory_limit_mib;
        const used = memory.length ? Math.max(...memory) : 0;
        return el(
          "tr",
          { "data-service": s.service },
          el("td", { class: "service", text: s.service }),
          el("td", { class: "muted", text: s.local || "" }),
          el("td", { class: "num", text: s.instances }),
          el("td", { class: `num${s.starting ? " warn" : ""}`, text: s.starting }),
          el("td", { text: s.scale || "" }),
          el(
            "td",
            { title: colds.map((c) => seconds(c)).join(", ") },
            colds.length
              ? `${colds.length} (${colds.length > 3 ? "last: " : ""}` +
                  `${colds.slice(-3).map((c) => c.toFixed(1)).join(", ")} s)`
              : "–",
          ),
          el(
            "td",
            { class: "memory" },
            `${memory.length ? memory.map((m) => m.toFixed(0)).join(", ") : "–"} / ${limit ?? "no limit"}`,
            limit && memory.length ? el("meter", { min: 0, max: limit, value: used, high: limit * 0.8 }) : null,
          ),
          el("td", { class: `num${s.restarts ? " bad" : ""}`, text: s.restarts }),
        );
      }),
    );
  }

  // ---- dead letters -------------------------------------------------------------

  function drawDeadLetters(letters) {
    const box = $("dead-letters");
    if (!letters.length) {
      box.replaceChildren(el("p", { class: "empty", text: "None." }));
      return;
    }
    const head = ["at", "event", "type", "trigger", "destination", "code", "reason", "task"];
    const rows = letters.slice(0, DEAD_LETTERS_SHOWN).map((d) =>
      el(
        "tr",
        { "data-seq": d.event_seq },
        el("td", { text: clock(d.at) }),
        el("td", { class: "num", text: d.event_seq }),
        el("td", { text: d.event_type }),
        el("td", { text: d.trigger }),
        el("td", { class: "muted", text: d.destination }),
        el("td", { class: "num bad", text: d.code === -1 ? "no answer" : d.code }),
        el("td", {}, el("pre", { class: "reason", text: d.reason || "" })),
        el("td", { text: [d.task, d.addressed_to].filter(Boolean).join(" / ") }),
      ),
    );
    const table = el(
      "table",
      { class: "grid", id: "dead-letter-table" },
      el("thead", {}, el("tr", {}, head.map((h) => el("th", { text: h })))),
      el("tbody", {}, rows),
    );
    const older = letters.length - rows.length;
    box.replaceChildren(
      el("div", { class: "scroll" }, table),
      ...(older > 0 ? [el("p", { class: "muted", text: `and ${older} older, not shown` })] : []),
    );
  }

  // ---- bench --------------------------------------------------------------------

  function drawBench(bench) {
    const box = $("bench");
    const plots = bench.plots || [];
    const sections = bench.sections || [];
    if (!bench.source && !plots.length) {
      box.replaceChildren(el("p", { class: "empty", text: "No bench results (bench/results/latest.md)." }));
      return;
    }
    const parts = [];
    if (plots.length) {
      parts.push(
        el(
          "div",
          { class: "plots" },
          plots.map((name) =>
            el(
              "figure",
              {},
              el("img", { src: `${BASE}/plots/${encodeURIComponent(name)}`, alt: name, loading: "lazy" }),
              el("figcaption", { text: name }),
            ),
          ),
        ),
      );
    }
    if (bench.source) parts.push(el("p", { class: "muted", text: `from bench/results/${bench.source}` }));
    for (const s of sections) {
      const body = [];
      let list = null;
      for (const paragraph of s.paragraphs || []) {
        if (/^[-*] /.test(paragraph)) {
          if (!list) body.push((list = el("ul")));
          list.append(el("li", {}, inline(paragraph.slice(2))));
        } else {
          list = null;
          body.push(el("p", {}, inline(paragraph)));
        }
      }
      for (const t of s.tables || []) {
        body.push(
          el(
            "div",
            { class: "scroll" },
            el(
              "table",
              { class: "grid bench-table" },
              el("thead", {}, el("tr", {}, (t.header || []).map((h) => el("th", {}, inline(h))))),
              el(
                "tbody",
                {},
                (t.rows || []).map((row) => el("tr", {}, row.map((cell) => el("td", {}, inline(cell))))),
              ),
            ),
          ),
        );
      }
      parts.push(el("div", { class: "bench-section" }, s.heading ? el("h3", {}, inline(s.heading)) : null, body));
    }
    box.replaceChildren(...parts);
  }

  poll();
})();

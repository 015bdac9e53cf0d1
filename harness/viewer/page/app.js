// The viewer's page: runs, curves, records, one record's workers and views, and live passes.
// Everything the runs hold (problems, model text, answers) is untrusted: it is put in the page with
// textContent only, never as HTML.

const $ = (id) => document.getElementById(id);
const PAGE = 2000; // records listed at a time
const state = {
  runs: [],
  run: 0,
  // the rows listed (the filtered records' first `listed`, as the server sent them), and of how many
  records: [],
  total: 0,
  matched: 0,
  live: new Map(),
  listed: PAGE,
  measuring: 0,
};

/** An element with text (never HTML) and classes. */
function el(tag, text, cls) {
  const e = document.createElement(tag);
  if (text !== undefined && text !== null) e.textContent = String(text);
  if (cls) e.className = cls;
  return e;
}

async function api(path) {
  const r = await fetch(path);
  // the server's own words (which file and line is damaged), not only its status
  if (!r.ok) throw new Error(`${path}: ${r.status} ${(await r.text()).trim()}`);
  return r.json();
}

function params() {
  return new URLSearchParams(location.hash.slice(1));
}

function go(p) {
  location.hash = new URLSearchParams(p).toString();
}

function show(section) {
  for (const id of ["curves", "records", "record", "live"]) $(id).hidden = id !== section;
  for (const id of ["curves", "records", "live"]) {
    $(`tab-${id}`).classList.toggle("active", id === section || (section === "record" && id === "records"));
  }
}

// ---------- runs ----------

async function loadRuns() {
  state.runs = await api("/api/runs");
  const select = $("run-select");
  select.replaceChildren(...state.runs.map((r) => {
    const o = el(
      "option",
      r.error
        ? `${r.name} (cannot be read)`
        : r.waiting
        ? `${r.name} (waiting for the run)`
        : `${r.name} (${r.records} records)`,
    );
    o.value = String(r.id);
    return o;
  }));
  select.value = String(state.run);
  for (const tab of ["curves", "records", "live"]) $(`tab-${tab}`).href = `#run=${state.run}&tab=${tab}`;
  const r = state.runs[state.run];
  $("run-info").textContent = r?.error
    ? `This run folder cannot be read: ${r.error}`
    : r?.waiting
    ? "waiting for the run: the bench makes its folder once its model is loaded"
    : r
    ? `${r.model ?? "?"} on ${r.device ?? "?"}${r.gpu ? ` (${r.gpu})` : ""}: ${r.tasks.join(", ")}; ${
      r.methods.join(", ")
    }${r.note ? ` (its traces are not shown: ${r.note})` : ""}`
    : "";
}

// ---------- curves ----------

function tooltip(_handler, event, _item, value) {
  const tip = $("tooltip");
  if (!value || typeof value !== "object") {
    tip.hidden = true;
    return;
  }
  const table = el("table");
  for (const [k, v] of Object.entries(value)) {
    const tr = el("tr");
    tr.append(el("td", k), el("td", v));
    table.append(tr);
  }
  tip.replaceChildren(table);
  tip.hidden = false;
  tip.style.left = `${event.clientX + 12}px`;
  tip.style.top = `${event.clientY + 12}px`;
}

async function drawChart(spec, target) {
  const compiled = vegaLite.compile(spec).spec;
  const view = new vega.View(vega.parse(compiled), { renderer: "svg", container: target, hover: true });
  view.tooltip(tooltip);
  await view.runAsync();
}

async function showCurves() {
  show("curves");
  const specs = await api(`/api/runs/${state.run}/curves`);
  $("curves-empty").hidden = !!specs;
  for (const id of ["chart-steps", "chart-time"]) {
    // a redraw keeps the chart's height meanwhile, so that the page does not scroll back up under the reader
    $(id).style.minHeight = `${$(id).offsetHeight}px`;
    $(id).replaceChildren();
  }
  if (specs) {
    await drawChart(specs.steps, $("chart-steps"));
    await drawChart(specs.time, $("chart-time"));
  }
  for (const id of ["chart-steps", "chart-time"]) $(id).style.minHeight = "";
}

// ---------- records ----------

function fillSelect(select, values) {
  const current = select.value;
  select.replaceChildren(el("option", "all"), ...values.map((v) => el("option", v)));
  select.options[0].value = "";
  select.value = values.includes(current) ? current : "";
}

// The server filters the records and sends the rows listed, PAGE at a time (a run of 130,000 records is never sent
// whole); a window's measures (overlap, who answered) come a second's worth a call: it is asked again until all are
// in. `listing` marks the latest list asked for: an older one still coming is dropped.
let listing = 0;

/** The Records tab's filters as the server reads them. */
function filters() {
  const q = new URLSearchParams();
  for (const [name, id] of [["method", "f-method"], ["task", "f-task"], ["verdict", "f-verdict"]]) {
    if ($(id).value) q.set(name, $(id).value);
  }
  if ($("f-disagree").checked) q.set("disagree", "1");
  return q;
}

async function showRecords() {
  show("records");
  const mine = ++listing, hash = location.hash;
  document.body.dataset.listing = "1";
  const stale = () => mine !== listing || location.hash !== hash; // another list or page asked for since
  // the rows listed before stay in place until their window comes again (a run followed keeps the page still)
  const before = state.records, rows = [];
  try {
    for (let offset = 0; offset === 0 || (offset < state.listed && offset < state.matched); offset += PAGE) {
      let list;
      do {
        const q = filters();
        q.set("offset", String(offset)), q.set("limit", String(Math.min(PAGE, state.listed - offset)));
        list = await api(`/api/runs/${state.run}/records?${q}`);
        if (stale()) return;
        rows.splice(offset, rows.length - offset, ...list.records);
        state.records = rows.concat(before.slice(rows.length, Math.min(state.listed, list.matched)));
        state.total = list.total, state.matched = list.matched, state.measuring = list.measuring;
        fillSelect($("f-method"), list.methods);
        fillSelect($("f-task"), list.tasks);
        renderRecords();
      } while (list.measuring > 0);
    }
    state.records = rows;
    renderRecords();
  } finally {
    if (mine === listing) delete document.body.dataset.listing;
  }
}

/**
 * A verdict: ✓ only for a whole answer right; where grading is by parts or lists ("parts", "list") the score
 * beside it, the fraction right that the curves average (a ✗ may be 3 parts of 4).
 */
function verdictText(grading, right, score) {
  const mark = right ? "✓" : "✗";
  return grading === "parts" || grading === "list" ? `${mark} ${+score.toFixed(2)}` : mark;
}

function renderRecords() {
  // listed a page at a time (a table of every record of a large run would stall the page), and said so
  const listed = state.records.length;
  $("record-count").textContent = `${state.matched} of ${state.total} records` +
    (listed < state.matched ? `; the first ${listed} listed` : "") +
    (state.measuring ? `; measuring the traces (${state.measuring} left)…` : "");
  $("more-records").hidden = listed >= state.matched;
  const rows = state.records.map((r) => {
    const tr = el("tr", undefined, "record-row");
    tr.dataset.key = r.key;
    tr.append(
      el("td", r.task),
      el("td", r.problem_id),
      el("td", r.method),
      el("td", r.seed),
      el("td", r.answer ?? "—"),
      el("td", verdictText(r.grading, r.correct, r.score), r.correct ? "ok" : "bad"),
      el("td", r.passes),
      el("td", r.steps),
      el("td", r.measuring ? "…" : r.overlap === null ? "" : r.overlap.toFixed(2)),
      el("td", r.measuring ? "…" : r.answer_by ?? ""),
    );
    tr.addEventListener("click", () => go({ run: state.run, record: r.key }));
    return tr;
  });
  $("record-table").tBodies[0].replaceChildren(...rows);
}

for (const id of ["f-method", "f-task", "f-verdict", "f-disagree"]) {
  $(id).addEventListener("change", () => (state.listed = PAGE, showRecords().catch(report)));
}
$("more-records").addEventListener("click", () => (state.listed += PAGE, showRecords().catch(report)));

// ---------- one record ----------

/** Text with the protocol's redundancy checks marked. */
function marked(text, check) {
  const pre = el("pre");
  if (!check) {
    pre.textContent = text;
    return pre;
  }
  const parts = text.split(check);
  parts.forEach((part, i) => {
    pre.append(document.createTextNode(part));
    if (i < parts.length - 1) pre.append(el("span", check, "check"));
  });
  return pre;
}

let current = null;

async function showRecord(key) {
  show("record");
  const t0 = performance.now();
  const data = await api(`/api/runs/${state.run}/record?key=${encodeURIComponent(key)}`);
  current = { key, data };
  const { record, trace, measures } = data;
  const head = record ?? trace;
  $("record-title").textContent = `${head.task} · ${head.problem_id} · ${head.method} · seed ${head.seed}`;
  $("problem").textContent = trace?.problem ??
    (data.trace_none
      ? `(the run's traces are not read: ${data.trace_none})`
      : !trace
      ? "(this record has no trace)"
      : "(this trace was written before problems were recorded)");
  // A code problem has no gold: its tests decide, and each checkpoint's verdict says how its program fared.
  $("gold").textContent = !record
    ? ""
    : record.grading === "code"
    ? `${record.tests} tests (a program passes when it passes them all)`
    : record.golds.join("  |  ");
  const names = trace?.names ?? (trace?.workers ?? []).map((_, i) => `worker ${i + 1}`);
  const dl = $("measures");
  dl.replaceChildren();
  const row = (k, v) => dl.append(el("dt", k), el("dd", v));
  // a trace whose writers' own words cannot be told apart has none: the server says why (measures.ts)
  if (trace && !measures) row("measures", `none: ${data.measures_none}`);
  if (measures) {
    row("text overlap (4-grams)", measures.overlap.toFixed(3));
    row("mentions of others", names.map((n, i) => `${n} ${measures.mentions[i]}`).join(", "));
    row("steps", names.map((n, i) => `${n} ${measures.steps[i]}`).join(", "));
    // null: no answer, a vote (no one writer's), or an older record of a family whose texts the viewer cannot replay
    const end = record?.checkpoints.at(-1)?.source;
    row("answer by", measures.answer_by ?? (end === "none" || !end ? "no answer" : "no one writer (or not recorded)"));
  }
  $("checkpoints").tBodies[0].replaceChildren(...(record?.checkpoints ?? []).map((c, i) => {
    const tr = el("tr", undefined, "checkpoint-row");
    tr.append(
      el("td", c.budget),
      el("td", c.passes),
      el("td", c.answer ?? "—"),
      el("td", c.source),
      el("td", c.verdict ?? verdictText(record.grading, c.equal_strict, c.score_strict), c.equal_strict ? "ok" : "bad"),
      el("td", verdictText(record.grading, c.equal_lenient, c.score_lenient), c.equal_lenient ? "ok" : "bad"),
      el("td", data.solo_times[i]),
    );
    return tr;
  }));
  renderColumns(trace, names, data.redundancy_check);
  const slider = $("pass-slider");
  slider.max = String(Math.max(1, data.passes));
  slider.value = String(Math.max(1, data.passes));
  await renderViews();
  document.body.dataset.recordMs = String(performance.now() - t0);
}

function renderColumns(trace, names, check) {
  const cols = $("columns");
  cols.replaceChildren();
  if (!trace) return;
  cols.style.gridTemplateColumns = `4em repeat(${names.length}, minmax(0, 1fr))`;
  cols.append(el("div", "pass", "meta"), ...names.map((n, i) => el("h4", n, `worker-col w${i % 8}`)));
  // one row per finished step, in the order the steps ended; then each writer's unfinished text
  const steps = [...trace.steps].sort((a, b) => a.pass - b.pass || a.worker - b.worker);
  const written = names.map(() => 0);
  for (const s of steps) {
    cols.append(el("div", s.pass, "meta"));
    names.forEach((_, w) => {
      const cell = el("div", undefined, "worker-col");
      if (w === s.worker) {
        // text the harness wrote into the worker's sequence (a trigger, peers' text read) is marked as not its own
        const box = el("div", undefined, s.inserted ? "step-cell inserted" : "step-cell");
        const label = `step ${s.step}${s.inserted ? " · inserted by the harness" : ""} · ended at pass ${s.pass}`;
        box.append(el("div", label, "meta"), marked(s.text, check));
        cell.append(box);
        written[w] += s.text.length;
      }
      cols.append(cell);
    });
  }
  cols.append(el("div", "now", "meta"));
  names.forEach((_, w) => {
    const cell = el("div", undefined, "worker-col");
    const text = trace.workers[w] ?? "";
    const rest = written[w] <= text.length ? text.slice(written[w]) : text;
    if (rest) {
      const box = el("div", undefined, "step-cell unfinished");
      box.append(el("div", "unfinished (or the whole text, without steps)", "meta"), marked(rest, check));
      cell.append(box);
    }
    cols.append(cell);
  });
}

async function renderViews() {
  if (!current) return;
  const pass = Number($("pass-slider").value);
  $("pass-label").textContent = String(pass);
  const views = await api(`/api/runs/${state.run}/views?key=${encodeURIComponent(current.key)}&pass=${pass}`);
  const box = $("views");
  if (!views) {
    box.replaceChildren(el("p", "This method has no worker views to show (no workers over a layout)."));
    return;
  }
  const names = current.data.trace?.names ?? views.map((_, i) => `worker ${i + 1}`);
  box.replaceChildren(...views.map((blocks, w) => {
    const row = el("div", undefined, "view-row");
    row.append(el("span", names[w], "who"));
    for (const b of blocks) {
      const label = b.kind === "steps"
        ? `${b.label} ${b.steps[0] === b.steps[1] ? `#${b.steps[0]}` : `#${b.steps[0]}–${b.steps[1]}`}`
        : b.label;
      const cls = `view-block ${b.kind}${b.writing ? " writing" : ""}${b.kind === "steps" ? ` w${b.worker % 8}` : ""}`;
      row.append(el("span", label, cls));
    }
    return row;
  }));
}

let sliding;
$("pass-slider").addEventListener("input", () => {
  $("pass-label").textContent = $("pass-slider").value;
  clearTimeout(sliding);
  sliding = setTimeout(() => renderViews().catch(report), 60);
});

// ---------- live ----------

function liveRun(e) {
  let run = state.live.get(e.key);
  if (!run) {
    const box = el("div", undefined, "live-run");
    box.dataset.key = e.key;
    const title = el("div");
    const pass = el("span", "pass 0", "pass");
    title.append(
      el("strong", `${e.task ?? ""} · ${e.problem_id ?? ""} · ${e.method ?? ""} · seed ${e.seed ?? ""}  `),
      pass,
    );
    const cols = el("div", undefined, "cols");
    box.append(title, cols);
    $("live-runs").prepend(box);
    run = { box, pass, cols, pres: [] };
    state.live.set(e.key, run);
  }
  return run;
}

function onLive(e) {
  $("live-status").textContent = "Runs in progress (newest first):";
  if (e.type === "done") {
    const run = state.live.get(e.key);
    if (run) run.box.classList.add("done"), run.pass.textContent += " · done";
    return;
  }
  if (e.type === "start") {
    const old = state.live.get(e.key);
    if (old) old.box.remove(), state.live.delete(e.key);
  }
  const run = liveRun(e);
  const names = e.names ?? [];
  while (run.pres.length < Math.max(names.length, (e.append ?? []).length)) {
    const i = run.pres.length, col = el("div", undefined, "live-col");
    const pre = el("pre");
    col.append(el("h4", names[i] ?? `writer ${i + 1}`, `w${i % 8}`), pre);
    run.cols.append(col);
    run.pres.push(pre);
  }
  run.cols.style.gridTemplateColumns = `repeat(${run.pres.length}, minmax(0, 1fr))`;
  if (e.type === "pass") {
    (e.append ?? []).forEach((text, i) => {
      if (e.reset) run.pres[i].textContent = "";
      run.pres[i].append(document.createTextNode(text));
      run.pres[i].scrollTop = run.pres[i].scrollHeight;
    });
    run.pass.textContent = `pass ${e.pass}`;
    run.box.dataset.pass = String(e.pass);
  }
}

const events = new EventSource("/api/live");
events.onmessage = (m) => onLive(JSON.parse(m.data));
// The feed lost (the bench or the viewer stopped): said, not left looking live. It reconnects by itself, and
// the server then sends every run still in flight: the boxes of runs not finished are dropped for that.
events.onerror = () => {
  $("live-status").textContent = "The live feed is lost (the bench stopped?); what is below may be stale.";
  $("live-status").classList.add("bad");
};
events.onopen = () => {
  $("live-status").classList.remove("bad");
  for (const [key, run] of state.live) {
    if (!run.box.classList.contains("done")) run.box.remove(), state.live.delete(key);
  }
  if (![...state.live.values()].length) $("live-status").textContent = "Waiting for a run in progress…";
};

// ---------- a run being written ----------

// The Curves or Records tab of a run that may still change follows it: one with fewer records than its run.json
// plans (a bench writing it), one bench --view waits for (its folder not made yet), or one that cannot be read (a
// file being mended, copied, or half there). Every few seconds the run list is asked again (the server reads only
// what was appended), and the tab is drawn again when the run's record count or state changed, its filters,
// listed rows and place on the page kept.
const FOLLOW_MS = 2000;
let following = false;

/** What follow() compares: a change of any is a page to draw again. */
const runState = (r) => JSON.stringify([r?.records, r?.error ?? null, r?.waiting ?? false]);

async function follow() {
  const r = state.runs[state.run], p = params(), tab = p.get("tab") ?? "curves", hash = location.hash;
  const changing = r && (r.error || r.waiting || r.planned > r.records);
  if (following || document.hidden || !changing || p.get("record")) return;
  if (tab !== "curves" && tab !== "records") return;
  following = true;
  try {
    const runs = await api("/api/runs");
    // the page drawn again as a hash change draws it, only where the run changed and the same page is still shown
    if (runState(runs[state.run]) !== runState(r) && location.hash === hash) await route();
  } finally {
    following = false;
  }
}
setInterval(() => follow().catch(report), FOLLOW_MS);

// ---------- routing ----------

async function route() {
  const p = params();
  const run = Number(p.get("run") ?? state.run);
  if (Number.isInteger(run) && run >= 0 && run !== state.run) state.run = run;
  await loadRuns();
  const tab = p.get("tab");
  if (p.get("record")) await showRecord(p.get("record"));
  else if (tab === "records") await showRecords();
  else if (tab === "live") show("live");
  else await showCurves();
  $("error").hidden = true;
  document.body.dataset.ready = "1";
}

$("run-select").addEventListener("change", (e) => go({ run: e.target.value, tab: params().get("tab") ?? "curves" }));
globalThis.addEventListener("hashchange", () => route().catch(report));

function report(e) {
  document.body.dataset.error = String(e);
  $("error").textContent = `The viewer could not show this: ${e.message ?? e}`;
  $("error").hidden = false;
  console.error(e);
}

route().catch(report);

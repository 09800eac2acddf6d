/**
 * The status page served at `/` by an HTTP listener: one HTML document with its styles and
 * scripts inline, no external requests. In the browser it polls `api/v1/stats` and
 * `api/v1/clients` (relative to the page, so it also works behind a proxy under a path) every
 * second and shows headline figures, two live charts drawn as inline SVG (messages per second
 * in and out, and connected clients, over the last two minutes), the bridges and a filterable
 * table of clients.
 *
 * Hooks that tests rely on: `#status` ("live" or the error), `#stat-connected`,
 * `#stat-subscriptions`, `#stat-retained`, `#stat-rate-in`, `#stat-rate-out`,
 * `#stat-listeners` (each MQTT listener and its transport), `#rate-chart`
 * (`data-samples`, `data-last-in`, `data-last-out`), `#connections-chart` (`data-samples`,
 * `data-last-connected`), `#clients` (rows `tr[data-client-id]`) and `#bridges` (rows
 * `tr[data-bridge]`, in `#bridges-card`, hidden while the broker has no bridges).
 *
 * The page builds client-provided text (client ids, usernames, addresses) and bridge names into
 * the tables through `esc()` only. Scripts and styles are inline, so a Content-Security-Policy header for this page
 * must allow them (`statusPageSecurityPolicy()` gives one that allows exactly these).
 *
 * @module
 */

import { createHash } from "node:crypto";
import { PAGE_HELPERS } from "./status_page_helpers.ts";

/** Seconds of history the charts show (one sample per second). */
const WINDOW_SECONDS = 120;

// The page's behaviour: polling, state, drawing. Uses PAGE_HELPERS.
const APP = `"use strict";
(function () {
  var POLL_MS = 1000, TIMEOUT_MS = 4000, SLOTS = ${WINDOW_SECONDS}, MAX_ROWS = 500;
  function $(id) { return document.getElementById(id); }
  var samples = [];   // { in, out, connected, offline }, oldest first, at most SLOTS
  var prev;           // the previous stats reading: { at, serverAt, uptime, publishIn, ... }
  var clients = [], total, truncated = false, lastRows = "", lastBridgeRows = "";
  var filterBox = $("filter");

  function setText(id, text) { var e = $(id); if (e && e.textContent !== text) e.textContent = text; }

  // A page opened with a user and password in its URL: fetch() refuses a URL that carries
  // them, the page's own or one resolved against it. So the API's URL is built from the
  // origin, which never holds them, and the page's folder; the browser sends the credentials
  // it logged in with to the same origin itself.
  function apiAddress(path) {
    return location.origin + location.pathname.replace(/[^/]*$/, "") + path;
  }

  function getJson(path) {
    var ctl = new AbortController();
    var timer = setTimeout(function () { ctl.abort(); }, TIMEOUT_MS);
    return fetch(apiAddress(path), { signal: ctl.signal, cache: "no-store", headers: { accept: "application/json" } })
      .then(function (res) {
        if (!res.ok) throw new Error("HTTP " + res.status);
        return res.json();
      })
      .finally(function () { clearTimeout(timer); });
  }

  function applyStats(s) {
    var now = performance.now(), serverAt = serverMillis(pick(s, "time"));
    var reading = {
      at: now, serverAt: serverAt, uptime: num(pick(s, "uptimeSeconds")),
      publishIn: num(pick(s, "publish", "received")), publishOut: num(pick(s, "publish", "sent")),
      bytesIn: num(pick(s, "bytes", "received")), bytesOut: num(pick(s, "bytes", "sent")),
    };
    var connected = num(pick(s, "clients", "connected"));
    var offline = num(pick(s, "clients", "disconnected"));
    var rin, rout, bin, bout;
    // A broker that restarted since the last reading: its counters began again, no rate yet.
    if (prev && reading.uptime !== undefined && prev.uptime !== undefined && reading.uptime < prev.uptime) {
      prev = undefined;
    }
    if (prev) {
      var secs = prev.serverAt !== undefined && serverAt !== undefined
        ? (serverAt - prev.serverAt) / 1000 : (now - prev.at) / 1000;
      rin = rate(prev.publishIn, reading.publishIn, secs);
      rout = rate(prev.publishOut, reading.publishOut, secs);
      bin = rate(prev.bytesIn, reading.bytesIn, secs);
      bout = rate(prev.bytesOut, reading.bytesOut, secs);
      samples.push({ in: rin, out: rout, connected: connected, offline: offline });
      if (samples.length > SLOTS) samples.splice(0, samples.length - SLOTS);
    }
    prev = reading;

    setText("stat-connected", fmtCount(connected));
    setText("stat-subscriptions", fmtCount(num(pick(s, "subscriptions"))));
    var shared = num(pick(s, "sharedSubscriptions"));
    setText("sub-subscriptions", shared ? fmtCount(shared) + " shared" : "");
    setText("stat-retained", fmtCount(num(pick(s, "retained"))));
    setText("stat-rate-in", fmtRate(rin));
    setText("stat-rate-out", fmtRate(rout));
    setText("stat-uptime", fmtDuration(num(pick(s, "uptimeSeconds"))));
    var version = pick(s, "version");
    setText("version", typeof version === "string" ? "version " + version : "");
    var p = pick(s, "persistence", "enabled");
    setText("stat-persistence", p === true ? "on" : p === false ? "off" : "\\u2013");
    setText("stat-offline", fmtCount(offline));
    setText("stat-maximum", fmtCount(num(pick(s, "clients", "maximum"))));
    setText("stat-dropped", fmtCount(num(pick(s, "publish", "dropped"))));
    setText("stat-bytes", bin === undefined && bout === undefined ? "\\u2013"
      : fmtBytes(bin) + "/s in, " + fmtBytes(bout) + "/s out");
    var stored = num(pick(s, "store", "messages"));
    setText("stat-store", stored === undefined ? "\\u2013"
      : fmtCount(stored) + " messages, " + fmtBytes(num(pick(s, "store", "bytes"))));
    setText("stat-heap", fmtBytes(num(pick(s, "heap", "current"))));
    setText("stat-listeners", fmtListeners(pick(s, "listeners")));
    applyBridges(pick(s, "bridges"));
    draw();
  }

  // The bridges' table, shown only when the broker has bridges.
  function applyBridges(list) {
    var bridges = (Array.isArray(list) ? list : []).filter(function (b) { return b && typeof b === "object"; });
    $("bridges-card").hidden = bridges.length === 0;
    var now = new Date();
    var rows = bridges.map(function (b) { return bridgeRow(b, now); }).join("");
    if (rows !== lastBridgeRows) { $("bridges").tBodies[0].innerHTML = rows; lastBridgeRows = rows; }
  }

  function drawChart(svg, keys, whole, describe) {
    var w = Math.round(svg.getBoundingClientRect().width) || 600;
    var h = Math.round(svg.getBoundingClientRect().height) || 180;
    var g = { left: 44, top: 10, width: Math.max(w - 52, 10), height: Math.max(h - 32, 10), slots: SLOTS };
    var top = 0;
    samples.forEach(function (s) { keys.forEach(function (k) { if (num(s[k]) > top) top = s[k]; }); });
    g.max = chartMax(top, whole);
    svg.setAttribute("viewBox", "0 0 " + w + " " + h);
    var grid = svg.querySelectorAll(".grid line"), labels = svg.querySelectorAll(".grid .y");
    for (var i = 0; i < grid.length; i++) {
      var y = (g.top + g.height * i / (grid.length - 1)).toFixed(1);
      grid[i].setAttribute("x1", g.left); grid[i].setAttribute("x2", g.left + g.width);
      grid[i].setAttribute("y1", y); grid[i].setAttribute("y2", y);
      labels[i].setAttribute("x", g.left - 6); labels[i].setAttribute("y", y);
      labels[i].textContent = fmtRate(g.max * (1 - i / (grid.length - 1)));
    }
    var xs = svg.querySelectorAll(".grid .x");
    for (var j = 0; j < xs.length; j++) {
      xs[j].setAttribute("x", g.left + g.width * j / (xs.length - 1));
      xs[j].setAttribute("y", h - 4);
    }
    keys.forEach(function (k) {
      var paths = chartPaths(samples.map(function (s) { return s[k]; }), g);
      var line = svg.querySelector(".line." + k), area = svg.querySelector(".area." + k);
      if (line) line.setAttribute("d", paths.line || "M0,0");
      if (area) area.setAttribute("d", paths.area || "M0,0");
      var last = samples.length ? num(samples[samples.length - 1][k]) : undefined;
      svg.setAttribute("data-last-" + k, last === undefined ? "" : String(last));
    });
    svg.setAttribute("data-samples", String(samples.length));
    svg.setAttribute("aria-label", describe(samples[samples.length - 1] || {}));
  }

  function draw() {
    drawChart($("rate-chart"), ["in", "out"], false, function (s) {
      return "Messages per second over the last 2 minutes; now " + fmtRate(s.in) + " in, " +
        fmtRate(s.out) + " out.";
    });
    drawChart($("connections-chart"), ["connected", "offline"], true, function (s) {
      return "Clients over the last 2 minutes; now " + fmtCount(s.connected) + " connected, " +
        fmtCount(s.offline) + " offline sessions.";
    });
  }

  function renderClients() {
    var filter = filterBox.value.trim();
    var shown = clients.filter(function (c) { return c && typeof c === "object" && clientMatches(c, filter); });
    shown.sort(function (a, b) {
      if ((a.connected === true) !== (b.connected === true)) return a.connected === true ? -1 : 1;
      var x = String(a.clientId), y = String(b.clientId);
      return x < y ? -1 : x > y ? 1 : 0;
    });
    var now = new Date();
    var rows = shown.slice(0, MAX_ROWS).map(function (c) { return clientRow(c, now); }).join("");
    if (shown.length === 0) {
      rows = "<tr class=empty><td colspan=9>" + (clients.length ? "No client matches the filter." : "No clients.") + "</td></tr>";
    }
    if (rows !== lastRows) { $("clients").tBodies[0].innerHTML = rows; lastRows = rows; }
    var note = fmtCount(shown.length) + " of " + fmtCount(total === undefined ? clients.length : total) +
      " clients";
    if (truncated) note += " (the broker lists the first " + fmtCount(clients.length) + ")";
    if (shown.length > MAX_ROWS) note += "; " + MAX_ROWS + " shown: narrow the filter";
    setText("clients-note", note);
  }

  function applyClients(body) {
    var list = pick(body, "clients");
    clients = Array.isArray(list) ? list : [];
    total = num(pick(body, "total"));
    truncated = pick(body, "truncated") === true;
    renderClients();
  }

  function setStatus(error) {
    var el = $("status");
    el.setAttribute("data-state", error ? "error" : "live");
    document.body.classList.toggle("stale", Boolean(error));
    setText("status", error ? "disconnected, retrying (" + error + ")" : "live");
  }

  function poll() {
    var started = performance.now();
    Promise.allSettled([getJson("api/v1/stats"), getJson("api/v1/clients")]).then(function (r) {
      var problem;
      try {
        if (r[0].status === "fulfilled") applyStats(r[0].value);
        else problem = "stats: " + (r[0].reason && r[0].reason.message || "failed");
        if (r[1].status === "fulfilled") applyClients(r[1].value);
        else problem = problem || "clients: " + (r[1].reason && r[1].reason.message || "failed");
      } catch (e) {
        problem = "page error: " + (e && e.message || e);
      }
      setStatus(problem);
    }).finally(function () {
      // Keep a steady beat: the next poll a second after this one began, not after it ended.
      setTimeout(poll, Math.max(100, POLL_MS - (performance.now() - started)));
    });
  }

  filterBox.addEventListener("input", renderClients);
  window.addEventListener("resize", draw);
  draw();
  poll();
})();
`;

const STYLE = `
:root {
  color-scheme: light dark;
  --bg: #f5f6f8; --card: #ffffff; --text: #1b1f24; --muted: #555e68; --line: #d5dbe1;
  --grid: #e6e9ed; --in: #0a62c9; --out: #b34700; --ok: #17783a; --err: #c0202d;
  --badge-on: #dff3e4; --badge-off: #eceff2;
}
@media (prefers-color-scheme: dark) {
  :root {
    --bg: #0e1116; --card: #171b22; --text: #e6ebf1; --muted: #9aa3ad; --line: #30363e;
    --grid: #262c34; --in: #5aa2ff; --out: #f5964d; --ok: #46c36a; --err: #ff6b6b;
    --badge-on: #173a24; --badge-off: #262c34;
  }
}
* { box-sizing: border-box; }
html { -webkit-text-size-adjust: 100%; }
body {
  margin: 0; background: var(--bg); color: var(--text);
  font: 15px/1.4 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif;
}
main { max-width: 1120px; margin: 0 auto; padding: 12px; }
header { display: flex; flex-wrap: wrap; align-items: baseline; gap: 4px 12px; margin: 4px 0 12px; }
h1 { font-size: 1.4rem; margin: 0; }
h2 { font-size: 1rem; margin: 0 0 8px; }
#version { color: var(--muted); }
#status {
  margin: 0 0 0 auto; padding: 2px 10px; border-radius: 999px; font-size: .85rem;
  border: 1px solid var(--line); background: var(--card); overflow-wrap: anywhere;
}
#status::before { content: "\\25CF"; margin-right: 6px; color: var(--muted); }
#status[data-state="live"]::before { color: var(--ok); }
#status[data-state="error"] { color: var(--err); border-color: var(--err); }
#status[data-state="error"]::before { color: var(--err); }
.stale .stats dd, .stale .chart { opacity: .55; }
.card { background: var(--card); border: 1px solid var(--line); border-radius: 10px; padding: 12px; min-width: 0; }
.stats { display: grid; grid-template-columns: repeat(auto-fit, minmax(130px, 1fr)); gap: 8px; margin: 0 0 12px; }
.stats > div { background: var(--card); border: 1px solid var(--line); border-radius: 10px; padding: 10px 12px; min-width: 0; }
.stats dt { color: var(--muted); font-size: .8rem; }
.stats dd { margin: 2px 0 0; font-size: 1.5rem; font-weight: 600; font-variant-numeric: tabular-nums; overflow-wrap: anywhere; }
.stats dd small { display: block; font-size: .75rem; font-weight: 400; color: var(--muted); }
.charts { display: grid; grid-template-columns: repeat(auto-fit, minmax(min(100%, 420px), 1fr)); gap: 12px; margin-bottom: 12px; }
.chart { display: block; width: 100%; height: 180px; }
@media (max-width: 480px) { .chart { height: 150px; } .stats dd { font-size: 1.3rem; } }
.chart .grid line { stroke: var(--grid); stroke-width: 1; }
.chart text { fill: var(--muted); font-size: 11px; }
.chart .y { text-anchor: end; dominant-baseline: middle; }
.chart .x.mid { text-anchor: middle; }
.chart .x.end { text-anchor: end; }
.chart .line { fill: none; stroke-width: 2; stroke-linejoin: round; }
.chart .line.out, .chart .line.offline { stroke-dasharray: 6 3; }
.chart .in, .key.in::before { stroke: var(--in); border-color: var(--in); }
.chart .out, .key.out::before { stroke: var(--out); border-color: var(--out); }
.chart .connected, .key.connected::before { stroke: var(--in); border-color: var(--in); }
.chart .offline, .key.offline::before { stroke: var(--muted); border-color: var(--muted); }
.chart .area { stroke: none; fill: var(--in); opacity: .12; }
.keys { display: flex; flex-wrap: wrap; gap: 4px 14px; margin: -4px 0 4px; font-size: .85rem; color: var(--muted); }
.key::before { content: ""; display: inline-block; width: 14px; height: 0; margin-right: 6px; vertical-align: middle; border-top: 3px solid; }
.key.out::before, .key.offline::before { border-top-style: dashed; }
.more { display: grid; grid-template-columns: repeat(auto-fit, minmax(220px, 1fr)); gap: 4px 16px; margin: 0 0 12px; font-size: .9rem; }
.more div { display: flex; justify-content: space-between; gap: 8px; border-bottom: 1px solid var(--line); padding: 4px 0; min-width: 0; }
.more dt { color: var(--muted); }
.more dd { margin: 0; text-align: right; overflow-wrap: anywhere; font-variant-numeric: tabular-nums; }
.toolbar { display: flex; flex-wrap: wrap; align-items: center; gap: 6px 12px; margin-bottom: 8px; }
.toolbar label { font-weight: 600; }
#filter {
  flex: 1 1 180px; min-width: 0; max-width: 360px; font: inherit; padding: 6px 10px; color: var(--text);
  background: var(--bg); border: 1px solid var(--line); border-radius: 6px;
}
#filter:focus-visible { outline: 2px solid var(--in); outline-offset: 1px; }
#clients-note { color: var(--muted); font-size: .85rem; }
.table-box { overflow: auto; max-height: 70vh; border: 1px solid var(--line); border-radius: 6px; }
table { border-collapse: collapse; width: 100%; font-size: .9rem; }
th, td { padding: 6px 10px; text-align: left; white-space: nowrap; border-bottom: 1px solid var(--line); }
thead th { position: sticky; top: 0; background: var(--card); color: var(--muted); font-weight: 600; z-index: 1; }
tbody th { font-weight: 600; max-width: 28ch; overflow: hidden; text-overflow: ellipsis; }
tbody th, thead th:first-child { position: sticky; left: 0; background: var(--card); }
thead th:first-child { z-index: 2; }
td.n { text-align: right; font-variant-numeric: tabular-nums; }
tr.empty td { color: var(--muted); text-align: center; }
.badge { padding: 1px 8px; border-radius: 999px; font-size: .8rem; background: var(--badge-off); }
.badge.on { background: var(--badge-on); color: var(--ok); }
#bridges-card { margin-bottom: 12px; }
footer { color: var(--muted); font-size: .8rem; margin: 12px 0; }
footer a { color: inherit; }
`;

function chart(id: string, label: string, keys: string[]): string {
  const lines = [0, 1, 2].map(() => "<line></line>").join("");
  const ys = [0, 1, 2].map(() => `<text class="y"></text>`).join("");
  const xs = `<text class="x">2 min ago</text><text class="x mid">1 min</text>` +
    `<text class="x end">now</text>`;
  const paths = keys.map((k, i) =>
    (i === 0 ? `<path class="area ${k}"></path>` : "") + `<path class="line ${k}"></path>`
  ).join("");
  return `<svg id="${id}" class="chart" role="img" aria-label="${label}" data-samples="0"` +
    keys.map((k) => ` data-last-${k}=""`).join("") +
    `><g class="grid">${lines}${ys}${xs}</g>${paths}</svg>`;
}

function keyList(keys: [string, string][]): string {
  return `<div class="keys" aria-hidden="true">` +
    keys.map(([k, text]) => `<span class="key ${k}">${text}</span>`).join("") + `</div>`;
}

const BODY = `<main>
<header>
<h1>Midge</h1><span id="version"></span>
<p id="status" role="status" aria-live="polite" data-state="connecting">connecting</p>
</header>
<dl class="stats" aria-label="Broker figures">
<div><dt>Connected clients</dt><dd id="stat-connected">\u2013</dd></div>
<div><dt>Subscriptions</dt><dd><span id="stat-subscriptions">\u2013</span><small id="sub-subscriptions"></small></dd></div>
<div><dt>Retained messages</dt><dd id="stat-retained">\u2013</dd></div>
<div><dt>Messages in /s</dt><dd id="stat-rate-in">\u2013</dd></div>
<div><dt>Messages out /s</dt><dd id="stat-rate-out">\u2013</dd></div>
<div><dt>Uptime</dt><dd id="stat-uptime">\u2013</dd></div>
<div><dt>Offline sessions</dt><dd id="stat-offline">\u2013</dd></div>
<div><dt>Persistence</dt><dd id="stat-persistence">\u2013</dd></div>
</dl>
<div class="charts">
<section class="card" aria-labelledby="rate-title">
<h2 id="rate-title">Messages per second</h2>
${keyList([["in", "in (published to the broker)"], ["out", "out (delivered)"]])}
${chart("rate-chart", "Messages per second over the last 2 minutes", ["in", "out"])}
</section>
<section class="card" aria-labelledby="connections-title">
<h2 id="connections-title">Connections</h2>
${keyList([["connected", "connected"], ["offline", "offline sessions"]])}
${chart("connections-chart", "Clients over the last 2 minutes", ["connected", "offline"])}
</section>
</div>
<dl class="more card" aria-label="More figures">
<div><dt>Most clients at once</dt><dd id="stat-maximum">\u2013</dd></div>
<div><dt>Messages dropped</dt><dd id="stat-dropped">\u2013</dd></div>
<div><dt>Network</dt><dd id="stat-bytes">\u2013</dd></div>
<div><dt>Stored</dt><dd id="stat-store">\u2013</dd></div>
<div><dt>Heap</dt><dd id="stat-heap">\u2013</dd></div>
<div><dt>Listeners</dt><dd id="stat-listeners">\u2013</dd></div>
</dl>
<section class="card" id="bridges-card" aria-labelledby="bridges-title" hidden>
<h2 id="bridges-title">Bridges</h2>
<div class="table-box" tabindex="0" role="region" aria-labelledby="bridges-title">
<table id="bridges">
<thead><tr><th scope="col">Bridge</th><th scope="col">State</th><th scope="col">Address</th>` +
  `<th scope="col">Up since</th><th scope="col">Queued</th><th scope="col">Dropped</th>` +
  `<th scope="col">Messages in</th><th scope="col">Messages out</th></tr></thead>
<tbody></tbody>
</table>
</div>
</section>
<section class="card" aria-labelledby="clients-title">
<h2 id="clients-title">Clients</h2>
<div class="toolbar">
<label for="filter">Filter</label>
<input id="filter" type="search" placeholder="client id, username or address" autocomplete="off" spellcheck="false">
<span id="clients-note" aria-live="polite"></span>
</div>
<div class="table-box" tabindex="0" role="region" aria-labelledby="clients-title">
<table id="clients">
<thead><tr><th scope="col">Client id</th><th scope="col">State</th><th scope="col">Protocol</th>` +
  `<th scope="col">Address</th><th scope="col">Username</th><th scope="col">Subscriptions</th>` +
  `<th scope="col">Queued</th><th scope="col">In flight</th><th scope="col">Since</th></tr></thead>
<tbody></tbody>
</table>
</div>
</section>
<footer>Updated every second from <a href="api/v1/stats">api/v1/stats</a>,
<a href="api/v1/clients">api/v1/clients</a> and <a href="api/v1/subscriptions">api/v1/subscriptions</a>.</footer>
</main>`;

const PAGE = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<link rel="icon" href="data:,">
<title>Midge status</title>
<style>${STYLE}</style>
</head>
<body>
${BODY}
<script id="page-helpers">${PAGE_HELPERS}</script>
<script id="page-app">${APP}</script>
</body>
</html>
`;

/** The page's HTML, complete: one document with its styles and scripts inline. */
export function statusPage(): string {
  return PAGE;
}

function sha256(text: string): string {
  return `'sha256-${createHash("sha256").update(text).digest("base64")}'`;
}

/**
 * A Content-Security-Policy value for the status page: nothing from elsewhere, only its own
 * inline scripts and style (by hash), and requests to its own origin.
 */
export function statusPageSecurityPolicy(): string {
  return [
    "default-src 'none'",
    `script-src ${sha256(PAGE_HELPERS)} ${sha256(APP)}`,
    `style-src ${sha256(STYLE)}`,
    "connect-src 'self'",
    "img-src data:",
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'none'",
  ].join("; ");
}

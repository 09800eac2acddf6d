/**
 * The status page's pure functions (escaping, rates, chart paths, formatting, table rows), as
 * the text of its first inline script. They touch no DOM, so the unit tests (tests/http/) run
 * this block on its own.
 *
 * @module
 */

/** The script text: functions only, run before the page's own script. */
export const PAGE_HELPERS = `"use strict";
/** Text made safe for HTML text and quoted attribute values. */
function esc(value) {
  return String(value ?? "").replace(/[&<>"']/g, function (c) {
    return { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c];
  });
}
/** The value at obj.k1.k2..., or undefined when any step is missing. */
function pick(obj) {
  var v = obj;
  for (var i = 1; i < arguments.length; i++) {
    if (v === null || typeof v !== "object") return undefined;
    v = v[arguments[i]];
  }
  return v;
}
/** A finite number, or undefined. */
function num(v) {
  return typeof v === "number" && isFinite(v) ? v : undefined;
}
/** Per-second rate between two counter readings; 0 when the counter went back (a restart). */
function rate(before, after, seconds) {
  if (num(before) === undefined || num(after) === undefined || !(seconds > 0)) return undefined;
  return after < before ? 0 : (after - before) / seconds;
}
/** A server timestamp in ms when it is precise to the millisecond, else undefined. */
function serverMillis(time) {
  if (typeof time === "number" && isFinite(time) && time > 1e12) return time;
  if (typeof time === "string" && /\\.\\d/.test(time)) {
    var ms = Date.parse(time);
    if (isFinite(ms)) return ms;
  }
  return undefined;
}
/** A Date from epoch ms, epoch seconds or an ISO string; undefined otherwise. */
function toDate(v) {
  if (typeof v === "number" && isFinite(v) && v > 0) return new Date(v > 1e11 ? v : v * 1000);
  if (typeof v === "string" && v !== "") {
    var d = new Date(v);
    if (isFinite(d.getTime())) return d;
  }
  return undefined;
}
/** The smallest of 1, 2, 2.5 or 5 times a power of ten at or above v (at least 1). */
function niceMax(v) {
  if (!(v > 1)) return 1;
  var p = Math.pow(10, Math.floor(Math.log10(v)));
  var steps = [1, 2, 2.5, 5, 10];
  for (var i = 0; i < steps.length; i++) if (steps[i] * p >= v) return steps[i] * p;
  return 10 * p;
}
/** niceMax, made even for a chart of counts so that its middle grid line is a whole number. */
function chartMax(v, whole) {
  var m = niceMax(v);
  return whole && m % 2 !== 0 ? 2 * Math.ceil(m / 2) : m;
}
/** A count with grouping, "-" when missing. */
function fmtCount(v) {
  return num(v) === undefined ? "\\u2013" : Math.round(v).toLocaleString("en-US");
}
/** A rate: one decimal below 10, whole numbers with grouping above. */
function fmtRate(v) {
  if (num(v) === undefined) return "\\u2013";
  return v < 10 ? (Math.round(v * 10) / 10).toString() : Math.round(v).toLocaleString("en-US");
}
/** Bytes (per second or not) in B, KiB, MiB or GiB. */
function fmtBytes(v) {
  if (num(v) === undefined) return "\\u2013";
  var units = ["B", "KiB", "MiB", "GiB", "TiB"];
  var i = 0;
  while (v >= 1024 && i < units.length - 1) { v /= 1024; i++; }
  return (i === 0 ? Math.round(v) : v.toFixed(v < 10 ? 1 : 0)) + " " + units[i];
}
/** Seconds as "3d 4h", "4h 5m", "5m 12s" or "12s". */
function fmtDuration(s) {
  if (num(s) === undefined || s < 0) return "\\u2013";
  s = Math.floor(s);
  var d = Math.floor(s / 86400), h = Math.floor(s / 3600) % 24, m = Math.floor(s / 60) % 60;
  if (d > 0) return d + "d " + h + "h";
  if (h > 0) return h + "h " + m + "m";
  if (m > 0) return m + "m " + (s % 60) + "s";
  return s + "s";
}
/** The listeners of /api/v1/stats, each once, as "1883 tcp, /run/midge.sock unix". */
function fmtListeners(list) {
  var seen = [];
  (Array.isArray(list) ? list : []).forEach(function (l) {
    if (!l || typeof l.name !== "string" || typeof l.transport !== "string") return;
    var text = l.name + " " + l.transport;
    if (seen.indexOf(text) === -1) seen.push(text);
  });
  return seen.length ? seen.join(", ") : "\u2013";
}
/** MQTT protocol level as its version name. */
function fmtProtocol(level) {
  return { 3: "3.1", 4: "3.1.1", 5: "5.0" }[level] || (level === undefined ? "\\u2013" : esc(level));
}
/**
 * SVG path data for values in slots ending at the right edge of the box g = {left, top, width,
 * height, slots, max}: the line, and the area under it. Missing values break the line.
 */
function chartPaths(values, g) {
  var line = "", area = "", run = [];
  var bottom = g.top + g.height;
  function flush() {
    if (run.length === 0) return;
    line += "M" + run.join("L");
    area += "M" + run[0].split(",")[0] + "," + bottom + "L" + run.join("L") + "L" +
      run[run.length - 1].split(",")[0] + "," + bottom + "Z";
    run = [];
  }
  var first = g.slots - values.length;
  for (var i = 0; i < values.length; i++) {
    var v = num(values[i]);
    if (v === undefined) { flush(); continue; }
    var x = g.left + (g.slots > 1 ? g.width * (first + i) / (g.slots - 1) : g.width);
    var y = g.top + g.height * (1 - Math.min(v, g.max) / g.max);
    run.push(x.toFixed(1) + "," + y.toFixed(1));
  }
  flush();
  return { line: line, area: area };
}
/** Whether a client matches the filter text (id, username or address, any case). */
function clientMatches(c, filter) {
  if (filter === "") return true;
  var f = filter.toLowerCase();
  return [c.clientId, c.username, c.address].some(function (s) {
    return typeof s === "string" && s.toLowerCase().indexOf(f) !== -1;
  });
}
/** A moment as local time, with the date too unless it is the same day as now. */
function fmtSince(d, now) {
  if (!d) return "\\u2013";
  var time = d.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit", second: "2-digit" });
  return d.toDateString() === now.toDateString() ? time : d.toLocaleDateString() + " " + time;
}
/** One table row for a client; every client-provided string goes through esc(). */
function clientRow(c, now) {
  var connected = c.connected === true;
  var since = toDate(connected ? c.connectedSince : c.disconnectedAt);
  var cells = [
    "<th scope=row>" + esc(c.clientId) + "</th>",
    "<td><span class=\\"badge " + (connected ? "on" : "off") + "\\">" +
    (connected ? "connected" : "offline") + "</span></td>",
    "<td>" + fmtProtocol(num(c.protocolVersion)) + "</td>",
    "<td>" + (typeof c.address === "string" && c.address ? esc(c.address) : "\\u2013") + "</td>",
    "<td>" + (typeof c.username === "string" && c.username ? esc(c.username) : "\\u2013") + "</td>",
    "<td class=n>" + fmtCount(num(c.subscriptions)) + "</td>",
    "<td class=n>" + fmtCount(num(c.queued)) + "</td>",
    "<td class=n>" + fmtCount(num(c.inflight)) + "</td>",
    "<td>" + esc(fmtSince(since, now || new Date())) + "</td>",
  ];
  return "<tr data-client-id=\\"" + esc(c.clientId) + "\\">" + cells.join("") + "</tr>";
}
/** One table row for a bridge; its name and address go through esc(). */
function bridgeRow(b, now) {
  var up = b.up === true;
  var since = up ? fmtSince(toDate(b.connectedSince), now || new Date()) : "\\u2013";
  var cells = [
    "<th scope=row>" + esc(b.name) + "</th>",
    "<td><span class=\\"badge " + (up ? "on" : "off") + "\\">" + (up ? "up" : "down") + "</span></td>",
    "<td>" + (typeof b.address === "string" && b.address ? esc(b.address) : "\\u2013") + "</td>",
    "<td>" + esc(since) + "</td>",
    "<td class=n>" + fmtCount(num(b.queued)) + "</td>",
    "<td class=n>" + fmtCount(num(b.dropped)) + "</td>",
    "<td class=n>" + fmtCount(num(pick(b, "messages", "received"))) + "</td>",
    "<td class=n>" + fmtCount(num(pick(b, "messages", "sent"))) + "</td>",
  ];
  return "<tr data-bridge=\\"" + esc(b.name) + "\\">" + cells.join("") + "</tr>";
}
`;

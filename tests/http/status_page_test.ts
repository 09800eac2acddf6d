/**
 * The status page without a browser: one well-formed HTML document, nothing fetched from
 * elsewhere, the hooks the browser tests and users rely on, a security policy that matches its
 * inline blocks, and the page's pure helpers (escaping, rates, chart paths, formatting) run on
 * their own.
 *
 * @module
 */

import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { statusPage, statusPageSecurityPolicy } from "../../src/http/status_page.ts";
import { checkHtml, type Element } from "./status_page_html.ts";

const page = statusPage();
const elements = checkHtml(page);

function byId(id: string): Element {
  const found = elements.filter((e) => e.attributes.get("id") === id);
  assert.equal(found.length, 1, `#${id} should appear once, found ${found.length}`);
  return found[0];
}

/** The text of the inline `<script id=...>` block. */
function scriptText(id: string): string {
  const match = page.match(new RegExp(`<script id="${id}">([\\s\\S]*?)</script>`));
  assert.ok(match, `no <script id="${id}">`);
  return match[1];
}

/** The page's helper functions, run outside a browser (they touch no DOM). */
// deno-lint-ignore no-explicit-any
type Helpers = Record<string, (...args: any[]) => any>;
const NAMES = [
  "esc",
  "pick",
  "num",
  "rate",
  "serverMillis",
  "toDate",
  "niceMax",
  "chartMax",
  "fmtCount",
  "fmtRate",
  "fmtBytes",
  "fmtDuration",
  "fmtProtocol",
  "fmtListeners",
  "chartPaths",
  "clientMatches",
  "fmtSince",
  "clientRow",
  "bridgeRow",
];
const helpers = new Function(
  `${scriptText("page-helpers")}\nreturn { ${NAMES.join(", ")} };`,
)() as Helpers;

Deno.test("statusPage is one well-formed HTML document with a title, charset and viewport", () => {
  assert.match(page, /^<!doctype html>\n<html lang="en">/);
  for (const tag of ["html", "head", "body", "title", "main"]) {
    assert.equal(elements.filter((e) => e.tag === tag).length, 1, `one <${tag}>`);
  }
  const metas = elements.filter((e) => e.tag === "meta");
  assert.ok(metas.some((m) => m.attributes.get("charset") === "utf-8"));
  assert.ok(metas.some((m) =>
    m.attributes.get("name") === "viewport" &&
    m.attributes.get("content") === "width=device-width, initial-scale=1"
  ));
  const ids = elements.map((e) => e.attributes.get("id")).filter((id) => id !== undefined);
  assert.deepEqual(ids, [...new Set(ids)], "ids are unique");
});

Deno.test("statusPage asks for nothing from elsewhere: no external URL, script, style or font", () => {
  assert.doesNotMatch(page, /https?:|\/\/[a-z0-9]/i);
  assert.doesNotMatch(page, /@import|url\(|<iframe|<img|<object|<embed/i);
  for (const e of elements) {
    for (const attr of ["src", "href", "action", "srcset"]) {
      const value = e.attributes.get(attr);
      if (value === undefined) continue;
      assert.ok(
        value === "data:," || /^api\/v1\/[a-z]+$/.test(value),
        `<${e.tag} ${attr}="${value}"> points elsewhere`,
      );
    }
  }
  assert.equal(elements.filter((e) => e.tag === "script" && e.attributes.has("src")).length, 0);
});

Deno.test("statusPage has the hooks the tests and users rely on", () => {
  for (
    const id of [
      "stat-connected",
      "stat-subscriptions",
      "stat-retained",
      "stat-rate-in",
      "stat-rate-out",
      "stat-uptime",
      "stat-persistence",
      "stat-listeners",
      "version",
      "filter",
    ]
  ) byId(id);
  const status = byId("status");
  assert.equal(status.attributes.get("role"), "status");
  assert.equal(status.attributes.get("aria-live"), "polite");
  const rate = byId("rate-chart");
  assert.equal(rate.tag, "svg");
  for (const attr of ["data-samples", "data-last-in", "data-last-out", "role", "aria-label"]) {
    assert.ok(rate.attributes.has(attr), `#rate-chart has ${attr}`);
  }
  assert.equal(byId("connections-chart").tag, "svg");
  assert.equal(byId("clients").tag, "table");
  assert.equal(byId("bridges").tag, "table");
  assert.ok(byId("bridges-card").attributes.has("hidden"), "no bridges shown before data");
  const filter = byId("filter");
  assert.ok(elements.some((e) => e.tag === "label" && e.attributes.get("for") === "filter"));
  assert.equal(filter.tag, "input");
});

Deno.test("statusPage's scripts parse and it polls the stats and clients API every second", () => {
  const app = scriptText("page-app");
  new Function(app); // throws SyntaxError if it does not parse
  assert.match(app, /getJson\("api\/v1\/stats"\)/);
  assert.match(app, /getJson\("api\/v1\/clients"\)/);
  assert.match(app, /POLL_MS = 1000/);
});

Deno.test("statusPageSecurityPolicy allows exactly the page's inline scripts and style", () => {
  const policy = statusPageSecurityPolicy();
  const hash = (text: string) => `'sha256-${createHash("sha256").update(text).digest("base64")}'`;
  const blocks = [...page.matchAll(/<(script|style)[^>]*>([\s\S]*?)<\/\1>/g)];
  assert.equal(blocks.length, 3);
  for (const [, tag, text] of blocks) {
    const directive = policy.split("; ").find((d) => d.startsWith(`${tag}-src `));
    assert.ok(directive?.includes(hash(text)), `${tag}-src lacks the hash of a <${tag}> block`);
  }
  assert.match(policy, /default-src 'none'/);
  assert.match(policy, /connect-src 'self'/);
});

Deno.test("the page's esc() makes client ids safe as text and in quoted attributes", () => {
  const { esc } = helpers;
  assert.equal(esc("<img src=x onerror=alert(1)>"), "&lt;img src=x onerror=alert(1)&gt;");
  assert.equal(esc(`a"b'c&d`), "a&quot;b&#39;c&amp;d");
  assert.equal(esc("&lt;"), "&amp;lt;");
  assert.equal(esc(undefined), "");
  assert.equal(esc(null), "");
  assert.equal(esc(42), "42");
});

Deno.test("the page's clientRow escapes every client-provided string", () => {
  const evil = `<img src=x onerror=alert(1)>"'`;
  const row = helpers.clientRow({
    clientId: evil,
    connected: true,
    protocolVersion: 5,
    address: "<b>addr</b>",
    username: "<script>x</script>",
    subscriptions: 2,
  }) as string;
  assert.doesNotMatch(row, /<img|<b>|<script/);
  assert.ok(row.startsWith(`<tr data-client-id="&lt;img src=x onerror=alert(1)&gt;&quot;&#39;">`));
  assert.match(row, /<th scope=row>&lt;img src=x onerror=alert\(1\)&gt;&quot;&#39;<\/th>/);
  // The row is itself well-formed HTML.
  checkHtml(`<table><tbody>${row}</tbody></table>`, { fragment: true });
  assert.match(row, /<td>5\.0<\/td>/);
});

Deno.test("the page's clientRow never throws on missing or odd fields", () => {
  for (const c of [{}, { clientId: 7 }, { connected: "yes", protocolVersion: "4", queued: null }]) {
    const row = helpers.clientRow(c) as string;
    assert.match(row, /^<tr data-client-id="[^"]*">/);
  }
  assert.equal(helpers.fmtProtocol(3), "3.1");
  assert.equal(helpers.fmtProtocol(4), "3.1.1");
  assert.equal(helpers.fmtProtocol(undefined), "\u2013");
});

Deno.test("the page's bridgeRow shows a bridge up since a time or down, its name and address escaped", () => {
  const now = new Date(2026, 11, 7, 12, 0, 0);
  const up = helpers.bridgeRow({
    name: `<img src=x onerror=alert(1)>"`,
    up: true,
    address: "<b>h</b>:1883",
    connectedSince: new Date(2026, 11, 7, 11, 30, 5).toISOString(),
    messages: { sent: 12345, received: 6 },
    queued: 3,
    dropped: 1,
  }, now) as string;
  assert.doesNotMatch(up, /<img|<b>/);
  assert.ok(up.startsWith(`<tr data-bridge="&lt;img src=x onerror=alert(1)&gt;&quot;">`));
  assert.match(up, /<span class="badge on">up<\/span>/);
  assert.match(up, /&lt;b&gt;h&lt;\/b&gt;:1883/);
  assert.match(up, /<td>11:30:05[^<]*<\/td>/); // the time of day, in the locale's form
  assert.match(
    up,
    /<td class=n>3<\/td><td class=n>1<\/td><td class=n>6<\/td><td class=n>12,345<\/td>/,
  );
  checkHtml(`<table><tbody>${up}</tbody></table>`, { fragment: true });
  const down = helpers.bridgeRow({ name: "b", up: false, address: null, connectedSince: null });
  assert.match(down, /<span class="badge off">down<\/span><\/td><td>\u2013<\/td><td>\u2013<\/td>/);
  for (const b of [{}, { name: 7, up: "yes", messages: null }]) {
    assert.match(helpers.bridgeRow(b) as string, /^<tr data-bridge="[^"]*">/);
  }
});

Deno.test("the page names each listener once with its transport, and skips odd entries", () => {
  const listeners = [
    { listener: 0, name: null, transport: null },
    { listener: 1883, name: "1883", transport: "tcp", protocolVersion: null },
    { listener: 1883, name: "1883", transport: "tcp", protocolVersion: 4 },
    { listener: 0, name: "/run/midge.sock", transport: "unix" },
    { listener: 8883, name: "8883", transport: "tls" },
    null,
  ];
  assert.equal(helpers.fmtListeners(listeners), "1883 tcp, /run/midge.sock unix, 8883 tls");
  assert.equal(helpers.fmtListeners(undefined), "\u2013");
  assert.equal(helpers.fmtListeners([{ listener: 1883 }]), "\u2013");
});

Deno.test("the page's pick and num read missing fields as undefined", () => {
  const { pick, num } = helpers;
  assert.equal(pick({ a: { b: 3 } }, "a", "b"), 3);
  assert.equal(pick({ a: null }, "a", "b"), undefined);
  assert.equal(pick(undefined, "a"), undefined);
  assert.equal(pick("text", "length"), undefined);
  assert.equal(num(NaN), undefined);
  assert.equal(num("3"), undefined);
  assert.equal(num(0), 0);
});

Deno.test("the page's rate is per second, 0 after a counter reset, undefined without data", () => {
  const { rate } = helpers;
  assert.equal(rate(100, 300, 2), 100);
  assert.equal(rate(300, 10, 1), 0);
  assert.equal(rate(undefined, 10, 1), undefined);
  assert.equal(rate(1, 10, 0), undefined);
});

Deno.test("the page uses the server's time only when it has milliseconds", () => {
  const { serverMillis, toDate } = helpers;
  assert.equal(serverMillis("2026-01-02T03:04:05.678Z"), Date.UTC(2026, 0, 2, 3, 4, 5, 678));
  assert.equal(serverMillis("2026-01-02T03:04:05Z"), undefined);
  assert.equal(serverMillis(1_767_000_000_123), 1_767_000_000_123);
  assert.equal(serverMillis(1_767_000_000), undefined);
  assert.equal(toDate(1_767_000_000).getTime(), 1_767_000_000_000);
  assert.equal(toDate("2026-01-02T03:04:05Z").getTime(), Date.UTC(2026, 0, 2, 3, 4, 5));
  assert.equal(toDate("soon"), undefined);
  assert.equal(toDate(undefined), undefined);
});

Deno.test("the page's chart scale rounds up to 1, 2, 2.5 or 5 times a power of ten", () => {
  const { niceMax, chartMax } = helpers;
  assert.deepEqual(
    [0, 0.3, 1, 1.5, 3, 7, 20, 21, 240, 999, 1001].map((v) => niceMax(v)),
    [1, 1, 1, 2, 5, 10, 20, 25, 250, 1000, 2000],
  );
  assert.deepEqual([0, 1, 3, 7, 21].map((v) => chartMax(v, true)), [2, 2, 6, 10, 26]);
});

Deno.test("the page's chartPaths puts the newest sample at the right edge and breaks at gaps", () => {
  const g = { left: 0, top: 0, width: 100, height: 10, slots: 11, max: 10 };
  assert.deepEqual(helpers.chartPaths([], g), { line: "", area: "" });
  const two = helpers.chartPaths([0, 10], g);
  assert.equal(two.line, "M90.0,10.0L100.0,0.0");
  assert.equal(two.area, "M90.0,10L90.0,10.0L100.0,0.0L100.0,10Z");
  const gap = helpers.chartPaths([5, undefined, 5], g);
  assert.equal(gap.line, "M80.0,5.0M100.0,5.0");
  // Values above the scale are drawn at its top, not outside the box.
  assert.equal(helpers.chartPaths([50], g).line, "M100.0,0.0");
});

Deno.test("the page's formatting of counts, rates, bytes and durations", () => {
  const { fmtCount, fmtRate, fmtBytes, fmtDuration } = helpers;
  assert.equal(fmtCount(1234567), "1,234,567");
  assert.equal(fmtCount(undefined), "\u2013");
  assert.equal(fmtRate(2.345), "2.3");
  assert.equal(fmtRate(12345.6), "12,346");
  assert.equal(fmtBytes(512), "512 B");
  assert.equal(fmtBytes(1536), "1.5 KiB");
  assert.equal(fmtBytes(50 * 1024 * 1024), "50 MiB");
  assert.equal(fmtDuration(12.7), "12s");
  assert.equal(fmtDuration(312), "5m 12s");
  assert.equal(fmtDuration(4 * 3600 + 300), "4h 5m");
  assert.equal(fmtDuration(3 * 86400 + 4 * 3600), "3d 4h");
  assert.equal(fmtDuration(undefined), "\u2013");
});

Deno.test("the page's fmtSince gives the time of day, and the date too on another day", () => {
  const { fmtSince } = helpers;
  const now = new Date(2026, 5, 1, 12, 0, 0);
  const today = fmtSince(new Date(2026, 5, 1, 9, 5, 7), now) as string;
  assert.match(today, /09:05:07/);
  const before = fmtSince(new Date(2026, 4, 30, 9, 5, 7), now) as string;
  assert.match(before, /09:05:07/);
  assert.ok(before.length > today.length, `${before} has a date`);
  assert.equal(fmtSince(undefined, now), "\u2013");
});

Deno.test("the page's filter matches id, username or address, ignoring case", () => {
  const c = { clientId: "Sensor-1", username: "alice", address: "10.0.0.7:5000" };
  const { clientMatches } = helpers;
  assert.ok(clientMatches(c, ""));
  assert.ok(clientMatches(c, "sensor"));
  assert.ok(clientMatches(c, "ALI"));
  assert.ok(clientMatches(c, "10.0.0"));
  assert.ok(!clientMatches(c, "bob"));
  assert.ok(!clientMatches({ clientId: 5 }, "5"));
});

Deno.test("checkHtml rejects what a browser would repair", () => {
  assert.throws(() => checkHtml("<!doctype html><html><p><b></p></b></html>"), /<\/p> closes <b>/);
  assert.throws(() => checkHtml("<!doctype html><html><div>"), /<div> .* never closed/);
  assert.throws(() => checkHtml("<!doctype html><html><a x=1 x=2></a></html>"), /duplicate/);
  assert.throws(() => checkHtml("<html></html>"), /doctype/);
  assert.throws(() => checkHtml("<!doctype html><html>a < b</html>"), /stray "<"/);
  assert.throws(() => checkHtml("<!doctype html><html>&nbsp</html>"), /character reference/);
});

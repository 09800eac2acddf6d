/**
 * The status page in a real browser: Debian's chromium, headless, driven by playwright-core.
 * Against a real broker and its HTTP listener: the page goes live, lists a connected client by
 * id (one whose id is markup shows it as text), its rate chart moves while messages flow, it
 * fits a 360 px wide phone screen, and with basic auth it loads only with credentials (given
 * to the browser, or in the URL as `http://user:password@host/`). Against
 * a stand-in server: a failing API shows "disconnected, retrying" and the page recovers, and
 * answers with missing fields do not break it. Every page is watched for errors, dialogs and
 * violations of its Content-Security-Policy; the tests wait on the page by polling it with
 * `page.evaluate`, never with `page.waitForFunction`, whose later checks are string evaluations
 * that a policy without 'unsafe-eval' refuses.
 *
 * Under `CI` a missing chromium fails these tests; otherwise they are ignored, saying why.
 *
 * @module
 */

import assert from "node:assert/strict";
import type { Page } from "../fixtures/npm/playwright_core.ts";
import { PasswordFile } from "../../src/auth/password_file.ts";
import { formatHash, hashPassword } from "../../src/auth/password_hash.ts";
import { statusPageSecurityPolicy } from "../../src/http/status_page.ts";
import { connect, delay, type RawClient } from "../integration/harness.ts";
import { pub, sub, subscribe, sync, utf8 } from "../integration/pubsub_helpers.ts";
import { interopTest } from "../interop/helpers.ts";
import {
  CHROMIUM,
  type StandIn,
  startStandIn,
  withBrowser,
  withLiveBroker,
} from "./status_page_fixture.ts";

/** A client id the page must show as it is. */
const WATCHER_ID = "status-page-watcher-4b1e";
/** A client id that is markup: the page must show it as text, not run it. */
const MARKUP_ID = "<img src=x onerror=alert(1)>";

/** What the functions run in the page read of its DOM (Deno's own types have no `document`). */
declare const document: {
  getElementById(
    id: string,
  ): { textContent: string | null; dataset: Record<string, string | undefined> } | null;
};

/** The fields of a page's `securitypolicyviolation` event that `watch` reports. */
type PolicyViolation = Event & {
  effectiveDirective: string;
  blockedURI: string;
  sourceFile: string;
  lineNumber: number;
};

/** The page global in which `watch`'s init script keeps the policy violations it saw. */
const VIOLATIONS = "__statusPageTestViolations";

/**
 * Watch a page for trouble: uncaught errors, dialogs (an injected `alert` would open one) and
 * violations of its Content-Security-Policy, which an init script records from
 * `securitypolicyviolation` events (it runs before the page's own scripts, and the page's policy
 * does not govern it). The function returned lists all seen so far; a page the init script did
 * not reach counts as trouble too.
 */
async function watch(page: Page): Promise<() => Promise<string[]>> {
  const problems: string[] = [];
  page.on("pageerror", (error) => problems.push(`page error: ${error.message}`));
  page.on("dialog", (dialog) => {
    problems.push(`dialog: ${dialog.message()}`);
    dialog.dismiss().catch(() => {});
  });
  await page.addInitScript((key) => {
    const seen: string[] = [];
    Object.defineProperty(globalThis, key, { value: seen });
    addEventListener("securitypolicyviolation", (event) => {
      const { effectiveDirective, blockedURI, sourceFile, lineNumber } = event as PolicyViolation;
      seen.push(`${effectiveDirective} refused ${blockedURI} (${sourceFile}:${lineNumber})`);
    });
  }, VIOLATIONS);
  return async () => {
    const seen = await page.evaluate((key) => Reflect.get(globalThis, key), VIOLATIONS);
    const violations = Array.isArray(seen) ? seen : ["the watch's init script did not run"];
    return [...problems, ...violations.map((v) => `policy violation: ${v}`)];
  };
}

/**
 * Open the status page from a stand-in API (set up by `prepare`) in a new browser page, watching
 * for page errors and dialogs; the stand-in is closed afterwards.
 */
async function withStandInPage(
  prepare: (standIn: StandIn) => void,
  body: (page: Page, problems: () => Promise<string[]>, standIn: StandIn) => Promise<void>,
): Promise<void> {
  const standIn = startStandIn();
  prepare(standIn);
  try {
    await withBrowser(async (browser) => {
      const page = await browser.newPage();
      await body(page, await watch(page), standIn);
    });
  } finally {
    await standIn.close();
  }
}

/**
 * Wait until `check`, run in the page with `arg`, returns true: asked by `page.evaluate` every
 * 50 ms, for at most `timeoutMs`. Each check is a call from the test, which the page's policy
 * does not govern (unlike `waitForFunction`'s re-checks from the page's own timers).
 */
async function waitInPage<A>(
  page: Page,
  check: (arg: A) => boolean,
  arg: A,
  timeoutMs = 5000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (let round = 0; round <= timeoutMs / 50; round++) {
    // (playwright's types cannot see that `check` takes what `arg` is for a generic `A`)
    if (await page.evaluate(check as (arg: unknown) => boolean, arg)) return;
    if (Date.now() >= deadline) break;
    await delay(50);
  }
  throw new Error(`not true within ${timeoutMs} ms: ${check} with ${JSON.stringify(arg)}`);
}

/** Wait (at most `timeoutMs`) until `#status` reads `text` exactly. */
function statusIs(page: Page, text: string, timeoutMs = 5000): Promise<void> {
  return waitInPage(
    page,
    (want) => document.getElementById("status")?.textContent === want,
    text,
    timeoutMs,
  );
}

/** Wait (at most 5 s) until `#status` reads `start` and maybe more. */
function statusStartsWith(page: Page, start: string): Promise<void> {
  return waitInPage(
    page,
    (want) => document.getElementById("status")?.textContent?.startsWith(want) === true,
    start,
  );
}

/** Wait until the rate chart has drawn at least `count` samples. */
function samplesAtLeast(page: Page, count: number): Promise<void> {
  return waitInPage(
    page,
    (least) => Number(document.getElementById("rate-chart")?.dataset.samples) >= least,
    count,
  );
}

/** The value of `attribute` of `selector`, as a number (NaN when missing). */
async function numberAttribute(page: Page, selector: string, attribute: string): Promise<number> {
  return Number(await page.getAttribute(selector, attribute) ?? NaN);
}

/**
 * Open `url` in `page`: the response's status, or the error when the navigation fails.
 * Headless chromium, refused by basic auth, fails the navigation with
 * ERR_INVALID_AUTH_CREDENTIALS instead of showing the 401.
 */
function navigate(page: Page, url: string): Promise<string> {
  return page.goto(url).then((r) => String(r?.status()), (e: Error) => e.message);
}

/** What `navigate` gives when basic auth refuses the page. */
const REFUSED = /^401$|ERR_INVALID_AUTH_CREDENTIALS/;

/**
 * Publish QoS 0 messages to `topic` from `client`, about 400 a second, until `stop()` is called
 * or `maxMs` have passed (whichever comes first); resolves to how many were sent.
 */
function publishUntil(
  client: RawClient,
  topic: string,
  maxMs: number,
): { stop(): void; done: Promise<number> } {
  let stopped = false;
  const done = (async () => {
    const deadline = Date.now() + maxMs;
    let sent = 0;
    for (let round = 0; round < maxMs / 50 && !stopped && Date.now() < deadline; round++) {
      for (let i = 0; i < 20; i++) await client.send(pub(topic, `m${sent++}`));
      await sync(client);
      await delay(50);
    }
    return sent;
  })();
  return { stop: () => stopped = true, done };
}

interopTest({
  name: "status page in chromium, real listener: goes live, lists connected clients by id " +
    "(a markup id as text), and its rate chart moves while messages flow",
  needs: [CHROMIUM],
  fn: () =>
    withLiveBroker((live) =>
      withBrowser(async (browser) => {
        const port = live.broker.port;
        const clients: RawClient[] = [];
        try {
          const watcher = (await connect(port, { clientId: WATCHER_ID })).client;
          clients.push(watcher);
          await subscribe(watcher, sub("load/#"));
          const marked = (await connect(port, { clientId: MARKUP_ID, protocolVersion: 5 })).client;
          clients.push(marked);
          const publisher = (await connect(port, { clientId: "status-page-publisher" })).client;
          clients.push(publisher);
          await publisher.send(pub("retained/one", "kept", { retain: true }));
          await sync(publisher);

          const page = await browser.newPage();
          const problems = await watch(page);
          const response = await page.goto(live.url);
          assert.equal(response?.status(), 200);
          assert.equal(await page.title(), "Midge status");
          await statusIs(page, "live");

          const row = page.locator(`#clients tr[data-client-id="${WATCHER_ID}"]`);
          await row.waitFor({ timeout: 5000 });
          assert.equal(await row.locator("th").textContent(), WATCHER_ID);
          assert.match((await row.textContent())!, /connected.*3\.1\.1/);
          const ids = await page.locator("#clients tbody th").allTextContents();
          assert.ok(ids.includes(MARKUP_ID), `the markup id is shown as text: ${ids}`);
          assert.equal(await page.locator("#clients img").count(), 0, "no <img> got in");
          assert.equal(await page.textContent("#stat-connected"), "3");
          assert.equal(await page.textContent("#stat-subscriptions"), "1");
          assert.equal(await page.textContent("#stat-retained"), "1");

          // Two quiet samples, then messages: the in and out rates rise and the line moves.
          await samplesAtLeast(page, 2);
          const quiet = await page.getAttribute("#rate-chart .line.in", "d");
          assert.equal(await numberAttribute(page, "#rate-chart", "data-last-in"), 0);
          const flow = publishUntil(publisher, "load/test", 8000);
          try {
            await waitInPage(
              page,
              (least) => {
                const chart = document.getElementById("rate-chart")?.dataset;
                return Number(chart?.lastIn) > least && Number(chart?.lastOut) > least;
              },
              10,
              6000,
            );
          } finally {
            flow.stop();
          }
          assert.ok((await flow.done) > 0);
          assert.notEqual(await page.getAttribute("#rate-chart .line.in", "d"), quiet);
          assert.ok(Number(await page.textContent("#stat-rate-in")) > 10);
          assert.ok(await numberAttribute(page, "#connections-chart", "data-last-connected") === 3);
          assert.deepEqual(await problems(), []);
        } finally {
          await Promise.all(clients.map((c) => c.close()));
        }
      })
    ),
});

interopTest({
  name: "status page in chromium, real listener: at 360 px wide the page does not scroll " +
    "sideways; the clients table scrolls inside its box",
  needs: [CHROMIUM],
  fn: () =>
    withLiveBroker((live) =>
      withBrowser(async (browser) => {
        const longId = "phone-width-check-" + "x".repeat(60);
        const { client } = await connect(live.broker.port, { clientId: longId });
        try {
          const context = await browser.newContext({
            viewport: { width: 360, height: 740 },
            isMobile: true,
            hasTouch: true,
          });
          const page = await context.newPage();
          const problems = await watch(page);
          await page.goto(live.url);
          await statusIs(page, "live");
          await page.locator(`#clients tr[data-client-id="${longId}"]`).waitFor({ timeout: 5000 });
          await samplesAtLeast(page, 1);
          const [pageWidth, viewWidth, boxScroll, boxWidth, boxRight] = await page.evaluate(
            `(() => {
              const root = document.documentElement;
              const box = document.getElementById("clients").closest(".table-box");
              return [root.scrollWidth, root.clientWidth, box.scrollWidth, box.clientWidth,
                box.getBoundingClientRect().right];
            })()`,
          ) as number[];
          assert.equal(viewWidth, 360);
          assert.ok(pageWidth <= viewWidth, `the page is ${pageWidth} px wide in a 360 px view`);
          assert.ok(boxScroll > boxWidth, "the table is wider than its box, which scrolls");
          assert.ok(boxRight <= 360, `the table box ends at ${boxRight} px`);
          assert.deepEqual(await problems(), []);
          await context.close();
        } finally {
          await client.close();
        }
      })
    ),
});

interopTest({
  name: "status page in chromium, real listener with basic auth: 401 without credentials or " +
    "with a wrong password, live with the right ones",
  needs: [CHROMIUM],
  fn: async () => {
    const hash = await hashPassword(utf8("page pass 1"));
    const passwords = PasswordFile.parse(`watcher:${formatHash(hash)}\n`, "test passwords");
    await withLiveBroker(
      (live) =>
        withBrowser(async (browser) => {
          assert.match(await navigate(await browser.newPage(), live.url), REFUSED);
          const wrong = await browser.newContext({
            httpCredentials: { username: "watcher", password: "not it" },
          });
          assert.match(await navigate(await wrong.newPage(), live.url), REFUSED);
          await wrong.close();
          const plain = await fetch(live.url);
          await plain.body?.cancel();
          assert.equal(plain.status, 401);
          assert.equal(plain.headers.get("www-authenticate"), 'Basic realm="Midge"');

          const context = await browser.newContext({
            httpCredentials: { username: "watcher", password: "page pass 1" },
          });
          const page = await context.newPage();
          const problems = await watch(page);
          assert.equal((await page.goto(live.url))?.status(), 200);
          await statusIs(page, "live");
          assert.equal(await page.textContent("#stat-connected"), "0");
          assert.deepEqual(await problems(), []);
          await context.close();
        }),
      { passwords },
    );
  },
});

interopTest({
  name: "status page in chromium, real listener with basic auth, opened as " +
    "http://user:password@host:port/: goes live and lists the clients",
  needs: [CHROMIUM],
  fn: async () => {
    const hash = await hashPassword(utf8("url pass: 2"));
    const passwords = PasswordFile.parse(`ops@home:${formatHash(hash)}\n`, "test passwords");
    await withLiveBroker(
      (live) =>
        withBrowser(async (browser) => {
          const { client } = await connect(live.broker.port, { clientId: "url-credentials" });
          try {
            const page = await browser.newPage();
            const problems = await watch(page);
            const url = new URL(live.url);
            url.username = encodeURIComponent("ops@home");
            url.password = encodeURIComponent("url pass: 2");
            assert.equal((await page.goto(url.href))?.status(), 200);
            await statusIs(page, "live");
            await page.locator('#clients tr[data-client-id="url-credentials"]').waitFor({
              timeout: 5000,
            });
            assert.equal(await page.textContent("#stat-connected"), "1");
            assert.deepEqual(await problems(), []);
          } finally {
            await client.close();
          }
        }),
      { passwords },
    );
  },
});

interopTest({
  name: "status page in chromium: a failing API shows 'disconnected, retrying', the page keeps " +
    "polling and goes live again",
  needs: [CHROMIUM],
  fn: () =>
    withStandInPage(() => {}, async (page, problems, standIn) => {
      await page.goto(standIn.url);
      await statusIs(page, "live");
      standIn.failing = true;
      await statusStartsWith(page, "disconnected, retrying");
      assert.equal(await page.getAttribute("#status", "data-state"), "error");
      assert.match((await page.textContent("#status"))!, /HTTP 503/);
      const during = standIn.requests;
      await page.waitForTimeout(1500);
      assert.ok(standIn.requests > during, "the page keeps polling while the API fails");
      standIn.failing = false;
      await statusIs(page, "live");
      assert.deepEqual(await problems(), []);
    }),
});

interopTest({
  name: "status page in chromium: answers with missing or odd fields show dashes, not errors",
  needs: [CHROMIUM],
  fn: () =>
    withStandInPage((standIn) => {
      standIn.stats = { clients: null, publish: { received: "many" }, uptimeSeconds: -1, time: 5 };
      standIn.clients = [
        // deno-lint-ignore no-explicit-any
        {} as any,
        // deno-lint-ignore no-explicit-any
        { clientId: 12, connected: "yes", protocolVersion: "five", queued: null } as any,
        { clientId: "plain", connected: true },
      ];
    }, async (page, problems, standIn) => {
      await page.goto(standIn.url);
      await statusIs(page, "live");
      await page.locator('#clients tr[data-client-id="plain"]').waitFor({ timeout: 5000 });
      assert.equal(await page.locator("#clients tbody tr").count(), 3);
      for (const id of ["stat-connected", "stat-rate-in", "stat-uptime", "stat-persistence"]) {
        assert.equal(await page.textContent(`#${id}`), "\u2013", `#${id}`);
      }
      assert.deepEqual(await problems(), []);
    }),
});

interopTest({
  name: "status page in chromium: it runs under statusPageSecurityPolicy() with no violation",
  needs: [CHROMIUM],
  fn: () =>
    withStandInPage((standIn) => {
      standIn.securityPolicy = statusPageSecurityPolicy();
      standIn.clients = [{ clientId: "csp-check", connected: true, protocolVersion: 4 }];
    }, async (page, problems, standIn) => {
      const response = await page.goto(standIn.url);
      assert.match(response?.headers()["content-security-policy"] ?? "", /script-src 'sha256-/);
      await statusIs(page, "live");
      await page.locator('#clients tr[data-client-id="csp-check"]').waitFor({ timeout: 5000 });
      assert.equal(await page.textContent("#stat-connected"), "1");
      assert.deepEqual(await problems(), []);
    }),
});

interopTest({
  name: "status page in chromium: the watch reports what a policy refuses (the page's requests, " +
    "a string evaluation from its timers)",
  needs: [CHROMIUM],
  fn: () =>
    withStandInPage((standIn) => {
      standIn.securityPolicy = statusPageSecurityPolicy().replace(
        "connect-src 'self'",
        "connect-src 'none'",
      );
    }, async (page, problems, standIn) => {
      await page.goto(standIn.url);
      await statusStartsWith(page, "disconnected, retrying");
      assert.equal(standIn.requests, 0, "the policy kept the page from the API");
      // What waitForFunction did after its first check: evaluate a string from a page timer.
      await page.evaluate(() => setTimeout(() => Reflect.apply(eval, null, ["1"])));
      await waitInPage(
        page,
        (key) => Reflect.get(globalThis, key).some((v: string) => v.includes(" refused eval")),
        VIOLATIONS,
      );
      const seen = (await problems()).join("\n");
      assert.match(seen, /policy violation: connect-src refused http:\/\/127\.0\.0\.1:\d+\/api\//);
      assert.match(seen, /policy violation: script-src refused eval/);
    }),
});

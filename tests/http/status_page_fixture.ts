/**
 * What the status page's browser tests share: Debian's chromium (required under `CI`, else the
 * tests are ignored with the reason), a browser launched and always closed, a real broker with
 * its HTTP listener, and a stand-in HTTP server that serves `statusPage()` with JSON the test
 * controls (for states the real listener cannot easily be put in, such as failing API calls).
 *
 * @module
 */

import { type Browser, chromium } from "../fixtures/npm/playwright_core.ts";
import type { PasswordVerifier } from "../../src/broker/options.ts";
import { startHttpServer } from "../../src/http/server.ts";
import { statusPage } from "../../src/http/status_page.ts";
import { startBroker, type TestBroker } from "../integration/harness.ts";
import type { Peer } from "../interop/helpers.ts";

/** Where Debian's `chromium` package puts the browser (its launcher script). */
export const CHROMIUM_PATH = "/usr/bin/chromium";

function findChromium(): Peer {
  const name = "chromium";
  try {
    const info = Deno.statSync(CHROMIUM_PATH);
    if (!info.isFile || ((info.mode ?? 0o111) & 0o111) === 0) {
      return { name, missing: `${CHROMIUM_PATH} is not an executable file` };
    }
    return { name, missing: undefined };
  } catch {
    return { name, missing: `${CHROMIUM_PATH} not found (apt-get install chromium)` };
  }
}

/** Debian's chromium, for `interopTest`'s `needs`. */
export const CHROMIUM: Peer = findChromium();

/**
 * Launch headless chromium, run `fn` with it, and close it whatever happens (bounded: a close
 * that hangs is abandoned after 5 s so the test still ends).
 */
export async function withBrowser(fn: (browser: Browser) => Promise<void>): Promise<void> {
  // Playwright passes --no-sandbox itself (chromiumSandbox defaults to false), which chromium
  // needs when run as root, as in CI containers.
  const browser = await chromium.launch({
    executablePath: CHROMIUM_PATH,
    headless: true,
    timeout: 20_000,
  });
  try {
    await fn(browser);
  } finally {
    let timer: ReturnType<typeof setTimeout> | undefined;
    await Promise.race([
      browser.close(),
      new Promise<void>((resolve) => timer = setTimeout(resolve, 5000)),
    ]);
    clearTimeout(timer);
  }
}

/** A broker and its HTTP listener, for one test. */
export interface LiveBroker {
  /** The broker (its MQTT port is `broker.port`). */
  broker: TestBroker;
  /** The status page's URL, `http://127.0.0.1:PORT/`. */
  url: string;
}

/**
 * Run `fn` against a fresh broker on 127.0.0.1 port 0 and its HTTP listener (open, or with basic
 * auth against `passwords`), also on port 0; both stop afterwards whatever happens. A failure
 * carries the end of the broker's log.
 */
export async function withLiveBroker(
  fn: (live: LiveBroker) => Promise<void>,
  options: { passwords?: PasswordVerifier } = {},
): Promise<void> {
  const broker = startBroker();
  try {
    const http = startHttpServer(broker.broker, {
      hostname: "127.0.0.1",
      port: 0,
      open: options.passwords === undefined,
      passwords: options.passwords,
    });
    try {
      await fn({ broker, url: `http://127.0.0.1:${http.port}/` });
    } finally {
      await http.close();
    }
  } catch (error) {
    if (error instanceof Error) {
      error.message += `\n--- broker log (last 30 lines) ---\n${broker.logs.slice(-30).join("\n")}`;
    }
    throw error;
  } finally {
    await broker.stop();
  }
}

/** A client as `/api/v1/clients` lists it (the fields the page reads). */
export interface ClientEntry {
  /** Client id. */
  clientId: string;
  /** Whether it is connected now. */
  connected: boolean;
  /** 3, 4 or 5. */
  protocolVersion?: number;
  /** Peer address. */
  address?: string;
  /** Username, if any. */
  username?: string;
  /** Number of subscriptions. */
  subscriptions?: number;
  /** Queued messages. */
  queued?: number;
  /** Messages in flight. */
  inflight?: number;
}

/** The stand-in server and the knobs a test turns. */
export interface StandIn {
  /** Its base URL, ending in `/`. */
  url: string;
  /** The clients it lists. */
  clients: ClientEntry[];
  /** Messages per second it pretends to receive (and send), added on each stats request. */
  ratePerSecond: number;
  /** When set, `/api/v1/stats` answers this instead of its made-up figures. */
  stats: unknown;
  /** The Content-Security-Policy header the page is served with (none while undefined). */
  securityPolicy: string | undefined;
  /** While set, every API request answers 503. */
  failing: boolean;
  /** API requests answered so far. */
  requests: number;
  /** Stop serving and wait for the server to close. */
  close(): Promise<void>;
}

/**
 * Serve `statusPage()` at `/` and canned `/api/v1/stats` and `/api/v1/clients` on 127.0.0.1,
 * port 0. The publish counters grow by `ratePerSecond` times the seconds since the last stats
 * request, so the page's computed rate follows `ratePerSecond`.
 */
export function startStandIn(): StandIn {
  const started = Date.now();
  let received = 0;
  let last = started;
  const state: Omit<StandIn, "url" | "close"> = {
    clients: [],
    ratePerSecond: 0,
    stats: undefined,
    securityPolicy: undefined,
    failing: false,
    requests: 0,
  };
  const json = (body: unknown) =>
    new Response(JSON.stringify(body), { headers: { "content-type": "application/json" } });
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, (req) => {
    const path = new URL(req.url).pathname;
    if (path === "/") {
      const headers: Record<string, string> = { "content-type": "text/html; charset=utf-8" };
      if (state.securityPolicy !== undefined) {
        headers["content-security-policy"] = state.securityPolicy;
      }
      return new Response(statusPage(), { headers });
    }
    if (!path.startsWith("/api/")) return new Response("not found", { status: 404 });
    state.requests++;
    if (state.failing) return new Response("unavailable", { status: 503 });
    if (path === "/api/v1/stats" && state.stats !== undefined) return json(state.stats);
    if (path === "/api/v1/stats") {
      const now = Date.now();
      received += state.ratePerSecond * (now - last) / 1000;
      last = now;
      const connected = state.clients.filter((c) => c.connected).length;
      return json({
        version: "0.0.0-stand-in",
        uptimeSeconds: (now - started) / 1000,
        time: new Date(now).toISOString(),
        clients: {
          connected,
          disconnected: state.clients.length - connected,
          total: state.clients.length,
          maximum: connected,
          expired: 0,
        },
        publish: { received: Math.floor(received), sent: Math.floor(received), dropped: 0 },
        subscriptions: 1,
        retained: 2,
        persistence: { enabled: false },
      });
    }
    if (path === "/api/v1/clients") return json({ clients: state.clients });
    return new Response("not found", { status: 404 });
  });
  const standIn: StandIn = Object.assign(state, {
    url: `http://127.0.0.1:${server.addr.port}/`,
    close: () => server.shutdown(),
  });
  return standIn;
}

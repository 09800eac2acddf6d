/**
 * One bridge's life: when it connects (`start_type` automatic, lazy or once), to which address
 * (failover, `round_robin`, back to the first when it answers again), how long it waits before
 * trying again (`restart_timeout`: constant or jittered backoff), its state notifications and
 * log lines, and its figures.
 *
 * @module
 */

import { openNodeSocket, type TlsSettings } from "../transport/node_socket.ts";
import type { Conn } from "../transport/conn.ts";
import { dial } from "../transport/dial.ts";
import type { BridgeFigures } from "../broker/stats.ts";
import type { BridgeHost } from "./host.ts";
import { type Link, LinkCounters, openLink, primeLocalSession } from "./link.ts";
import type { BridgeAddress, BridgeSettings, BridgeTls } from "./settings.ts";

/** How long a TCP connection to the remote broker may take. */
const DIAL_TIMEOUT_MS = 10_000;
/** How often a lazy bridge looks at its queue, and a linked one at its idle time (ms). */
const LAZY_POLL_MS = 1000;

/** A bridge's figures, for `$SYS`, `/metrics`, the API and the status page. */
export type BridgeStats = BridgeFigures;

/** One configured bridge, running. */
export class Bridge {
  /** Its settings (a reload that changes them replaces the bridge). */
  readonly settings: BridgeSettings;
  #host: BridgeHost;
  #counters = new LinkCounters();
  #link: Link | undefined;
  #stopped = false;
  #running: Promise<void> | undefined;
  #wake: (() => void) | undefined;
  #addressIndex = 0;
  #lastAddress = "";
  #connectedSince = 0;
  #links = 0;
  #delayMs = 0;

  /** A bridge of `settings` in `host` (not started). */
  constructor(host: BridgeHost, settings: BridgeSettings) {
    this.#host = host;
    this.settings = settings;
  }

  /** Start it: its local session is made at once, the link as `start_type` says. */
  start(): void {
    this.#notifyLocal(false);
    this.#running = this.#run();
  }

  /** Stop it: close the link (the local session is kept) and wait until it is down. */
  async stop(): Promise<void> {
    this.#stopped = true;
    this.#wake?.();
    await this.#link?.close();
    await this.#running;
  }

  /** Its figures now. */
  stats(): BridgeStats {
    const session = this.#host.sessions.get(this.settings.localClientId);
    const c = this.#counters;
    return {
      name: this.settings.name,
      up: this.#link !== undefined,
      address: this.#lastAddress,
      connectedSince: this.#connectedSince,
      messagesOut: c.messagesOut,
      bytesOut: c.bytesOut,
      messagesIn: c.messagesIn,
      bytesIn: c.bytesIn,
      queued: session?.queuedCount ?? 0,
      dropped: c.dropped + (session?.dropped ?? 0),
      reconnects: Math.max(0, this.#links - 1),
    };
  }

  async #run(): Promise<void> {
    const s = this.settings;
    const log = this.#host.log;
    try {
      if (!s.localCleanSession) await primeLocalSession(this.#host, s);
    } catch (error) {
      log.error(`Bridge ${s.name}: cannot open its session here: ${messageOf(error)}.`);
      return;
    }
    for (let attempt = 0; !this.#stopped; attempt++) {
      if (s.startType === "lazy" && !(await this.#lazyDue())) return;
      const ended = await this.#connectOnce();
      if (this.#stopped) return;
      if (ended && s.startType === "once") {
        log.notice(`Bridge ${s.name}: start_type once, not connecting again.`);
        return;
      }
      await this.#sleep(this.#nextDelay(ended));
    }
  }

  /** Lazy: wait until `threshold` messages are waiting; false when stopped meanwhile. */
  async #lazyDue(): Promise<boolean> {
    while (!this.#stopped) {
      const queued = this.#host.sessions.get(this.settings.localClientId)?.queuedCount ?? 0;
      if (queued >= this.settings.threshold) return true;
      await this.#sleep(LAZY_POLL_MS);
    }
    return false;
  }

  /**
   * Connect to the next address and relay until the link ends. Returns whether a link was up
   * (and has ended), false when the connection failed.
   */
  async #connectOnce(): Promise<boolean> {
    const s = this.settings;
    const log = this.#host.log;
    const address = s.addresses[this.#addressIndex];
    this.#lastAddress = `${address.host}:${address.port}`;
    log.notice(`Connecting bridge ${s.name} (${this.#lastAddress})`);
    let link: Link;
    try {
      const conn = await this.#dial(address);
      link = await openLink(this.#host, s, conn, this.#counters);
    } catch (error) {
      log.notice(`Bridge ${s.name}: ${this.#lastAddress} failed: ${messageOf(error)}.`);
      this.#advanceAddress();
      return false;
    }
    if (this.#stopped) {
      await link.close();
      return true;
    }
    this.#link = link;
    this.#links++;
    this.#delayMs = 0;
    this.#connectedSince = Date.now();
    this.#notifyLocal(true);
    log.notice(`Bridge ${s.name} connected to ${this.#lastAddress}.`);
    // The watch's reason first: closing the link also ends it, with a plainer reason.
    const watched = await Promise.race([link.ended.then(() => undefined), this.#watch(link)]);
    const reason = watched ?? await link.ended;
    await link.ended;
    this.#link = undefined;
    this.#connectedSince = 0;
    this.#notifyLocal(false);
    if (!this.#stopped) {
      log.notice(`Bridge ${s.name}: link to ${this.#lastAddress} ended: ${reason}.`);
    }
    if (s.roundRobin) this.#advanceAddress();
    else this.#addressIndex = 0; // back to the main address once it answers
    return true;
  }

  /**
   * While linked: a lazy bridge closes after `idle_timeout` without messages; one linked to a
   * backup address (no round robin) goes back to the first when it answers. Resolves with the
   * reason it closed the link (before the link's own end does); never while the link is fine.
   */
  async #watch(link: Link): Promise<string | undefined> {
    const s = this.settings;
    const backup = !s.roundRobin && this.#addressIndex > 0;
    if (s.startType !== "lazy" && !backup) return await new Promise<never>(() => {});
    const checkMs = backup ? Math.max(1000, this.#baseDelayMs()) : LAZY_POLL_MS;
    let closing = false;
    void link.ended.then(() => closing = true);
    while (!closing && !this.#stopped) {
      await this.#sleep(checkMs);
      if (closing || this.#stopped) break;
      if (s.startType === "lazy" && Date.now() - link.lastActivity > s.idleTimeout * 1000) {
        return this.#closeFor(link, `no message for idle_timeout (${s.idleTimeout} s)`);
      }
      if (backup && (await this.#answers(s.addresses[0]))) {
        const main = `${s.addresses[0].host}:${s.addresses[0].port}`;
        return this.#closeFor(link, `the main address ${main} answers again`);
      }
    }
    return undefined;
  }

  /** Close `link` for `reason`, which is returned at once (the close goes on meanwhile). */
  #closeFor(link: Link, reason: string): string {
    void link.close();
    return reason;
  }

  /** Whether a TCP connection to `address` can be made now. */
  async #answers(address: BridgeAddress): Promise<boolean> {
    try {
      const conn = await withTimeout(
        Deno.connect({ hostname: address.host, port: address.port }),
        DIAL_TIMEOUT_MS,
      );
      conn.close();
      return true;
    } catch {
      return false;
    }
  }

  #advanceAddress(): void {
    this.#addressIndex = (this.#addressIndex + 1) % this.settings.addresses.length;
  }

  /** The wait before the next attempt: restart_timeout, as a constant or jittered backoff. */
  #nextDelay(wasLinked: boolean): number {
    const r = this.settings.restart;
    if (r.kind === "constant") return r.seconds * 1000;
    // A new failure after a link starts again from the base; each failure in a row grows the
    // wait at random up to three times the last, within the cap ("decorrelated jitter").
    const base = r.base * 1000;
    const last = wasLinked || this.#delayMs === 0 ? base : this.#delayMs;
    this.#delayMs = Math.min(r.cap * 1000, base + Math.random() * (last * 3 - base));
    return this.#delayMs;
  }

  #baseDelayMs(): number {
    const r = this.settings.restart;
    return (r.kind === "constant" ? r.seconds : r.base) * 1000;
  }

  async #dial(address: BridgeAddress): Promise<Conn> {
    const s = this.settings;
    if (s.tls === undefined && s.bindAddress === undefined) {
      return await withTimeout(
        dial({ kind: "tcp", host: address.host, port: address.port }),
        DIAL_TIMEOUT_MS,
      );
    }
    return await withTimeout(
      openNodeSocket({
        host: address.host,
        port: address.port,
        localAddress: s.bindAddress,
        tls: s.tls === undefined ? undefined : await tlsSettings(s.tls),
        insecure: s.tls?.insecure,
      }),
      DIAL_TIMEOUT_MS,
    );
  }

  #notifyLocal(up: boolean): void {
    if (!this.settings.notifications) return;
    const payload = new TextEncoder().encode(up ? "1" : "0");
    this.#host.publishFromBroker(this.settings.notificationTopic, payload, true);
  }

  /** Wait `ms`, or less if the bridge is stopped (one wait at a time). */
  #sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.#wake = undefined;
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.#wake = done;
    });
  }
}

/** Read the files `tls` names into what the TLS connection takes. */
async function tlsSettings(tls: BridgeTls): Promise<TlsSettings> {
  const caCerts: string[] = [];
  if (tls.cafile !== undefined) caCerts.push(await Deno.readTextFile(tls.cafile));
  if (tls.capath !== undefined) {
    for await (const entry of Deno.readDir(tls.capath)) {
      if (entry.isFile && /\.(pem|crt)$/.test(entry.name)) {
        caCerts.push(await Deno.readTextFile(`${tls.capath}/${entry.name}`));
      }
    }
  }
  return {
    caCerts,
    cert: tls.certfile === undefined ? undefined : await Deno.readTextFile(tls.certfile),
    key: tls.keyfile === undefined ? undefined : await Deno.readTextFile(tls.keyfile),
    alpn: tls.alpn,
    version: tls.version,
  };
}

function withTimeout<T extends { close(): void }>(p: Promise<T>, ms: number): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  let late = false;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      late = true;
      reject(new Error(`no connection within ${ms} ms`));
    }, ms);
  });
  // A connection that arrives after the deadline is closed, not leaked.
  void p.then((conn) => late && conn.close(), () => {});
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

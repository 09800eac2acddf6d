/**
 * The message engine of the load generator: publishers and subscribers over `BenchClient`,
 * exact delivery accounting, latency, and the flow control that makes it measure the broker
 * rather than kernel buffers or itself:
 *
 * - QoS 1: at most `window` unacknowledged messages per publisher, refilled in chunks of a
 *   quarter window so that one write carries many messages.
 * - QoS 0: at most `e2eWindow` messages per publisher sent but not yet received by all of its
 *   subscribers; if nothing arrives for 1 s while the window is full (a broker dropping QoS 0),
 *   the outstanding messages are written off (counted as missing) and the window reopens.
 * - `ratePerS`: a fixed aggregate rate, publisher i taking messages i, i+P, i+2P... of one
 *   global schedule; each message is stamped with its scheduled send time, so a broker that
 *   falls behind is charged for the wait (no coordinated omission). Due messages are sent
 *   after every chunk read and on a 1-2 ms timer (Deno's finest); a busy loop or a clock
 *   worker were tried and made things worse (starved reads, a saturated core). How late the
 *   generator itself was is reported as `sendLag`.
 *
 * This module drives the phases of a run (connect, publish, drain, disconnect) and takes the
 * measurements around it; `load_run.ts` holds the per-packet work.
 *
 * Every loop is bounded: by the window, the batch size, the run's duration and its deadline.
 *
 * @module
 */

import { BenchClient } from "./client.ts";
import { LoadRun, subscriberFilter } from "./load_run.ts";
import type { LoadResult, LoadSpec } from "./load_types.ts";
import { nowNs, PAYLOAD_HEADER_BYTES } from "./payload.ts";
import { disconnectAll, forEachLimited } from "./pool.ts";
import { cpuUse, procStatusKb, sampleCpu } from "./proc.ts";
import { makeDialer } from "./transport.ts";

export type { LoadResult, LoadSpec } from "./load_types.ts";

const KEEPALIVE_S = 60;
const CONNECT_TIMEOUT_MS = 10_000;
const CLOSE_WAIT_MS = 2_000;
const CONNECT_CONCURRENCY = 32;
/** Extra seconds past duration + drain before the run is cut. */
const DEADLINE_SLACK_S = 20;

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * Run a message scenario against the broker at `spec.hostname:spec.port` (subscribers: at
 * `spec.subscriberPort` when set).
 */
export async function runLoad(spec: LoadSpec): Promise<LoadResult> {
  if (spec.payloadBytes < PAYLOAD_HEADER_BYTES) {
    throw new RangeError(`payload must be at least ${PAYLOAD_HEADER_BYTES} bytes`);
  }
  const run = new LoadRun(spec);
  const prefix = `mdgb${Deno.pid}`;
  const persistent = spec.persistentSubscribers ?? false;
  const dial = await makeDialer(spec.transport);
  const open = (
    clientId: string,
    options: { readBufferBytes: number; clean?: boolean; port: number },
  ) =>
    BenchClient.open({
      hostname: spec.hostname,
      dial,
      clientId,
      keepAlive: KEEPALIVE_S,
      timeoutMs: CONNECT_TIMEOUT_MS,
      ...options,
    });
  const rssBefore = spec.brokerPid !== undefined
    ? procStatusKb(spec.brokerPid, "VmRSS")
    : undefined;
  const t0 = performance.now();
  try {
    // Subscribers first, so that nothing published is missed.
    await forEachLimited(run.subscriberCount, CONNECT_CONCURRENCY, async (i) => {
      const clientId = persistent ? `mdgb-persistent-s${i}` : `${prefix}-s${i}`;
      const client = await open(clientId, {
        readBufferBytes: 256 * 1024,
        clean: !persistent,
        port: spec.subscriberPort ?? spec.port,
      });
      run.addSubscriber(i, client);
      await client.subscribe(subscriberFilter(spec.scenario, i), {
        qos: spec.qos,
        timeoutMs: CONNECT_TIMEOUT_MS,
      });
    });
    await forEachLimited(spec.publishers, CONNECT_CONCURRENCY, async (i) => {
      const client = await open(`${prefix}-p${i}`, { readBufferBytes: 32 * 1024, port: spec.port });
      run.addPublisher(i, client);
    });
  } catch (error) {
    for (const c of [...run.subs, ...run.pubs]) c.client.close();
    throw new Error(`connection setup failed: ${(error as Error).message}`);
  }
  run.subs.sort((a, b) => a.index - b.index);
  run.pubs.sort((a, b) => a.index - b.index);
  const connectS = (performance.now() - t0) / 1000;
  const clients = [...run.subs.map((s) => s.client), ...run.pubs.map((p) => p.client)];

  const cpu0 = sampleCpu(spec.brokerPid);
  run.startNs = nowNs();
  run.measureFromNs = run.startNs + spec.warmupS * 1e9;
  run.running = true;
  const endNs = run.startNs + spec.durationS * 1e9;
  let ticks = 0;
  const ticker = setInterval(() => {
    if (run.nsPerMessage > 0) run.pace();
    else run.pumpAll();
    if (++ticks % 500 === 0) {
      const idleMs = performance.now() - (KEEPALIVE_S * 1000) / 2;
      for (const c of clients) if (c.lastWriteMs < idleMs) c.send({ type: "pingreq" });
    }
  }, 1);
  run.pumpAll();

  const hardDeadlineNs = run.startNs + (spec.durationS + spec.drainS + DEADLINE_SLACK_S) * 1e9;
  const drainNs = spec.drainS * 1e9;
  let stopAt = 0;
  let progress = -1;
  let progressAt = run.startNs;
  let timedOut = false;
  let stalled = false;
  const maxPolls = Math.ceil((hardDeadlineNs - run.startNs) / 1e6) + 1;
  for (let poll = 0; poll < maxPolls; poll++) {
    await sleep(2);
    const now = nowNs();
    const acked = run.pubs.reduce((a, p) => a + p.acked, 0);
    if (run.uniqueTotal + acked !== progress) {
      progress = run.uniqueTotal + acked;
      progressAt = now;
    }
    if (now > hardDeadlineNs) {
      timedOut = true;
      break;
    }
    if (!run.stopping) {
      if (now >= endNs) {
        run.stopping = true;
        stopAt = now;
      }
      continue;
    }
    const allFinished = run.pubs.every((p) => run.finished(p));
    if (allFinished) {
      const expected = run.pubs.reduce((a, p) => a + p.sequence, 0) * run.fan;
      if (run.uniqueTotal >= expected) break;
    }
    if (now - stopAt > drainNs && now - progressAt > drainNs) {
      stalled = !allFinished;
      break;
    }
  }
  const wallS = (nowNs() - run.startNs) / 1e9;
  const cpu = cpuUse(cpu0, sampleCpu(spec.brokerPid));
  const rss = spec.brokerPid !== undefined
    ? {
      before: rssBefore,
      after: procStatusKb(spec.brokerPid, "VmRSS"),
      peak: procStatusKb(spec.brokerPid, "VmHWM"),
    }
    : {};
  run.running = false;
  clearInterval(ticker);
  const lost = clients.filter((c) => c.failure !== undefined).length;
  for (const c of clients) {
    if (c.failure !== undefined) run.errors.push(`${c.clientId}: ${c.failure}`);
  }
  await disconnectAll(clients, CLOSE_WAIT_MS);
  return run.result({ cpu, connectS, wallS, stalled, timedOut, rss, lost });
}

/**
 * The idle-connections scenario: open N MQTT connections (CONNECT, CONNACK, nothing else),
 * hold them, and read the broker's resident memory before and after (/proc/PID/status VmRSS),
 * giving its memory per idle connection and its connect rate.
 *
 * @module
 */

import { BenchClient } from "./client.ts";
import { Histogram, type LatencySummary, latencySummary } from "./histogram.ts";
import { disconnectAll, forEachLimited } from "./pool.ts";
import { type CpuUse, cpuUse, procStatusKb, sampleCpu } from "./proc.ts";

/** The idle-connections scenario. */
export interface ConnsSpec {
  /** Broker address. */
  hostname: string;
  /** Broker port. */
  port: number;
  /** Connections to open. */
  connections: number;
  /** Handshakes in progress at once. */
  concurrency: number;
  /** Seconds after the last CONNACK before VmRSS is read. */
  settleS: number;
  /** Seconds the connections are held in all (from the last CONNACK). */
  holdS: number;
  /** The broker's process id (needed for the memory figures). */
  brokerPid?: number;
}

/** What the idle-connections scenario measured. */
export interface ConnsResult {
  /** Connections asked for. */
  connections: number;
  /** Connections that got a CONNACK. */
  connected: number;
  /** Seconds from the first connect to the last CONNACK. */
  connectS: number;
  /** Connections per second. */
  connectsPerS: number;
  /** TCP connect to CONNACK, per connection. */
  handshake: LatencySummary;
  /** Broker VmRSS before the first connection, kB. */
  brokerRssKbBefore?: number;
  /** Broker VmRSS after the last CONNACK and the settle time, kB. */
  brokerRssKbAfter?: number;
  /** Broker VmRSS at the end of the hold, kB. */
  brokerRssKbHoldEnd?: number;
  /** (after - before) / connected, in bytes. */
  bytesPerConnection?: number;
  /** Connections the broker closed during the hold. */
  lostDuringHold: number;
  /** CPU use during the connects, % of a core. */
  cpu: CpuUse;
  /** The first few errors. */
  errors: string[];
}

const KEEPALIVE_S = 60;
const CONNECT_TIMEOUT_MS = 10_000;
const CLOSE_WAIT_MS = 2_000;

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Run the idle-connections scenario. */
export async function runConns(spec: ConnsSpec): Promise<ConnsResult> {
  const pid = spec.brokerPid;
  const rss = () => (pid !== undefined ? procStatusKb(pid, "VmRSS") : undefined);
  const clients: BenchClient[] = [];
  const errors: string[] = [];
  const handshake = new Histogram();
  const prefix = `mdgc${Deno.pid}`;
  const before = rss();
  const cpu0 = sampleCpu(pid);
  const t0 = performance.now();
  let lastAck = t0;
  try {
    await forEachLimited(spec.connections, spec.concurrency, async (i) => {
      const start = performance.now();
      const client = await BenchClient.open({
        hostname: spec.hostname,
        port: spec.port,
        clientId: `${prefix}-c${i}`,
        keepAlive: KEEPALIVE_S,
        readBufferBytes: 256,
        timeoutMs: CONNECT_TIMEOUT_MS,
      });
      lastAck = performance.now();
      handshake.record((lastAck - start) * 1000);
      clients.push(client);
    });
  } catch (error) {
    errors.push((error as Error).message);
  }
  const cpu = cpuUse(cpu0, sampleCpu(pid));
  const connectS = (lastAck - t0) / 1000;
  await sleep(spec.settleS * 1000);
  const after = rss();
  await sleep(Math.max(0, spec.holdS - spec.settleS) * 1000);
  const holdEnd = rss();
  const lost = clients.filter((c) => c.failure !== undefined);
  for (const c of lost.slice(0, 5)) errors.push(`${c.clientId}: ${c.failure}`);
  await disconnectAll(clients, CLOSE_WAIT_MS);
  const connected = clients.length;
  return {
    connections: spec.connections,
    connected,
    connectS,
    connectsPerS: connectS > 0 ? connected / connectS : 0,
    handshake: latencySummary(handshake),
    brokerRssKbBefore: before,
    brokerRssKbAfter: after,
    brokerRssKbHoldEnd: holdEnd,
    bytesPerConnection: before !== undefined && after !== undefined && connected > 0
      ? ((after - before) * 1024) / connected
      : undefined,
    lostDuringHold: lost.length,
    cpu,
    errors,
  };
}

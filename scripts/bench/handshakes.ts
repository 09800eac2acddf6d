/**
 * The handshake-rate scenario: a few connectors, each in a loop for a fixed time, connect (with
 * the transport's handshake: TLS, WebSocket upgrade), send CONNECT, wait for CONNACK, then
 * DISCONNECT and wait for the broker to close. Gives full connection cycles per second and the
 * time from the connect to the CONNACK.
 *
 * @module
 */

import { BenchClient } from "./client.ts";
import { Histogram, type LatencySummary, latencySummary } from "./histogram.ts";
import { type CpuUse, cpuUse, sampleCpu } from "./proc.ts";
import { makeDialer, type TransportSpec } from "./transport.ts";

/** The handshake-rate scenario. */
export interface HandshakesSpec {
  /** Broker address. */
  hostname: string;
  /** Broker port. */
  port: number;
  /** How the clients connect (default: plain TCP). */
  transport?: TransportSpec;
  /** Connectors in parallel. */
  connectors: number;
  /** Seconds each connector goes on starting new cycles. */
  durationS: number;
  /** The broker's process id, to sample its CPU. */
  brokerPid?: number;
}

/** What the handshake-rate scenario measured. */
export interface HandshakesResult {
  /** Cycles that got their CONNACK. */
  handshakes: number;
  /** Of those, per second of the run. */
  perS: number;
  /** Cycles that failed. */
  failed: number;
  /** Connect to CONNACK. */
  handshake: LatencySummary;
  /** CPU use during the run, % of a core. */
  cpu: CpuUse;
  /** The first few errors. */
  errors: string[];
}

const KEEPALIVE_S = 60;
const TIMEOUT_MS = 10_000;
const CLOSE_WAIT_MS = 1_000;
/** Most cycles one connector makes (far above what a few seconds allow). */
const MAX_CYCLES = 1_000_000;
/** A connector stops after this many failures. */
const MAX_FAILURES = 10;
const KEPT_ERRORS = 5;

/** Run the handshake-rate scenario. */
export async function runHandshakes(spec: HandshakesSpec): Promise<HandshakesResult> {
  const dial = await makeDialer(spec.transport);
  const histogram = new Histogram();
  const errors: string[] = [];
  let handshakes = 0;
  let failed = 0;
  const cpu0 = sampleCpu(spec.brokerPid);
  const endMs = cpu0.atMs + spec.durationS * 1000;
  const connector = async (k: number) => {
    let failures = 0;
    for (let i = 0; i < MAX_CYCLES && performance.now() < endMs; i++) {
      const start = performance.now();
      try {
        const client = await BenchClient.open({
          hostname: spec.hostname,
          port: spec.port,
          dial,
          clientId: `mdgh${Deno.pid}-${k}-${i}`,
          keepAlive: KEEPALIVE_S,
          readBufferBytes: 256,
          timeoutMs: TIMEOUT_MS,
        });
        histogram.record((performance.now() - start) * 1000);
        handshakes++;
        await client.disconnect(CLOSE_WAIT_MS);
      } catch (error) {
        failed++;
        if (errors.length < KEPT_ERRORS) errors.push((error as Error).message);
        if (++failures >= MAX_FAILURES) return;
      }
    }
  };
  await Promise.all(Array.from({ length: spec.connectors }, (_, k) => connector(k)));
  const cpu = cpuUse(cpu0, sampleCpu(spec.brokerPid));
  const seconds = (performance.now() - cpu0.atMs) / 1000;
  return {
    handshakes,
    perS: seconds > 0 ? handshakes / seconds : 0,
    failed,
    handshake: latencySummary(histogram),
    cpu,
    errors,
  };
}

/**
 * Memory of retained messages: Midge (as `deno task start` runs it) against Mosquitto 2.0 in
 * the same run. Each broker is started fresh (scripts/bench/mosquitto.conf, pinned to CPU 1);
 * one client publishes N retained messages of 1 KiB on N distinct topics, then clears every
 * one (an empty retained PUBLISH). The broker's resident memory (VmRSS) is read idle, after
 * the messages are retained, and after they are cleared. Markdown to standard output.
 *
 * ```
 * deno run -A scripts/bench_memory.ts [--messages N] [--settle-ms MS]
 * ```
 *
 * @module
 */

import { parseArgs } from "node:util";
import { type BrokerName, findOnPath, startBroker } from "./bench/brokers.ts";
import { BenchClient } from "./bench/client.ts";
import { procStatusKb } from "./bench/proc.ts";

const PORT = 18900;
const BROKER_CPU = 1;
const PAYLOAD_BYTES = 1024;
/** Messages sent between two PINGREQ round trips (keeps the client's own buffer small). */
const BATCH = 1000;
const TIMEOUT_MS = 30_000;

/** Resident memory of one broker at each step, in MiB. */
interface MemoryRow {
  broker: BrokerName;
  idle: number;
  retained: number;
  cleared: number;
}

function rssMiB(pid: number): number {
  return (procStatusKb(pid, "VmRSS") ?? NaN) / 1024;
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Publish one retained message per topic, `payload` each, in batches with a round trip. */
async function publishAll(client: BenchClient, count: number, payload: Uint8Array) {
  for (let i = 0; i < count; i += BATCH) {
    for (let j = i; j < Math.min(count, i + BATCH); j++) {
      client.send({
        type: "publish",
        topic: `mem/${j % 100}/${j}`,
        payload,
        qos: 0,
        retain: true,
        dup: false,
      });
    }
    client.send({ type: "pingreq" });
    await client.expect("pingresp", TIMEOUT_MS);
  }
}

async function measure(name: BrokerName, messages: number, settleMs: number): Promise<MemoryRow> {
  const workDir = await Deno.makeTempDir({ prefix: "midge-memory-" });
  const broker = await startBroker(name, { port: PORT, cpu: BROKER_CPU, workDir });
  try {
    await delay(settleMs);
    const idle = rssMiB(broker.pid);
    const client = await BenchClient.open({
      hostname: "127.0.0.1",
      port: PORT,
      clientId: "memory",
      keepAlive: 600,
      readBufferBytes: 65536,
      timeoutMs: TIMEOUT_MS,
    });
    await publishAll(client, messages, new Uint8Array(PAYLOAD_BYTES).fill(0x61));
    await delay(settleMs);
    const retained = rssMiB(broker.pid);
    await publishAll(client, messages, new Uint8Array(0));
    await delay(settleMs);
    const cleared = rssMiB(broker.pid);
    await client.disconnect(1000);
    return { broker: name, idle, retained, cleared };
  } finally {
    await broker.stop();
    await Deno.remove(workDir, { recursive: true });
  }
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    args: Deno.args,
    options: { messages: { type: "string" }, "settle-ms": { type: "string" } },
  });
  const messages = Number(values.messages ?? 200_000);
  const settleMs = Number(values["settle-ms"] ?? 3000);
  const names: BrokerName[] = findOnPath("mosquitto") !== undefined
    ? ["Midge", "Mosquitto"]
    : ["Midge"];
  const rows: MemoryRow[] = [];
  for (const name of names) {
    console.error(`${name}...`);
    rows.push(await measure(name, messages, settleMs));
  }
  const f = (n: number) => n.toFixed(0);
  console.log(
    `${messages} retained messages of ${PAYLOAD_BYTES} B, then all cleared; VmRSS in MiB ` +
      `(${settleMs} ms after each step).\n`,
  );
  console.log("| broker | idle | retained | cleared |");
  console.log("| --- | ---: | ---: | ---: |");
  for (const r of rows) {
    console.log(`| ${r.broker} | ${f(r.idle)} | ${f(r.retained)} | ${f(r.cleared)} |`);
  }
}

if (import.meta.main) await main();

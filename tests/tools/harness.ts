/**
 * Harness of the tool tests: every behaviour of `pub`, `sub` and `rr` is one test body that
 * runs for each implementation of the tools (Mosquitto's `mosquitto_*`, Midge's `midge *`)
 * against each broker (Mosquitto 2.0, Midge), with the same expectations. A test is named
 * `"<behaviour> [<tool> → <broker>]"`, e.g. `"sub -C 3 exits 0 after 3 messages [midge sub →
 * Mosquitto]"`.
 *
 * Tests that need Mosquitto's programs (its tools under test or as a reference, its broker) fail
 * under `CI` when they are missing and are ignored, saying so, otherwise (the rule of
 * tests/interop/helpers.ts). Everything a test starts (tool processes, MQTT peers, the broker)
 * is stopped and awaited when it ends, so the resource and op sanitizers hold; every wait is
 * bounded.
 *
 * @module
 */

import { interopTest, MOSQUITTO_CLIENTS, MOSQUITTO_RR, type Peer } from "../interop/helpers.ts";
import {
  type BrokerConfig,
  type BrokerKind,
  MOSQUITTO_BIN,
  startToolBroker,
  type ToolBroker,
} from "./brokers.ts";
import { MqttPeer, type PeerOptions } from "./peer.ts";
import {
  type Impl,
  spawnTool,
  type Tool,
  toolLabel,
  type ToolOptions,
  type ToolProcess,
  type ToolResult,
} from "./process.ts";

export * from "./process.ts";
export * from "./brokers.ts";
export * from "./peer.ts";

/** The Mosquitto broker (Debian's mosquitto package). */
export const MOSQUITTO_BROKER: Peer = (() => {
  try {
    if (Deno.statSync(MOSQUITTO_BIN).isFile) return { name: "mosquitto", missing: undefined };
  } catch {
    // not installed
  }
  return { name: "mosquitto", missing: "the mosquitto broker (/usr/sbin/mosquitto) not found" };
})();

/** Both implementations of the tools. */
export const IMPLS: readonly Impl[] = ["mosquitto", "midge"];

/** Both brokers. */
export const BROKERS: readonly BrokerKind[] = ["mosquitto", "midge"];

/** `-h 127.0.0.1 -p PORT`. */
export function hostArgs(port: number): string[] {
  return ["-h", "127.0.0.1", "-p", String(port)];
}

/** Resolve after `ms`. */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** What a matrix test gets: the implementation under test, its broker, and helpers. */
export interface ToolContext {
  /** The implementation of the tools under test. */
  impl: Impl;
  /** The broker of this run. */
  broker: ToolBroker;
  /** `-h 127.0.0.1 -p PORT` of the broker. */
  host: string[];
  /** Start `tool` of the implementation under test; stopped when the test ends. */
  spawn(tool: Tool, args: string[], options?: ToolOptions): ToolProcess;
  /** Run `tool` of the implementation under test to its end (bounded, default 10 s). */
  run(tool: Tool, args: string[], options?: ToolOptions): Promise<ToolResult>;
  /** Start Mosquitto's own `tool` (the reference); stopped when the test ends. */
  spawnReference(tool: Tool, args: string[], options?: ToolOptions): ToolProcess;
  /** Run Mosquitto's own `tool` to its end. */
  runReference(tool: Tool, args: string[], options?: ToolOptions): Promise<ToolResult>;
  /** Connect an in-process MQTT peer (version 5 by default); closed when the test ends. */
  peer(options?: PeerOptions): Promise<MqttPeer>;
  /**
   * Wait until the broker logged `line` (or a line matching it). With `process`, fail as soon
   * as that process exits first.
   */
  logged(line: string | RegExp, options?: { timeoutMs?: number; process?: ToolProcess }): Promise<
    void
  >;
  /** Wait until the broker logged the subscription `<clientId> <qos> <filter>` of `process`. */
  subscribed(process: ToolProcess, clientId: string, qos: number, filter: string): Promise<void>;
  /** Register a cleanup, run (last first) when the test ends, before the broker stops. */
  defer(cleanup: () => Promise<void>): void;
}

/** A behaviour to test for every tool implementation against every broker. */
export interface MatrixDefinition {
  /** The behaviour, e.g. `"sub -C 3 exits 0 after 3 messages"`. */
  name: string;
  /** The tool under test (for the test name). */
  tool: Tool;
  /** The test body. */
  fn: (ctx: ToolContext) => Promise<void>;
  /** Implementations to run (default both). */
  impls?: readonly Impl[];
  /** Brokers to run against (default both). */
  brokers?: readonly BrokerKind[];
  /** Broker settings (the same for both brokers). */
  broker?: BrokerConfig;
  /** The test runs Mosquitto's own tools as a reference (`spawnReference`, `runReference`). */
  reference?: boolean;
}

function needsOf(
  impl: Impl,
  tool: Tool,
  broker: BrokerKind | undefined,
  reference: boolean,
): Peer[] {
  const needs: Peer[] = [];
  if (impl === "mosquitto") needs.push(tool === "rr" ? MOSQUITTO_RR : MOSQUITTO_CLIENTS);
  if (reference && !needs.includes(MOSQUITTO_CLIENTS)) needs.push(MOSQUITTO_CLIENTS);
  if (broker === "mosquitto") needs.push(MOSQUITTO_BROKER);
  return needs;
}

/** The `[tool → Broker]` suffix of a matrix test name. */
export function cellName(impl: Impl, tool: Tool, broker?: ToolBroker | BrokerKind): string {
  if (broker === undefined) return `[${toolLabel(impl, tool)}]`;
  const name = typeof broker === "string"
    ? (broker === "midge" ? "Midge" : "Mosquitto")
    : broker.name;
  return `[${toolLabel(impl, tool)} → ${name}]`;
}

/**
 * Run `fn` with a fresh broker of `kind` (`reference`: the test may run Mosquitto's tools too):
 * everything it spawned is killed and awaited,
 * cleanups run and the broker stops, whatever the outcome. A failure carries the end of the
 * broker's log.
 */
export async function withToolBroker(
  impl: Impl,
  kind: BrokerKind,
  config: BrokerConfig,
  fn: (ctx: ToolContext) => Promise<void>,
  options: { reference?: boolean } = {},
): Promise<void> {
  const broker = await startToolBroker(kind, config);
  const processes: ToolProcess[] = [];
  const cleanups: (() => Promise<void>)[] = [];
  const logHas = (line: string | RegExp) =>
    broker.logs().some((l) => typeof line === "string" ? l === line : line.test(l));
  const spawnOf =
    (which: Impl, reference = false) => (tool: Tool, args: string[], toolOptions?: ToolOptions) => {
      if (reference && !options.reference) {
        throw new Error(
          "a test that runs Mosquitto's tools as a reference must say reference: true",
        );
      }
      const p = spawnTool(which, tool, args, toolOptions);
      processes.push(p);
      return p;
    };
  const ctx: ToolContext = {
    impl,
    broker,
    host: hostArgs(broker.port),
    spawn: spawnOf(impl),
    run: (tool, args, options) =>
      spawnOf(impl)(tool, args, options).wait(options?.timeoutMs ?? 10_000),
    spawnReference: spawnOf("mosquitto", true),
    runReference: (tool, args, options) =>
      spawnOf("mosquitto", true)(tool, args, options).wait(options?.timeoutMs ?? 10_000),
    async peer(options) {
      const peer = await MqttPeer.connect(broker.port, options);
      cleanups.push(() => peer.close());
      return peer;
    },
    async logged(line, options = {}) {
      const timeoutMs = options.timeoutMs ?? 5000;
      const deadline = Date.now() + timeoutMs;
      const process = options.process;
      for (let i = 0;; i++) {
        if (logHas(line)) return;
        if (process?.exited) {
          throw new Error(`exited before the broker logged ${line}\n${process.describe()}`);
        }
        if (Date.now() > deadline) {
          throw new Error(
            `timed out after ${timeoutMs} ms waiting for the broker to log ${line}` +
              (process ? `\n${process.describe()}` : ""),
          );
        }
        await sleep(i < 20 ? 5 : 20);
      }
    },
    subscribed(process, clientId, qos, filter) {
      return ctx.logged(`${clientId} ${qos} ${filter}`, { process });
    },
    defer(cleanup) {
      cleanups.push(cleanup);
    },
  };
  try {
    await fn(ctx);
  } catch (error) {
    if (error instanceof Error) {
      error.message += `\n--- ${broker.name} log (last 30 lines) ---\n${
        broker.logs().slice(-30).join("\n")
      }`;
    }
    throw error;
  } finally {
    await Promise.all(processes.map((p) => p.kill("SIGKILL")));
    for (const cleanup of cleanups.reverse()) {
      try {
        await cleanup();
      } catch {
        // a peer whose broker closed it: nothing left to clean
      }
    }
    await broker.stop();
  }
}

/**
 * Register one test per tool implementation × broker, named
 * `"<name> [<tool> → <Broker>]"`, each with a fresh broker.
 */
export function toolMatrix(def: MatrixDefinition): void {
  for (const impl of def.impls ?? IMPLS) {
    for (const kind of def.brokers ?? BROKERS) {
      interopTest({
        name: `${def.name} ${cellName(impl, def.tool, kind)}`,
        needs: needsOf(impl, def.tool, kind, def.reference ?? false),
        fn: () =>
          withToolBroker(impl, kind, def.broker ?? {}, def.fn, { reference: def.reference }),
      });
    }
  }
}

/** What a broker-less test gets (`toolOnlyTest`). */
export interface ToolOnlyContext {
  /** The implementation under test. */
  impl: Impl;
  /** Run `tool` of the implementation under test to its end (bounded, default 10 s). */
  run(tool: Tool, args: string[], options?: ToolOptions): Promise<ToolResult>;
  /** Start `tool` of the implementation under test; stopped when the test ends. */
  spawn(tool: Tool, args: string[], options?: ToolOptions): ToolProcess;
}

/**
 * Register one test per tool implementation, without a broker (usage errors, nothing
 * listening, a scripted fake broker), named `"<name> [<tool>]"`.
 */
export function toolOnlyTest(def: {
  name: string;
  tool: Tool;
  fn: (ctx: ToolOnlyContext) => Promise<void>;
  impls?: readonly Impl[];
}): void {
  for (const impl of def.impls ?? IMPLS) {
    interopTest({
      name: `${def.name} ${cellName(impl, def.tool)}`,
      needs: needsOf(impl, def.tool, undefined, false),
      fn: async () => {
        const processes: ToolProcess[] = [];
        const spawn = (tool: Tool, args: string[], options?: ToolOptions) => {
          const p = spawnTool(impl, tool, args, options);
          processes.push(p);
          return p;
        };
        try {
          await def.fn({
            impl,
            spawn,
            run: (tool, args, options) =>
              spawn(tool, args, options).wait(options?.timeoutMs ?? 10_000),
          });
        } finally {
          await Promise.all(processes.map((p) => p.kill("SIGKILL")));
        }
      },
    });
  }
}

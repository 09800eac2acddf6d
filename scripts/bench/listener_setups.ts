/**
 * What the listeners benchmark (scripts/bench_listeners.ts) measures: each broker behind each
 * kind of listener (a "set-up"), and the runs made against every set-up, from the main
 * benchmark's fan-in and pairs scenarios plus a handshake rate.
 *
 * @module
 */

import type { BrokerName } from "./brokers.ts";
import type { GeneratorJob, GeneratorOutput } from "./generator.ts";
import { type Metric, type ScenarioName, scenarios } from "./scenarios.ts";
import type { TransportSpec } from "./transport.ts";

/** Kinds of listener. */
export type ListenerKind = "TCP" | "TLS" | "ws";

/** One broker behind one kind of listener. */
export interface Setup {
  /** Column title: "Midge TLS". */
  name: string;
  /** Which broker. */
  broker: BrokerName;
  /** Which listener. */
  listener: ListenerKind;
}

/** The certificate files a TLS listener is given, and the CA its clients trust. */
export interface CertFiles {
  /** Server certificate (PEM). */
  cert: string;
  /** Its private key (PEM). */
  key: string;
  /** The CA that signed it (PEM). */
  ca: string;
}

/** Every set-up of `brokers`, Midge's first. */
export function setups(brokers: readonly BrokerName[]): Setup[] {
  const kinds: ListenerKind[] = ["TCP", "TLS", "ws"];
  return brokers.flatMap((broker) =>
    kinds.map((listener) => ({ name: `${broker} ${listener}`, broker, listener }))
  );
}

/**
 * The lines under a set-up's `listener` line (both brokers read them). `set_tcp_nodelay true`
 * for all: without it Mosquitto's TLS handshakes wait on Nagle's algorithm and delayed ACKs
 * (about 40 ms each, 80 handshakes/s instead of 560 here), which measures the kernel, not TLS.
 */
export function listenerLines(setup: Setup, certs: CertFiles): string[] {
  const nodelay = "set_tcp_nodelay true";
  switch (setup.listener) {
    case "TCP":
      return [nodelay];
    case "TLS":
      return [nodelay, `certfile ${certs.cert}`, `keyfile ${certs.key}`];
    case "ws":
      return [nodelay, "protocol websockets"];
  }
}

/** How the generator's clients connect to a set-up. */
export function transportOf(setup: Setup, certs: CertFiles): TransportSpec {
  switch (setup.listener) {
    case "TCP":
      return { kind: "tcp" };
    case "TLS":
      return { kind: "tls", caFile: certs.ca };
    case "ws":
      return { kind: "ws" };
  }
}

/** Names of the runs, as `--only` takes them. */
export type RunName = "fanin" | "pairs" | "handshakes";

/** Every run, in the order they are made. */
export const RUN_NAMES: readonly RunName[] = ["fanin", "pairs", "handshakes"];

/** A kind of run made against every set-up. */
export interface ListenerRun {
  /** Name for `--only`. */
  name: RunName;
  /** Row title. */
  title: string;
  /** The generator's job against `port` (broker process `pid`) through `transport`. */
  job(port: number, pid: number, transport: TransportSpec): GeneratorJob;
  /** Figures it contributes; the first is the one compared. */
  metrics: Metric[];
}

/** Parameters of the handshake-rate run. */
export const HANDSHAKES = { connectors: 4, durationS: 3, quickDurationS: 2 };

function handshakes(output: GeneratorOutput) {
  return output.kind === "handshakes" ? output.result : undefined;
}

/** The runs, with `quick` durations or full ones. */
export function listenerRuns(quick: boolean): ListenerRun[] {
  const fromMain = (name: ScenarioName & RunName): ListenerRun => {
    const scenario = scenarios(quick).find((s) => s.name === name);
    if (scenario === undefined) throw new Error(`scripts/bench/scenarios.ts has no ${name}`);
    return {
      name,
      title: scenario.title.replace(/^\([a-z]\) /, ""),
      metrics: scenario.metrics,
      job(port, pid, transport) {
        const job = scenario.job(port, pid);
        return job.kind === "load" ? { kind: "load", spec: { ...job.spec, transport } } : job;
      },
    };
  };
  const durationS = quick ? HANDSHAKES.quickDurationS : HANDSHAKES.durationS;
  return [fromMain("fanin"), fromMain("pairs"), {
    name: "handshakes",
    title: `handshakes: ${HANDSHAKES.connectors} connectors for ${durationS} s, each cycle ` +
      "connect (+ TLS / upgrade), CONNECT, CONNACK, DISCONNECT",
    metrics: [
      { label: "cycles/s", digits: 0, pick: (o) => handshakes(o)?.perS },
      {
        label: "connect to CONNACK p50 ms",
        digits: 2,
        pick: (o) => {
          const us = handshakes(o)?.handshake.p50Us;
          return us !== undefined ? us / 1000 : undefined;
        },
      },
    ],
    job: (port, pid, transport) => ({
      kind: "handshakes",
      spec: {
        hostname: "127.0.0.1",
        port,
        brokerPid: pid,
        transport,
        connectors: HANDSHAKES.connectors,
        durationS,
      },
    }),
  }];
}

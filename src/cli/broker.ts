/**
 * `midge [broker]`: run the broker with Mosquitto's command-line options (-p, -v; -c and -d
 * arrive with the configuration step).
 *
 * @module
 */

import { parseArgs } from "node:util";
import { Broker } from "../broker/broker.ts";
import { defaultBrokerOptions } from "../broker/options.ts";
import { ALL_LOG_TYPES, Logger } from "../log/logger.ts";
import { MIDGE_VERSION } from "../version.ts";
import type { CliIo } from "./dispatch.ts";

const USAGE = `midge broker ${MIDGE_VERSION}

Usage: midge [broker] [-p port] [-v]

 -p : listen on this port instead of 1883 (on 127.0.0.1 and ::1 only, as with no config file).
 -v : verbose mode: log everything, as log_type all.`;

/** Parse the broker's options; a usage error is thrown as an Error with the message to print. */
export function parseBrokerArgs(args: string[]): { port: number; verbose: boolean } {
  const { values, positionals } = parseArgs({
    args,
    options: {
      port: { type: "string", short: "p" },
      verbose: { type: "boolean", short: "v" },
      config: { type: "string", short: "c" },
      daemon: { type: "boolean", short: "d" },
      help: { type: "boolean", short: "h" },
    },
    allowPositionals: true,
  });
  if (values.help) throw new UsageHelp();
  if (positionals.length > 0) throw new Error(`unexpected argument '${positionals[0]}'`);
  if (values.config !== undefined) throw new Error("-c: configuration files are not built yet");
  if (values.daemon) throw new Error("-d: daemon mode is not built yet");
  let port = 1883;
  if (values.port !== undefined) {
    port = Number(values.port);
    if (!Number.isInteger(port) || port < 1 || port > 65535) {
      throw new Error(`-p: invalid port '${values.port}', must be 1-65535`);
    }
  }
  return { port, verbose: values.verbose ?? false };
}

/** Thrown for -h: print the usage and exit 0. */
class UsageHelp extends Error {}

/** Run the broker until SIGINT or SIGTERM; resolves to the exit code. */
export async function runBroker(args: string[], io: CliIo): Promise<number> {
  let parsed;
  try {
    parsed = parseBrokerArgs(args);
  } catch (error) {
    if (error instanceof UsageHelp) {
      io.out(USAGE);
      return 0;
    }
    io.err(`Error: ${(error as Error).message}`);
    io.err("Run 'midge broker -h' for usage.");
    return 1;
  }
  const options = defaultBrokerOptions();
  if (parsed.verbose) options.logger = new Logger({ types: ALL_LOG_TYPES });
  options.listeners = options.listeners.map((l) => ({ ...l, port: parsed.port }));
  const log = options.logger;
  log.notice(`midge version ${MIDGE_VERSION} starting`);
  log.notice("Using default config.");
  log.notice(
    "Starting in local only mode. Connections will only be possible from clients running on " +
      "this machine.",
  );
  log.notice("Create a configuration file which defines a listener to allow remote access.");
  const broker = new Broker(options);
  try {
    broker.start();
  } catch (error) {
    log.error(`Error: ${(error as Error).message}`);
    await broker.stop();
    return 1;
  }
  log.notice(`midge version ${MIDGE_VERSION} running`);
  const { promise: stopped, resolve } = Promise.withResolvers<void>();
  const onSignal = () => resolve();
  Deno.addSignalListener("SIGINT", onSignal);
  Deno.addSignalListener("SIGTERM", onSignal);
  await stopped;
  Deno.removeSignalListener("SIGINT", onSignal);
  Deno.removeSignalListener("SIGTERM", onSignal);
  log.notice(`midge version ${MIDGE_VERSION} terminating`);
  await broker.stop();
  return 0;
}

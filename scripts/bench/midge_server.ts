/**
 * Midge as the benchmark runs it, with the settings of `scripts/bench/mosquitto.conf` (there is
 * no configuration file support yet, so they are set here):
 *
 * ```
 * deno run -A scripts/bench/midge_server.ts PORT
 * ```
 *
 * One listener on 127.0.0.1:PORT, anonymous, no persistence, no limit on messages in flight or
 * queued per client (`max_inflight_messages 0`, `max_queued_messages 0`, `max_queued_bytes 0`),
 * and only errors and warnings logged, to standard error. Everything else is Mosquitto 2.0's
 * default, as in `defaultBrokerOptions()`. Stops on SIGTERM or SIGINT.
 *
 * @module
 */

import { Broker } from "../../src/broker/broker.ts";
import { type BrokerOptions, defaultBrokerOptions } from "../../src/broker/options.ts";
import { Logger } from "../../src/log/logger.ts";

/** The broker options of the benchmark, listening on 127.0.0.1:`port`. */
export function benchBrokerOptions(port: number): BrokerOptions {
  const options = defaultBrokerOptions();
  options.listeners = [{ host: "127.0.0.1", port }];
  options.maxInflightMessages = 0; // max_inflight_messages 0: no limit
  options.maxQueuedMessages = 0; // max_queued_messages 0: no limit
  options.maxQueuedBytes = 0; // max_queued_bytes 0: no limit
  options.logger = new Logger({ types: ["error", "warning"] }); // log_type error, warning
  return options;
}

/** Run the broker on `port` until SIGTERM or SIGINT; resolves to the exit code. */
export async function serve(port: number): Promise<number> {
  const broker = new Broker(benchBrokerOptions(port));
  try {
    broker.start();
  } catch (error) {
    console.error(`midge_server: cannot listen on 127.0.0.1:${port}: ${(error as Error).message}`);
    return 1;
  }
  const { promise: stopped, resolve } = Promise.withResolvers<void>();
  Deno.addSignalListener("SIGTERM", resolve);
  Deno.addSignalListener("SIGINT", resolve);
  await stopped;
  Deno.removeSignalListener("SIGTERM", resolve);
  Deno.removeSignalListener("SIGINT", resolve);
  await broker.stop();
  return 0;
}

if (import.meta.main) {
  const port = Number(Deno.args[0]);
  if (!Number.isInteger(port) || port < 1 || port > 65535) {
    console.error("usage: deno run -A scripts/bench/midge_server.ts PORT");
    Deno.exit(1);
  }
  Deno.exit(await serve(port));
}

/**
 * `midge sub`, Mosquitto's `mosquitto_sub`: subscribe to the `-t` filters and print each
 * message as `-v`, `-N`, `-F` and `--pretty` say, until `-C` messages, `-W` seconds, `-E`
 * (the SUBACK), `--retained-only` (the first live message) or a signal ends it.
 *
 * @module
 */

import { type PublishPacket, type Subscription, topicFilterProblem } from "../codec/mod.ts";
import { SubscriptionTrie } from "../router/mod.ts";
import type { ClientOptions } from "./client_options.ts";
import type { MqttClient } from "../client/mqtt_client.ts";
import { connectTool, parseToolArgs, printMessage } from "./tool_session.ts";
import type { CliIo } from "./cli_io.ts";

/** Exit code of `-W` expiring: libmosquitto's MOSQ_ERR_TIMEOUT. */
export const EXIT_TIMED_OUT = 27;

/** Run `midge sub` with `args`; resolves to the exit code. */
export async function runSub(
  args: string[],
  io: CliIo,
  program = "mosquitto_sub",
): Promise<number> {
  const options = await parseToolArgs("sub", args, io, program);
  if (typeof options === "number") return options;
  const connection = await connectTool(options, io);
  if ("exitCode" in connection) return connection.exitCode;
  return await subscribeAndPrint(connection.client, connection.clientId, options, io);
}

/** The subscriptions `-t`, `-q`, `--retain-as-published` and `--retained-only` ask for. */
export function subscriptionsOf(options: ClientOptions): Subscription[] {
  return options.topics.map((topicFilter) => ({
    topicFilter,
    qos: options.qos,
    noLocal: options.noLocal,
    retainAsPublished: options.retainAsPublished,
    retainHandling: options.retainHandling,
  }));
}

/** A trie of the `-T` filters, to drop messages on topics they match. */
function filterOut(options: ClientOptions): (topic: string) => boolean {
  if (options.filterOutTopics.length === 0) return () => false;
  const trie = new SubscriptionTrie<true>();
  for (const filter of options.filterOutTopics) {
    if (topicFilterProblem(filter) === undefined) trie.subscribe("-T", filter, true);
  }
  return (topic) => {
    let matched = false;
    trie.match(topic, () => matched = true);
    return matched;
  };
}

async function subscribeAndPrint(
  client: MqttClient,
  clientId: string,
  options: ClientOptions,
  io: CliIo,
): Promise<number> {
  const skip = filterOut(options);
  const { promise: finished, resolve } = Promise.withResolvers<number>();
  let done = false;
  const finish = (code: number) => {
    done = true;
    resolve(code);
  };
  let printed = 0;
  client.onMessage = (message: PublishPacket) => {
    if (done) return; // a message arriving after -C or --retained-only ended the run
    if (options.retainedOnly && !message.retain) return finish(0);
    if (options.noRetained && message.retain) return;
    if (skip(message.topic)) return;
    if (options.removeRetained && message.retain) {
      client.publish(message.topic, new Uint8Array(), { qos: 0, retain: true }).catch(() => {});
    }
    if (options.randomFilter < 100 && Math.random() * 100 >= options.randomFilter) return;
    printMessage(io, message, clientId, options);
    printed++;
    if (options.msgCount > 0 && printed >= options.msgCount) finish(0);
  };
  let timer: ReturnType<typeof setTimeout> | undefined;
  if (options.timeout > 0) {
    timer = setTimeout(() => {
      if (!options.quiet) io.err("Timed out");
      finish(EXIT_TIMED_OUT);
    }, options.timeout * 1000);
  }
  const onSignal = () => finish(0);
  Deno.addSignalListener("SIGINT", onSignal);
  Deno.addSignalListener("SIGTERM", onSignal);
  client.closed.then((error) => {
    if (error !== undefined && !options.quiet) io.err(`Error: ${error.message}`);
    finish(error === undefined ? 0 : 1);
  });
  try {
    const subscribe = options.protocolVersion === 5 ? options.properties.subscribe : undefined;
    const suback = await client.subscribe(subscriptionsOf(options), subscribe);
    if (options.debug) {
      io.out(`Subscribed (mid: ${suback.packetId}): ${suback.reasonCodes.join(", ")}`);
    }
    if (options.unsubscribeTopics.length > 0) {
      const unsubscribe = options.protocolVersion === 5
        ? options.properties.unsubscribe
        : undefined;
      await client.unsubscribe(options.unsubscribeTopics, unsubscribe);
    }
    if (options.exitAfterSubscribe) finish(0);
  } catch (error) {
    if (!client.isClosed) {
      if (!options.quiet) io.err(`Error: ${(error as Error).message}`);
      finish(1);
    }
  }
  const code = await finished;
  clearTimeout(timer);
  Deno.removeSignalListener("SIGINT", onSignal);
  Deno.removeSignalListener("SIGTERM", onSignal);
  await client.disconnect(
    0,
    options.protocolVersion === 5 ? options.properties.disconnect : undefined,
  );
  return code;
}

/**
 * `midge sub`, Mosquitto's `mosquitto_sub`: subscribe to the `-t` filters and print each
 * message as `-v`, `-N`, `-F` and `--pretty` say, until `-C` messages, `-W` seconds, `-E`
 * (the SUBACK), `--retained-only` (the first live message) or a signal ends it.
 *
 * @module
 */

import {
  type PublishPacket,
  type SubackPacket,
  type Subscription,
  topicFilterProblem,
} from "../codec/mod.ts";
import { SubscriptionTrie } from "../router/mod.ts";
import type { ClientOptions } from "./client_options.ts";
import type { MqttClient } from "../client/mqtt_client.ts";
import { connectTool, parseToolArgs, printMessage, reconnectTool } from "./tool_session.ts";
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

/**
 * Send the subscriptions, then one UNSUBSCRIBE per `-U` filter without waiting for the
 * SUBACK, as mosquitto_sub does on every connection.
 */
function subscribeOn(client: MqttClient, options: ClientOptions): void {
  const v5 = options.protocolVersion === 5;
  const subscribe = v5 ? options.properties.subscribe : undefined;
  client.subscribe(subscriptionsOf(options), subscribe).catch(() => {});
  const unsubscribe = v5 ? options.properties.unsubscribe : undefined;
  for (const filter of options.unsubscribeTopics) {
    client.unsubscribe([filter], unsubscribe).catch(() => {});
  }
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

/** How long sub waits before connecting again after a lost connection, as mosquitto_sub. */
export const RECONNECT_DELAY_MS = 1000;

/**
 * Subscribe and print until the run ends. A lost connection is opened again every
 * `RECONNECT_DELAY_MS`, without a word, and the subscriptions are sent again even when the
 * session was kept, as mosquitto_sub does; `-C` counts across connections. A 5.0 broker's
 * DISCONNECT ends the run with 0.
 */
async function subscribeAndPrint(
  first: MqttClient,
  clientId: string,
  options: ClientOptions,
  io: CliIo,
): Promise<number> {
  const skip = filterOut(options);
  const { promise: finished, resolve } = Promise.withResolvers<number>();
  let client = first;
  let done = false;
  let leaving: Promise<void> = Promise.resolve();
  const disconnectProperties = options.protocolVersion === 5
    ? options.properties.disconnect
    : undefined;
  const finish = (code: number) => {
    if (done) return;
    done = true;
    // DISCONNECT goes at once, so no packet read after this one is handled (or traced).
    leaving = client.disconnect(0, disconnectProperties);
    resolve(code);
  };
  let printed = 0;
  const onMessage = (message: PublishPacket) => {
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
  const onSuback = (suback: SubackPacket) => {
    if (options.debug) {
      io.out(`Subscribed (mid: ${suback.packetId}): ${suback.reasonCodes.join(", ")}`);
    }
    if (options.exitAfterSubscribe) finish(0);
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
  const again = { ...options, clientId };
  while (!done) {
    let brokerDisconnect = false;
    client.onDisconnect = () => brokerDisconnect = true;
    client.onMessage = onMessage;
    client.onSuback = onSuback;
    subscribeOn(client, options);
    await Promise.race([client.closed, finished]);
    if (done) break;
    if (brokerDisconnect) {
      finish(0);
      break;
    }
    const next = await reconnect(client, { options: again, io, ended: finished });
    if (typeof next === "number") finish(next);
    else if (next !== undefined) {
      client = next;
      // The run may have ended while it was being opened.
      if (done) leaving = next.disconnect(0, disconnectProperties);
    }
  }
  const code = await finished;
  clearTimeout(timer);
  Deno.removeSignalListener("SIGINT", onSignal);
  Deno.removeSignalListener("SIGTERM", onSignal);
  await leaving;
  return code;
}

/** What reconnecting needs: the options to connect with, where to report, when to stop. */
interface Reconnection {
  options: ClientOptions;
  io: CliIo;
  /** Settles when the run ends. */
  ended: Promise<number>;
}

/**
 * Connect again every `RECONNECT_DELAY_MS`, silently, until connected (the new client),
 * refused (the exit code, reported) or the run has ended (undefined).
 */
async function reconnect(
  lost: MqttClient,
  how: Reconnection,
): Promise<MqttClient | number | undefined> {
  const ended = how.ended.then(() => "ended" as const);
  for (;;) {
    let wait: ReturnType<typeof setTimeout> | undefined;
    const woken = await Promise.race([
      ended,
      new Promise<"time">((wake) => wait = setTimeout(() => wake("time"), RECONNECT_DELAY_MS)),
    ]);
    clearTimeout(wait);
    if (woken === "ended") return undefined;
    const connection = await reconnectTool(how.options, how.io, lost);
    if (connection === undefined) continue;
    return "exitCode" in connection ? connection.exitCode : connection.client;
  }
}

/**
 * `midge pub`, Mosquitto's `mosquitto_pub`: publish one message (`-m`, `-f`, `-n`, `-s`),
 * possibly repeated, or every line of standard input (`-l`), then disconnect. QoS 1 and 2 wait
 * for their acknowledgements; `-l` keeps at most `-M` (20) messages in flight.
 *
 * @module
 */

import { MqttError, type Properties, type QoS } from "../codec/mod.ts";
import type { ClientOptions } from "./client_options.ts";
import { reasonText } from "./messages.ts";
import type { MqttClient } from "../client/mqtt_client.ts";
import { connectTool, parseToolArgs } from "./tool_session.ts";
import type { CliIo } from "./cli_io.ts";

/** Lines of `-l` published at QoS 0 between waits for the socket to drain. */
const QOS0_BATCH = 1024;

/** Run `midge pub` with `args`; resolves to the exit code. */
export async function runPub(
  args: string[],
  io: CliIo,
  program = "mosquitto_pub",
): Promise<number> {
  const options = await parseToolArgs("pub", args, io, program);
  if (typeof options === "number") return options;
  const connection = await connectTool(options, io);
  if ("exitCode" in connection) return connection.exitCode;
  const { client } = connection;
  let code = 0;
  try {
    if (options.messageSource === "stdin-line") {
      await publishLines(client, options, Deno.stdin.readable);
    } else {
      await publishRepeated(client, options);
    }
  } catch (error) {
    code = reportFailure(error, options, io);
  }
  await client.disconnect(
    0,
    options.protocolVersion === 5 ? options.properties.disconnect : undefined,
  );
  return code;
}

function publishOptions(
  options: ClientOptions,
): { qos: QoS; retain: boolean; properties?: Properties } {
  return {
    qos: options.qos,
    retain: options.retain,
    properties: options.protocolVersion === 5 ? options.properties.publish : undefined,
  };
}

async function publishRepeated(client: MqttClient, options: ClientOptions): Promise<void> {
  const message = options.message ?? new Uint8Array();
  const publish = publishOptions(options);
  for (let i = 0; i < options.repeatCount; i++) {
    if (i > 0 && options.repeatDelay > 0) {
      await new Promise((resolve) => setTimeout(resolve, options.repeatDelay * 1000));
    }
    await client.publish(options.topics[0], message, publish);
  }
}

/**
 * Publish each line of `input` (without its end of line) as one message. QoS 1/2: at most
 * `-M` (and the broker's receive maximum) in flight; QoS 0: in batches written together.
 */
async function publishLines(
  client: MqttClient,
  options: ClientOptions,
  input: ReadableStream<Uint8Array>,
): Promise<void> {
  const publish = publishOptions(options);
  const topic = options.topics[0];
  const receiveMaximum = client.connack.properties?.receiveMaximum ?? 65535;
  const window = Math.max(1, Math.min(options.maxInflight || 65535, receiveMaximum));
  const inFlight = new Set<Promise<void>>();
  let failure: unknown;
  let sinceDrain = 0;
  let lastQos0: Promise<void> = Promise.resolve();
  const send = async (line: Uint8Array) => {
    if (failure !== undefined) throw failure;
    if (publish.qos === 0) {
      // Resolves once written: waiting for every QoS0_BATCH-th keeps memory bounded.
      lastQos0 = client.publish(topic, line, publish).catch((error) => {
        failure ??= error;
      });
      if (++sinceDrain >= QOS0_BATCH) {
        sinceDrain = 0;
        await lastQos0;
      }
      return;
    }
    while (inFlight.size >= window) await Promise.race(inFlight);
    const sent: Promise<void> = client.publish(topic, line, publish).catch((error) => {
      failure ??= error;
    }).finally(() => inFlight.delete(sent));
    inFlight.add(sent);
  };
  for await (const line of splitLines(input)) await send(line);
  await Promise.all(inFlight);
  await lastQos0;
  if (failure !== undefined) throw failure;
}

/** The lines of a byte stream, without "\n" (a last line without one counts too). */
export async function* splitLines(input: ReadableStream<Uint8Array>): AsyncGenerator<Uint8Array> {
  let pending = new Uint8Array(0);
  for await (const chunk of input) {
    let data = chunk;
    if (pending.length > 0) {
      data = new Uint8Array(pending.length + chunk.length);
      data.set(pending);
      data.set(chunk, pending.length);
    }
    let start = 0;
    for (let i = data.indexOf(0x0a); i >= 0; i = data.indexOf(0x0a, start)) {
      yield data.slice(start, i);
      start = i + 1;
    }
    pending = data.slice(start);
  }
  if (pending.length > 0) yield pending;
}

/** Print why publishing failed, as mosquitto_pub does; the exit code. */
function reportFailure(error: unknown, options: ClientOptions, io: CliIo): number {
  if (options.quiet) return 1;
  if (error instanceof MqttError) {
    io.err(`Warning: Publish failed: ${reasonText(error.reasonCode)}.`);
  } else {
    io.err(`Error: ${error instanceof Error ? error.message : String(error)}`);
  }
  return 1;
}

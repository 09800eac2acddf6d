/**
 * `midge rr`, Mosquitto's `mosquitto_rr`: MQTT 5.0 request/response. Subscribe to the
 * response topic (`-e`), publish the request to `-t` with that response topic (and any
 * `-D publish` properties, such as correlation data), print the first response as `sub`
 * would, and exit; `-W` bounds the wait.
 *
 * @module
 */

import { type Properties, type PublishPacket } from "../codec/mod.ts";
import { connectTool, parseToolArgs, printMessage } from "./tool_session.ts";
import type { CliIo } from "./cli_io.ts";
import { EXIT_TIMED_OUT } from "./sub.ts";

/** Run `midge rr` with `args`; resolves to the exit code. */
export async function runRr(args: string[], io: CliIo, program = "mosquitto_rr"): Promise<number> {
  const options = await parseToolArgs("rr", args, io, program);
  if (typeof options === "number") return options;
  let message = options.message;
  if (message === undefined && options.messageSource === "file" && options.file !== undefined) {
    message = await Deno.readFile(options.file);
  } else if (message === undefined && options.messageSource === "stdin-file") {
    message = new Uint8Array(await new Response(Deno.stdin.readable).arrayBuffer());
  }
  const connection = await connectTool(options, io);
  if ("exitCode" in connection) return connection.exitCode;
  const { client, clientId } = connection;
  const { promise: finished, resolve } = Promise.withResolvers<number>();
  let done = false;
  const finish = (code: number) => {
    done = true;
    resolve(code);
  };
  const responseTopic = options.responseTopic!;
  client.onMessage = (response: PublishPacket) => {
    if (done) return;
    printMessage(io, response, clientId, options);
    finish(0);
  };
  client.closed.then((error) => {
    if (error !== undefined && !options.quiet) io.err(`Error: ${error.message}`);
    finish(error === undefined ? 0 : 1);
  });
  let timer: ReturnType<typeof setTimeout> | undefined;
  if (options.timeout > 0) {
    timer = setTimeout(() => {
      if (!options.quiet) io.err("Timed out");
      finish(EXIT_TIMED_OUT);
    }, options.timeout * 1000);
  }
  try {
    await client.subscribe([{
      topicFilter: responseTopic,
      qos: options.qos,
      noLocal: false,
      retainAsPublished: false,
      retainHandling: 0,
    }], options.properties.subscribe);
    const properties: Properties = { ...options.properties.publish, responseTopic };
    await client.publish(options.topics[0], message ?? new Uint8Array(), {
      qos: options.qos,
      properties,
    });
  } catch (error) {
    if (!client.isClosed) {
      if (!options.quiet) io.err(`Error: ${(error as Error).message}`);
      finish(1);
    }
  }
  const code = await finished;
  clearTimeout(timer);
  await client.disconnect(0, options.properties.disconnect);
  return code;
}

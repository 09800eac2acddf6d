/**
 * `log_dest topic`: lines published by the broker on `$SYS/broker/log/...`, one topic per log
 * type as in Mosquitto. Debug lines are never published.
 *
 * @module
 */

import { type LogSink, type LogType, stderrSink } from "./logger.ts";

/** Publishes a message from the broker itself (QoS 0, not retained). */
export type PublishFunction = (topic: string, payload: Uint8Array) => void;

/** The topic lines of each type are published on; undefined for types never published. */
export const LOG_TOPICS: Readonly<Record<LogType, string | undefined>> = {
  error: "$SYS/broker/log/E",
  warning: "$SYS/broker/log/W",
  notice: "$SYS/broker/log/N",
  information: "$SYS/broker/log/I",
  subscribe: "$SYS/broker/log/M/subscribe",
  unsubscribe: "$SYS/broker/log/M/unsubscribe",
  websockets: "$SYS/broker/log/WS",
  debug: undefined,
};

/**
 * A sink publishing each line (timestamp included, as Mosquitto does) with `publish`. A line
 * logged while a line is being published (by the routing itself) is not published, so
 * logging cannot loop; it still reaches the other destinations.
 */
export function topicSink(publish: PublishFunction): LogSink {
  const encoder = new TextEncoder();
  let publishing = false;
  return (line, type) => {
    const topic = LOG_TOPICS[type];
    if (topic === undefined || publishing) return;
    publishing = true;
    try {
      publish(topic, encoder.encode(line));
    } catch (error) {
      stderrSink(`Warning: cannot publish a log line on ${topic}: ${(error as Error).message}`);
    } finally {
      publishing = false;
    }
  };
}

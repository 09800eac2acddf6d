/**
 * The connection limit of the whole process, set as the listeners open: the descriptor limit
 * read at start, logged once, and a warning for a `max_connections` that could never be
 * reached under it.
 *
 * @module
 */

import type { Logger } from "../log/logger.ts";
import {
  ConnectionGate,
  descriptorGateLimit,
  readDescriptorLimit,
} from "../transport/connection_gate.ts";
import type { ListenerOptions } from "./options.ts";

/**
 * The gate every listener (MQTT and HTTP) admits its connections through, for a process whose
 * descriptor limit is `descriptorLimit` (read from the system when undefined).
 */
export function openConnectionGate(
  log: Logger,
  listeners: readonly ListenerOptions[],
  descriptorLimit: number | undefined = readDescriptorLimit(),
): ConnectionGate {
  const gate = new ConnectionGate(descriptorGateLimit(descriptorLimit), {
    paused: (line) => log.warning(line),
    resumed: (line) => log.notice(line),
  });
  if (descriptorLimit === undefined) {
    log.info("Descriptor limit unknown: connections are limited by max_connections only.");
    return gate;
  }
  log.info(
    `Descriptor limit ${descriptorLimit}: at most ${gate.capacity} connections at once, ` +
      "all listeners together.",
  );
  for (const l of listeners) {
    const max = l.maxConnections ?? -1;
    if (max > gate.capacity) {
      log.warning(
        `Warning: max_connections ${max} on port ${l.port} is more than the descriptor limit ` +
          `allows: at most ${gate.capacity} connections at once (raise it with ulimit -n or ` +
          "LimitNOFILE).",
      );
    }
  }
  return gate;
}

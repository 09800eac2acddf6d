/**
 * `[log]` values for tests: the schema's defaults with some options changed.
 *
 * @module
 */

import { LOG_OPTIONS, type LogConfig } from "../../src/config/options.ts";

/** The `[log]` defaults from the schema, with `overrides`. */
export function logConfig(overrides: Partial<LogConfig> = {}): LogConfig {
  const defaults = Object.fromEntries(
    Object.entries(LOG_OPTIONS).map(([key, spec]) => [key, spec.default]),
  ) as unknown as LogConfig;
  return { ...defaults, ...overrides };
}

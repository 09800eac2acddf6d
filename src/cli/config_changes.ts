/**
 * What a reloaded configuration changes, option by option, split into what SIGHUP applies and
 * what needs a restart (Mosquitto's "Reloaded on reload signal" / "Not reloaded").
 *
 * @module
 */

import { type Config, SECTION_TABLES } from "../config/options.ts";
import type { SectionName } from "../config/schema.ts";

/** The differences between two configurations, as log-ready phrases. */
export interface ConfigChanges {
  /** `key: old -> new` for options a reload applies. */
  applied: string[];
  /** `key: old -> new` for options that take effect only after a restart. */
  needRestart: string[];
}

function shown(value: unknown): string {
  return value === undefined ? "(unset)" : JSON.stringify(value);
}

function compareSection(
  name: SectionName,
  prefix: string,
  before: Record<string, unknown>,
  after: Record<string, unknown>,
  changes: ConfigChanges,
): void {
  for (const [key, spec] of Object.entries(SECTION_TABLES[name])) {
    const a = shown(before[key]);
    const b = shown(after[key]);
    if (a === b) continue;
    (spec.reload ? changes.applied : changes.needRestart).push(`${prefix}${key}: ${a} -> ${b}`);
  }
}

/** Compare `before` with `after`. */
export function configChanges(before: Config, after: Config): ConfigChanges {
  const changes: ConfigChanges = { applied: [], needRestart: [] };
  compareSection("general", "", before.general, after.general, changes);
  compareSection("log", "", before.log, after.log, changes);
  compareSection("persistence", "", before.persistence, after.persistence, changes);
  compareSection("security", "", before.security, after.security, changes);
  const count = Math.max(before.listeners.length, after.listeners.length);
  for (let i = 0; i < count; i++) {
    const a = before.listeners[i];
    const b = after.listeners[i];
    if (a === undefined || b === undefined) {
      changes.needRestart.push(
        `listener ${i + 1}: ${a === undefined ? "added" : "removed"}`,
      );
      continue;
    }
    const prefix = `listener ${i + 1} (port ${a.port}) `;
    compareSection("listener", prefix, a, b, changes);
    if (after.security.per_listener_settings) {
      compareSection("security", prefix, a.security, b.security, changes);
    }
  }
  return changes;
}

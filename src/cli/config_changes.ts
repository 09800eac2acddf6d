/**
 * What a reloaded configuration changes, option by option, split into what SIGHUP applies and
 * what needs a restart (Mosquitto's "Reloaded on reload signal" / "Not reloaded").
 *
 * @module
 */

import { matchListeners } from "../broker/reconfigure.ts";
import { type Config, type ListenerConfig, SECTION_TABLES } from "../config/options.ts";
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

/** What a listener is across reloads: its address and port, as a `listener` line names it. */
function listenerIdentity(l: ListenerConfig): string {
  return `${l.bind_address ?? "*"} ${l.port}`;
}

function listenerName(l: ListenerConfig): string {
  return `listener ${l.bind_address === undefined ? "" : `${l.bind_address} `}port ${l.port}`;
}

/**
 * Compare `before` with `after`. Listeners are matched by identity (address and port): one
 * added or removed needs a restart; a matched one's options are compared like the others.
 */
export function configChanges(before: Config, after: Config): ConfigChanges {
  const changes: ConfigChanges = { applied: [], needRestart: [] };
  compareSection("general", "", before.general, after.general, changes);
  compareSection("log", "", before.log, after.log, changes);
  compareSection("persistence", "", before.persistence, after.persistence, changes);
  compareSection("security", "", before.security, after.security, changes);
  const { kept, removed, added } = matchListeners(
    before.listeners,
    after.listeners,
    listenerIdentity,
  );
  for (const [a, b] of kept) {
    const prefix = `${listenerName(a)} `;
    compareSection("listener", prefix, a, b, changes);
    if (after.security.per_listener_settings) {
      compareSection("security", prefix, a.security, b.security, changes);
    }
  }
  for (const a of removed) changes.needRestart.push(`${listenerName(a)}: removed`);
  for (const b of added) changes.needRestart.push(`${listenerName(b)}: added`);
  return changes;
}

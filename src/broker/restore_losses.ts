/**
 * What a damaged store lost, told by kind and by owner: the store names the records it could
 * not read (`StoreProblem.lost`, keys as records.ts writes them) and counts those whose keys
 * were unreadable too; restore says whose they were (a client id, a topic) where what is left
 * tells. The loss is logged loudly at start-up and kept as counters for `$SYS` and /metrics.
 *
 * @module
 */

import type { Logger } from "../log/logger.ts";
import { parseKey } from "../store/records.ts";
import type { StoreProblem } from "../store/store.ts";
import { LOST_KINDS, type LostKind } from "./metrics.ts";

/** What each kind is called in the log line, one and many. */
const KIND_WORDS: Record<LostKind, [string, string]> = {
  sessions: ["session", "sessions"],
  subscriptions: ["subscription", "subscriptions"],
  messages: ["queued or in-flight message", "queued or in-flight messages"],
  retained: ["retained message", "retained messages"],
  other: ["other record", "other records"],
};

/** The kind of record a store key holds. */
function kindOf(key: string): LostKind {
  switch (parseKey(key)?.kind) {
    case "s":
      return "sessions";
    case "u":
      return "subscriptions";
    case "d":
    case "i": // an inbound QoS 2 message held until PUBREL
      return "messages";
    case "r":
      return "retained";
    default:
      return "other";
  }
}

/** Losses counted during one restore. */
export class Losses {
  /** Records lost, by kind. */
  readonly counts: Record<LostKind, number> = {
    sessions: 0,
    subscriptions: 0,
    messages: 0,
    retained: 0,
    other: 0,
  };
  /** Keys the store could not read (a message `m/MID` is told through what refers to it). */
  readonly keys: Set<string>;
  /** For each kind, how many were lost per owner (client id, topic, or key when unknown). */
  readonly #owners = new Map<LostKind, Map<string, number>>();

  /** The losses `problems` report. */
  constructor(problems: readonly StoreProblem[]) {
    this.keys = new Set(problems.flatMap((p) => p.lost));
    this.counts.other = problems.reduce((sum, p) => sum + p.unreadable, 0);
  }

  /** Whether the store lost anything. */
  get any(): boolean {
    return LOST_KINDS.some((kind) => this.counts[kind] > 0) || this.keys.size > 0;
  }

  /**
   * Count the lost record `key` as `owner`'s: told by restore for each lost key but messages,
   * and for each record that refers to a lost message. The owner of a lost session is its key,
   * of a retained message its topic (or key), of other records "client ID" or "lost session
   * s/SID".
   */
  lose(key: string, owner: string): void {
    const kind = kindOf(key);
    this.counts[kind]++;
    let owners = this.#owners.get(kind);
    if (owners === undefined) this.#owners.set(kind, owners = new Map());
    owners.set(owner, (owners.get(owner) ?? 0) + 1);
  }

  /**
   * Log what was lost from the store at `location`, as error lines: the counts, then the
   * sessions and retained topics lost, then for each client what it lost.
   */
  report(log: Logger, location: string): void {
    if (!this.any) return;
    const told = LOST_KINDS.filter((kind) => this.counts[kind] > 0)
      .map((kind) => countOf(this.counts[kind], kind));
    log.error(
      `Error: persistence: ${location} is damaged; lost ${told.join(", ") || "nothing in use"}. ` +
        `Started with what is intact.`,
    );
    const sessions = [...this.#owners.get("sessions")?.keys() ?? []];
    if (sessions.length > 0) {
      log.error(
        `Error: persistence: lost sessions ${sessions.join(", ")} (their client ids were in ` +
          `what was lost).`,
      );
    }
    const retained = [...this.#owners.get("retained")?.keys() ?? []];
    if (retained.length > 0) {
      log.error(`Error: persistence: lost the retained messages of ${retained.join(", ")}.`);
    }
    for (const kind of ["messages", "subscriptions", "other"] as const) {
      for (const [owner, n] of this.#owners.get(kind) ?? []) {
        log.error(`Error: persistence: ${owner} lost ${countOf(n, kind)}.`);
      }
    }
  }
}

function countOf(n: number, kind: LostKind): string {
  return `${n} ${KIND_WORDS[kind][n === 1 ? 0 : 1]}`;
}

/**
 * Flow control instead of loss (DESIGN.md): a publisher whose messages fill a connected
 * subscriber's queue past a limit stops being read until that queue drains, for at most
 * MAX_WAIT_MS; a subscriber that does not drain in that time is marked stalled, and publishers
 * stop waiting for it (its queue limit drops instead) until it catches up.
 *
 * The whole policy lives here: `route` notes congestion, the publisher's connection waits, and
 * sending from a queue ends the wait.
 *
 * @module
 */

import type { BrokerOptions } from "./options.ts";

/** Longest a publisher is paused for one congested subscriber before it may go on (ms). */
const MAX_WAIT_MS = 1000;

/** The queue of a subscriber, as flow control sees it (a `Session`). */
export interface QueueState {
  /** Messages waiting in the queue. */
  readonly queuedCount: number;
  /** Whether a publisher waited for this queue and it did not drain. */
  stalled: boolean;
  /** Resolve once the queue drains, or after `timeoutMs`. */
  waitForDrain(timeoutMs: number): Promise<void>;
  /** Wake everyone waiting for this queue to drain. */
  notifyDrained(): void;
}

/** A publisher's connection, as flow control sees it. */
export interface Publisher {
  /** A connected subscriber whose queue this publisher's messages overfilled. */
  congestedBy: QueueState | undefined;
}

/**
 * Queue length at which a publisher feeding this queue is paused until it drains: half of
 * max_queued_messages, or 1000 when that is unlimited.
 */
export function flowControlLimit(options: BrokerOptions): number {
  const max = options.maxQueuedMessages;
  return max > 0 ? Math.max(1, Math.floor(max / 2)) : 1000;
}

/**
 * `publisher`'s message was just routed to the connected subscriber of `queue`: note it as
 * congested if its queue is past the limit (and it is not known to be stalled).
 */
export function noteCongestion(
  publisher: Publisher,
  queue: QueueState,
  options: BrokerOptions,
): void {
  if (!queue.stalled && queue.queuedCount >= flowControlLimit(options)) {
    publisher.congestedBy = queue;
  }
}

/**
 * After a packet from `publisher`: if it congested a subscriber, the wait before reading more
 * from it (until that queue drains or MAX_WAIT_MS passes); otherwise undefined.
 */
export function congestionWait(
  publisher: Publisher,
  options: BrokerOptions,
): Promise<void> | undefined {
  const congested = publisher.congestedBy;
  if (congested === undefined) return undefined;
  publisher.congestedBy = undefined;
  return congested.waitForDrain(MAX_WAIT_MS).then(() => {
    if (congested.queuedCount > flowControlLimit(options) / 2) congested.stalled = true;
  });
}

/**
 * Messages were sent from `queue`: at half the limit it counts as drained, no longer stalled,
 * and the publishers waiting for it go on.
 */
export function queueSent(queue: QueueState, options: BrokerOptions): void {
  if (queue.queuedCount <= flowControlLimit(options) / 2) {
    queue.stalled = false;
    queue.notifyDrained();
  }
}

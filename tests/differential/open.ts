/**
 * Differences found and not yet settled: conversation name -> what differs. The differential
 * test asserts that each still differs, so an entry that a fix made pass is reported, to be
 * removed from here.
 *
 * @module
 */

/** Conversation name -> one line on how Midge's answer differs from Mosquitto's. */
export const OPEN_DIFFERENCES: Readonly<Record<string, string>> = {};

/**
 * Where a command writes: standard output and error in `midge`, captured lines in tests.
 *
 * @module
 */

/** Output streams, replaceable in tests. */
export interface CliIo {
  /** Write a line to standard output. */
  out(line: string): void;
  /** Write a line to standard error. */
  err(line: string): void;
  /** Write bytes as they are to standard output (received payloads); default: `out`. */
  write?(data: Uint8Array): void;
}

/**
 * Log lines written to a descriptor without ever blocking the broker: lines wait in a bounded
 * buffer and go out asynchronously, one write in flight at a time, the lines of a turn of the
 * event loop joined into one write. When the reader stops (a pipe nobody reads, a stalled
 * disk), the buffer fills and new lines are dropped and counted; once a write completes
 * again, one line says how many were dropped, where they were.
 *
 * @module
 */

/** Bytes of log lines a destination holds while its reader is slow: 1 MiB. */
export const DEFAULT_LOG_BUFFER_BYTES = 1024 * 1024;

/** Where a {@linkcode LineWriter} writes: `Deno.stderr`, `Deno.stdout` or a `Deno.FsFile`. */
export interface AsyncWriter {
  /** Write some of `p`; resolves to how many bytes were written. */
  write(p: Uint8Array): Promise<number>;
}

/** Options of {@linkcode LineWriter}. */
export interface LineWriterOptions {
  /**
   * Buffer limit in bytes, the lines in flight included (characters are counted, which are
   * bytes for ASCII text); {@linkcode DEFAULT_LOG_BUFFER_BYTES} by default.
   */
  maxBytes?: number;
  /** Told when writing starts failing (a full disk, a closed pipe); again only after a success. */
  onError?: (error: Error) => void;
}

/** Turns a message into a line (adds the timestamp). */
export type LineFormat = (message: string) => string;

/** The line that stands for `count` lines dropped. */
export function droppedLinesWarning(count: number): string {
  return `Warning: ${count} log line${count === 1 ? "" : "s"} dropped: ` +
    "log output was not being read.";
}

const encoder = new TextEncoder();

/** A message as a line, without a timestamp. */
const unstamped: LineFormat = (message) => message;

/** Write all of `bytes` to `target`, across partial writes. */
async function writeAll(target: AsyncWriter, bytes: Uint8Array): Promise<void> {
  for (let off = 0; off < bytes.length;) off += await target.write(bytes.subarray(off));
}

/** A bounded, asynchronous writer of lines to one descriptor. */
export class LineWriter {
  #target: AsyncWriter;
  #maxBytes: number;
  #onError: ((error: Error) => void) | undefined;
  /** Stamps the warning about dropped lines: that of the last line dropped. */
  #stamp: LineFormat = unstamped;
  #lines: string[] = [];
  /** Characters held: queued lines and the write in flight, newlines included. */
  #held = 0;
  /** Lines dropped since the last warning about them. */
  #unreported = 0;
  #dropped = 0;
  #failing = false;
  #draining: Promise<void> | undefined;

  /** A writer to `target`. */
  constructor(target: AsyncWriter, options: LineWriterOptions = {}) {
    this.#target = target;
    this.#maxBytes = options.maxBytes ?? DEFAULT_LOG_BUFFER_BYTES;
    this.#onError = options.onError;
  }

  /** Lines dropped so far because the buffer was full. */
  get dropped(): number {
    return this.#dropped;
  }

  /**
   * Queue `line` (without its newline). Dropped if the buffer is full, and so is every line
   * after it until a write completes, so the warning stands exactly where lines are missing.
   * `stamp` is how the logger that wrote `line` stamps its lines: the warning that stands for
   * dropped lines is stamped as the last of them was.
   */
  write(line: string, stamp: LineFormat = unstamped): void {
    const size = line.length + 1;
    if (this.#unreported > 0 || this.#held + size > this.#maxBytes) {
      this.#stamp = stamp;
      this.#unreported++;
      this.#dropped++;
      return;
    }
    this.#lines.push(line);
    this.#held += size;
    this.#draining ??= this.#drain();
  }

  /** Resolves once every queued line is written (or its write failed). */
  async flush(): Promise<void> {
    while (this.#draining !== undefined) await this.#draining;
  }

  async #drain(): Promise<void> {
    await Promise.resolve(); // the lines logged in this turn go out in the same write
    while (this.#lines.length > 0) {
      const text = this.#lines.length === 1 ? this.#lines[0] + "\n" : this.#lines.join("\n") + "\n";
      this.#lines = [];
      try {
        await writeAll(this.#target, encoder.encode(text));
        this.#failing = false;
      } catch (error) {
        if (!this.#failing) {
          this.#failing = true;
          this.#onError?.(error as Error);
        }
      }
      this.#held -= text.length;
      if (this.#unreported > 0) {
        const warning = this.#stamp(droppedLinesWarning(this.#unreported));
        this.#unreported = 0;
        this.#lines.push(warning);
        this.#held += warning.length + 1;
      }
    }
    this.#draining = undefined;
  }
}

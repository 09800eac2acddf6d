/**
 * `log_dest file PATH`: lines appended to one file kept open, reopened on request so that
 * logrotate can move the file away (SIGHUP).
 *
 * @module
 */

import { type LogDestination, stderrSink, writeAllSync } from "./logger.ts";

/** Mode of a log file Midge creates: owner only, as Mosquitto 2.0 creates its log file. */
export const LOG_FILE_MODE = 0o600;

/** Open `path` for appending, creating it; the error names the path. */
function openLogFile(path: string): Deno.FsFile {
  try {
    return Deno.openSync(path, { append: true, create: true, mode: LOG_FILE_MODE });
  } catch (error) {
    throw new Error(`Unable to open log file ${path} for writing: ${(error as Error).message}`);
  }
}

/** Options of {@linkcode FileSink}. */
export interface FileSinkOptions {
  /** Told once when writing starts failing (a full disk); standard error by default. */
  warn?: (message: string) => void;
}

/** Appends lines to a log file. */
export class FileSink implements LogDestination {
  /** The file's path. */
  readonly path: string;
  #file: Deno.FsFile | undefined;
  #failing = false;
  #warn: (message: string) => void;
  #encoder = new TextEncoder();

  /** Open `path` for appending, creating it if missing; throws naming the path if it cannot. */
  constructor(path: string, options: FileSinkOptions = {}) {
    this.path = path;
    this.#warn = options.warn ?? stderrSink;
    this.#file = openLogFile(path);
  }

  /** Append `line` and a newline. */
  write(line: string): void {
    if (this.#file === undefined) return;
    try {
      writeAllSync(this.#file, this.#encoder.encode(line + "\n"));
      this.#failing = false;
    } catch (error) {
      if (!this.#failing) {
        this.#failing = true;
        this.#warn(`Warning: cannot write to log file ${this.path}: ${(error as Error).message}`);
      }
    }
  }

  /**
   * Open the path again and switch to it (after rotation, a new file there). If it cannot be
   * opened, the old handle stays in use and this throws why.
   */
  reopen(): void {
    if (this.#file === undefined) return;
    const next = openLogFile(this.path);
    this.#file.close();
    this.#file = next;
  }

  /** Close the file; later lines are dropped. */
  close(): void {
    this.#file?.close();
    this.#file = undefined;
  }
}

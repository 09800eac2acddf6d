/**
 * `log_dest file PATH`: lines appended to one file kept open, reopened on request so that
 * logrotate can move the file away (SIGHUP). Writes are asynchronous from a bounded buffer: a
 * stalled disk drops lines (counted) rather than blocking the broker.
 *
 * @module
 */

import { type LineFormat, LineWriter } from "./line_writer.ts";
import { type LogDestination, stderrSink } from "./logger.ts";

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
  /** Buffer limit in bytes; see {@linkcode LineWriter}. */
  maxBytes?: number;
}

/** An open log file and the buffer in front of it. */
interface OpenFile {
  file: Deno.FsFile;
  writer: LineWriter;
}

/** Appends lines to a log file. */
export class FileSink implements LogDestination {
  /** The file's path. */
  readonly path: string;
  #options: FileSinkOptions;
  #open: OpenFile | undefined;
  #format: LineFormat | undefined;
  /** Files replaced by reopen(), closed once their pending lines are written. */
  #retiring: Promise<void> = Promise.resolve();
  /** Lines dropped by the writers of files replaced by reopen(). */
  #retiredDropped = 0;

  /** Open `path` for appending, creating it if missing; throws naming the path if it cannot. */
  constructor(path: string, options: FileSinkOptions = {}) {
    this.path = path;
    this.#options = options;
    this.#open = this.#openFile();
  }

  #openFile(): OpenFile {
    const file = openLogFile(this.path);
    const warn = this.#options.warn ?? stderrSink;
    const writer = new LineWriter(file, {
      maxBytes: this.#options.maxBytes,
      onError: (error) => warn(`Warning: cannot write to log file ${this.path}: ${error.message}`),
    });
    return { file, writer };
  }

  /** Queue `line` and a newline for the file. */
  write(line: string): void {
    this.#open?.writer.write(line, this.#format);
  }

  /** Stamp the line about dropped lines as the logger stamps its lines. */
  setFormat(format: LineFormat): void {
    this.#format = format;
  }

  /** Lines dropped because the file was not written fast enough. */
  get dropped(): number {
    return this.#retiredDropped + (this.#open?.writer.dropped ?? 0);
  }

  /**
   * Open the path again and switch to it (after rotation, a new file there); lines queued
   * before still go to the old file, which is closed once they are written. If the path
   * cannot be opened, the old handle stays in use and this throws why.
   */
  reopen(): void {
    const old = this.#open;
    if (old === undefined) return;
    this.#open = this.#openFile();
    this.#retiredDropped += old.writer.dropped; // final: the old writer takes no more lines
    this.#retiring = Promise.all([this.#retiring, retire(old)]).then(() => {});
  }

  /** Write what is pending, then close the file; later lines are dropped. */
  async close(): Promise<void> {
    const open = this.#open;
    this.#open = undefined;
    await Promise.all([this.#retiring, open && retire(open)]);
  }
}

/** Close `open`'s file once its pending lines are written. */
async function retire(open: OpenFile): Promise<void> {
  await open.writer.flush();
  open.file.close();
}

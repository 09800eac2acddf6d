/**
 * Reading a password from standard input, one line per prompt. On a terminal the line is read
 * in raw mode, so nothing is echoed; Backspace, Ctrl-U (erase the line), Ctrl-D (end of input
 * on an empty line) and Ctrl-C (give up) work as on a normal line. Otherwise lines are read as
 * they come, and trailing "\r" and "\n" are dropped, as `mosquitto_passwd` does.
 *
 * @module
 */

/** Standard input, as the reader uses it: `Deno.stdin`, or a stand-in in tests. */
export interface PromptInput {
  /** Whether it is a terminal. */
  isTerminal(): boolean;
  /** Turn raw mode (no echo, no line editing) on or off; only called on a terminal. */
  setRaw(mode: boolean): void;
  /** Read into `buffer`; the number of bytes read, or null at the end of input. */
  read(buffer: Uint8Array): Promise<number | null>;
}

/** A line read: its bytes, "eof" at the end of input, "interrupted" after Ctrl-C. */
export type LineResult = Uint8Array | "eof" | "interrupted";

/** The most bytes kept of one line; the rest of a longer line is dropped. */
const MAX_LINE = 1 << 20;

const CR = 0x0d;
const LF = 0x0a;
const BACKSPACE = 0x08;
const DELETE = 0x7f;
const CTRL_C = 0x03;
const CTRL_D = 0x04;
const CTRL_U = 0x15;

/** A growable byte buffer for one line, capped at MAX_LINE. */
class LineBuffer {
  #bytes = new Uint8Array(256);
  #length = 0;

  get length(): number {
    return this.#length;
  }

  push(byte: number): void {
    if (this.#length >= MAX_LINE) return;
    if (this.#length === this.#bytes.length) {
      const bigger = new Uint8Array(this.#bytes.length * 2);
      bigger.set(this.#bytes);
      this.#bytes = bigger;
    }
    this.#bytes[this.#length++] = byte;
  }

  /** Drop the last character (a whole UTF-8 sequence). */
  erase(): void {
    while (this.#length > 0 && (this.#bytes[this.#length - 1] & 0xc0) === 0x80) this.#length--;
    if (this.#length > 0) this.#length--;
  }

  clear(): void {
    this.#bytes.fill(0, 0, this.#length);
    this.#length = 0;
  }

  /** The line, with trailing "\r" and "\n" dropped; the buffer is wiped. */
  take(): Uint8Array {
    let end = this.#length;
    while (end > 0 && (this.#bytes[end - 1] === CR || this.#bytes[end - 1] === LF)) end--;
    const line = this.#bytes.slice(0, end);
    this.clear();
    return line;
  }
}

/** Reads lines from standard input for the password prompts; keeps what was typed ahead. */
export class PasswordReader {
  #input: PromptInput;
  #pending: Uint8Array = new Uint8Array(0);
  #ended = false;

  /** A reader of `input` (default: Deno.stdin). */
  constructor(input: PromptInput = Deno.stdin) {
    this.#input = input;
  }

  /** The next chunk: what was read ahead, else a new read; undefined at the end of input. */
  async #chunk(): Promise<Uint8Array | undefined> {
    if (this.#pending.length > 0) {
      const chunk = this.#pending;
      this.#pending = new Uint8Array(0);
      return chunk;
    }
    if (this.#ended) return undefined;
    const buffer = new Uint8Array(4096);
    const n = await this.#input.read(buffer);
    if (n === null) {
      this.#ended = true;
      return undefined;
    }
    return buffer.subarray(0, n);
  }

  /** Read one line (the password typed at a prompt). */
  async readLine(): Promise<LineResult> {
    const terminal = this.#input.isTerminal();
    if (terminal) this.#input.setRaw(true);
    try {
      return terminal ? await this.#readTyped() : await this.#readPiped();
    } finally {
      if (terminal) this.#input.setRaw(false);
    }
  }

  async #readPiped(): Promise<LineResult> {
    const line = new LineBuffer();
    let any = false;
    // Each turn consumes a chunk of at least one byte; a line ends at "\n", at the end of
    // input or at MAX_LINE bytes.
    for (;;) {
      const chunk = await this.#chunk();
      if (chunk === undefined) return any ? line.take() : "eof";
      any = true;
      const newline = chunk.indexOf(LF);
      const end = newline < 0 ? chunk.length : newline;
      for (let i = 0; i < end; i++) line.push(chunk[i]);
      if (newline >= 0) {
        this.#pending = chunk.slice(newline + 1);
        return line.take();
      }
      if (line.length >= MAX_LINE) return line.take();
    }
  }

  async #readTyped(): Promise<LineResult> {
    const line = new LineBuffer();
    // As #readPiped: each turn consumes a chunk.
    for (;;) {
      const chunk = await this.#chunk();
      if (chunk === undefined) return line.length > 0 ? line.take() : "eof";
      for (let i = 0; i < chunk.length; i++) {
        const byte = chunk[i];
        if (byte === CR || byte === LF) {
          this.#pending = chunk.slice(i + 1);
          return line.take();
        }
        if (byte === CTRL_C) {
          line.clear();
          return "interrupted";
        }
        if (byte === CTRL_D && line.length === 0) return "eof";
        if (byte === BACKSPACE || byte === DELETE) line.erase();
        else if (byte === CTRL_U) line.clear();
        else if (byte !== CTRL_D) line.push(byte);
      }
      if (line.length >= MAX_LINE) return line.take();
    }
  }
}

/**
 * Reading segments back from Deno KV: the whole store at `load`, one segment for compaction.
 *
 * A segment is `["seg", n]` → `SegmentHeader` plus chunks `["chunk", n, 0 ..]`. It is good when
 * its header is readable, its chunks are all there (no more, no fewer), they hold the bytes the
 * header counts, and those bytes are the entries it counts. Chunks with no header are what a
 * crash left of an unfinished commit, or of a segment being deleted: the scan returns their
 * keys for deletion. A bad segment becomes a `StoreProblem` naming the KV key at fault.
 *
 * @module
 */

import type { KvIndex } from "./kv_index.ts";
import { readSegment, type SegmentEntry, SegmentFormatError } from "./kv_segments.ts";
import type { StoreProblem } from "./store.ts";

/** What `["seg", n]` holds. */
export interface SegmentHeader extends Record<string, number> {
  /** Number of chunks. */
  chunks: number;
  /** Bytes in all chunks. */
  bytes: number;
  /** Entries in the stream. */
  entries: number;
}

/** The KV key of segment `segNo`'s header. */
export function headerKey(segNo: number): Deno.KvKey {
  return ["seg", segNo];
}

/** The KV key of chunk `index` of segment `segNo`. */
export function chunkKey(segNo: number, index: number): Deno.KvKey {
  return ["chunk", segNo, index];
}

/** A KV key as problems print it. */
function printKey(key: Deno.KvKey): string {
  return JSON.stringify(key);
}

/** A segment (or a stray key) that cannot be read. */
class SegmentProblem extends Error {
  constructor(readonly key: Deno.KvKey, why: string) {
    super(why);
  }
}

/** A chunk as listed: its segment, index and bytes. */
interface StoredChunk {
  segNo: number;
  index: number;
  value: unknown;
}

/** What a scan of the whole store found. */
export interface Scan {
  /** Live records. */
  records: Map<string, Uint8Array>;
  /** Segments and keys that were skipped. */
  problems: StoreProblem[];
  /** Chunks that belong to no segment, to delete. */
  orphans: Deno.KvKey[];
  /** The highest segment number seen (0 for none): new segments must come after it. */
  lastSegment: number;
}

/**
 * Replay every segment of `kv`, oldest first, into `index` (empty) and a map of live records.
 * Bad segments are reported and skipped whole: none of their changes apply. They stay in the
 * index with no live record, to be deleted once they are the oldest.
 */
export async function scanStore(kv: Deno.Kv, index: KvIndex): Promise<Scan> {
  const scan: Scan = { records: new Map(), problems: [], orphans: [], lastSegment: 0 };
  const report = (problem: SegmentProblem) => {
    scan.problems.push({ key: printKey(problem.key), why: problem.message });
  };
  const headers: [number, unknown][] = [];
  for await (const entry of kv.list({ prefix: ["seg"] })) {
    const segNo = entry.key[1];
    if (entry.key.length !== 2 || !isCount(segNo) || segNo === 0) {
      report(new SegmentProblem(entry.key, "not a segment header key"));
      continue;
    }
    headers.push([segNo, entry.value]);
    scan.lastSegment = Math.max(scan.lastSegment, segNo);
  }
  const chunks = listChunks(kv, report);
  let next = await chunks.next();
  for (const [segNo, header] of headers) {
    while (!next.done && next.value.segNo < segNo) {
      scan.orphans.push(chunkKey(next.value.segNo, next.value.index));
      next = await chunks.next();
    }
    const found: StoredChunk[] = [];
    while (!next.done && next.value.segNo === segNo) {
      found.push(next.value);
      next = await chunks.next();
    }
    replay(segNo, header, found, index, scan.records, report);
  }
  for (; !next.done; next = await chunks.next()) {
    scan.orphans.push(chunkKey(next.value.segNo, next.value.index));
    scan.lastSegment = Math.max(scan.lastSegment, next.value.segNo);
  }
  return scan;
}

/** Every chunk in key order; keys of another shape are reported and left alone. */
async function* listChunks(
  kv: Deno.Kv,
  report: (problem: SegmentProblem) => void,
): AsyncGenerator<StoredChunk> {
  for await (const entry of kv.list({ prefix: ["chunk"] }, { batchSize: 64 })) {
    const [, segNo, index] = entry.key;
    if (entry.key.length !== 3 || !isCount(segNo) || segNo === 0 || !isCount(index)) {
      report(new SegmentProblem(entry.key, "not a chunk key"));
      continue;
    }
    yield { segNo, index, value: entry.value };
  }
}

/** Apply one segment to `index` and `records`, or report why it cannot be. */
function replay(
  segNo: number,
  header: unknown,
  found: StoredChunk[],
  index: KvIndex,
  records: Map<string, Uint8Array>,
  report: (problem: SegmentProblem) => void,
): void {
  const bytes = found.reduce((sum, c) => sum + chunkLength(c.value), 0);
  let entries: SegmentEntry[];
  try {
    entries = checkSegment(segNo, header, found);
  } catch (e) {
    if (!(e instanceof SegmentProblem)) throw e;
    report(e);
    const last = found.at(-1)?.index ?? -1;
    const chunks = Math.max(last + 1, isHeader(header) ? header.chunks : 0);
    index.addSegment(segNo, { chunks, bytes, puts: 0 });
    return;
  }
  index.addSegment(segNo, { chunks: found.length, bytes, puts: 0 });
  for (const entry of entries) {
    if (entry.value === null) {
      records.delete(entry.key);
      index.remove(entry.key);
    } else {
      records.set(entry.key, entry.value);
      index.put(entry.key, segNo, entry.size);
    }
  }
}

/**
 * The entries of segment `segNo`, read alone (for compaction). Throws an Error naming the KV
 * key at fault when the segment is not good.
 */
export async function readStoredSegment(kv: Deno.Kv, segNo: number): Promise<SegmentEntry[]> {
  const header = await kv.get(headerKey(segNo));
  const found: StoredChunk[] = [];
  for await (const entry of kv.list({ prefix: ["chunk", segNo] })) {
    found.push({ segNo, index: entry.key[2] as number, value: entry.value });
  }
  try {
    return checkSegment(segNo, header.value, found);
  } catch (e) {
    if (e instanceof SegmentProblem) throw new Error(`${printKey(e.key)}: ${e.message}`);
    throw e;
  }
}

/** The entries of a good segment; throws `SegmentProblem` for a bad one. */
function checkSegment(segNo: number, header: unknown, found: StoredChunk[]): SegmentEntry[] {
  if (!isHeader(header)) throw new SegmentProblem(headerKey(segNo), "header is unreadable");
  const chunks: Uint8Array[] = [];
  for (let i = 0; i < header.chunks; i++) {
    const chunk = found[i];
    if (chunk === undefined || chunk.index !== i) {
      throw new SegmentProblem(chunkKey(segNo, i), "chunk is missing");
    }
    if (!(chunk.value instanceof Uint8Array)) {
      throw new SegmentProblem(chunkKey(segNo, i), "chunk is not bytes");
    }
    chunks.push(chunk.value);
  }
  if (found.length > header.chunks) {
    const extra = found[header.chunks];
    throw new SegmentProblem(chunkKey(segNo, extra.index), "chunk beyond the segment's end");
  }
  const bytes = chunks.reduce((sum, c) => sum + c.length, 0);
  if (bytes !== header.bytes) {
    throw new SegmentProblem(
      headerKey(segNo),
      `chunks hold ${bytes} bytes, the header says ${header.bytes}`,
    );
  }
  let entries: SegmentEntry[];
  try {
    entries = readSegment(chunks);
  } catch (e) {
    if (!(e instanceof SegmentFormatError)) throw e;
    throw new SegmentProblem(chunkKey(segNo, e.chunk), `bytes do not parse: ${e.message}`);
  }
  if (entries.length !== header.entries) {
    throw new SegmentProblem(
      headerKey(segNo),
      `chunks hold ${entries.length} entries, the header says ${header.entries}`,
    );
  }
  return entries;
}

function isHeader(value: unknown): value is SegmentHeader {
  const h = value as Partial<SegmentHeader> | null;
  return typeof h === "object" && h !== null && isCount(h.chunks) && isCount(h.bytes) &&
    isCount(h.entries);
}

function isCount(value: unknown): value is number {
  return typeof value === "number" && Number.isSafeInteger(value) && value >= 0;
}

function chunkLength(value: unknown): number {
  return value instanceof Uint8Array ? value.length : 0;
}

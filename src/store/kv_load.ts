/**
 * Reading segments back from Deno KV: the whole store at `load`, one segment for compaction.
 *
 * A segment is `["seg", n]` → its header (kv_header.ts) plus chunks `["chunk", n, 0 ..]`.
 * Chunks with no header are what a crash left of an unfinished commit, or of a segment being
 * deleted: the scan returns their keys for deletion.
 *
 * A format 2 segment (schema 2 on) has checksums: whatever of it checks is applied, and what
 * does not becomes a `StoreProblem` naming the KV key at fault and the records lost, by key
 * where the key itself checked, else counted. A lost record is left out of `load`, older
 * values included (its last change is unknown), unless a later segment writes it again. A
 * format 1 segment (schema 1, no checksums) is good when its chunks are all there and hold the
 * bytes and entries its header counts; a bad one is reported and skipped whole.
 *
 * @module
 */

import { decodeHeader, type SegmentHeader } from "./kv_header.ts";
import type { KvIndex } from "./kv_index.ts";
import {
  readCheckedSegment,
  readSegment,
  type SegmentEntry,
  SegmentFormatError,
} from "./kv_segments.ts";
import { RecordError } from "./record_codec.ts";
import type { StoreProblem } from "./store.ts";

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
  const state: ReplayState = {
    index,
    records: scan.records,
    problems: scan.problems,
    lostBy: new Map(),
    report: (problem, unreadable) => {
      scan.problems.push({
        key: printKey(problem.key),
        why: problem.message,
        lost: [],
        unreadable,
      });
    },
  };
  const headers: [number, unknown][] = [];
  for await (const entry of kv.list({ prefix: ["seg"] })) {
    const segNo = entry.key[1];
    if (entry.key.length !== 2 || !isCount(segNo) || segNo === 0) {
      state.report(new SegmentProblem(entry.key, "not a segment header key"), 0);
      continue;
    }
    headers.push([segNo, entry.value]);
    scan.lastSegment = Math.max(scan.lastSegment, segNo);
  }
  const chunks = listChunks(kv, (problem) => state.report(problem, 0));
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
    replay(segNo, header, found, state);
  }
  for (; !next.done; next = await chunks.next()) {
    scan.orphans.push(chunkKey(next.value.segNo, next.value.index));
    scan.lastSegment = Math.max(scan.lastSegment, next.value.segNo);
  }
  // A record written again after its damaged entry was not lost.
  for (const problem of scan.problems) {
    problem.lost = problem.lost.filter((key) => state.lostBy.get(key) === problem);
  }
  return scan;
}

/** What replaying the segments in order keeps track of. */
interface ReplayState {
  index: KvIndex;
  records: Map<string, Uint8Array>;
  problems: StoreProblem[];
  /** Each record lost so far, and the problem that lost it. */
  lostBy: Map<string, StoreProblem>;
  /** Report a segment or key skipped whole, with the entries it held if known. */
  report: (problem: SegmentProblem, unreadable: number) => void;
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
  state: ReplayState,
): void {
  const bytes = found.reduce((sum, c) => sum + chunkLength(c.value), 0);
  let checked: CheckedEntries;
  try {
    checked = checkSegment(segNo, header, found);
  } catch (e) {
    if (!(e instanceof SegmentProblem)) throw e;
    const known = knownHeader(header);
    state.report(e, known?.entries ?? 0);
    const last = found.at(-1)?.index ?? -1;
    const chunks = Math.max(last + 1, known?.chunks ?? 0);
    state.index.addSegment(segNo, { chunks, bytes, puts: 0 });
    return;
  }
  const { entries, problem } = checked;
  const { index, records, lostBy } = state;
  index.addSegment(segNo, { chunks: checked.chunks, bytes, puts: 0 });
  for (const entry of entries) {
    lostBy.delete(entry.key);
    if (entry.value === null) {
      records.delete(entry.key);
      index.remove(entry.key);
    } else {
      records.set(entry.key, entry.value);
      index.put(entry.key, segNo, entry.size);
    }
  }
  if (problem === undefined) return;
  // What a damaged entry last did to its record is unknown: the record is lost, an older
  // value of it too, until a later segment writes it again.
  for (const key of problem.lost) {
    records.delete(key);
    index.remove(key);
    lostBy.set(key, problem);
  }
  state.problems.push(problem);
}

/** A good segment's entries, or a damaged format 2 segment's intact ones and what it lost. */
interface CheckedEntries {
  /** The entries to apply. */
  entries: SegmentEntry[];
  /** Chunk keys the segment has (to delete with it). */
  chunks: number;
  /** What was lost, when anything was. */
  problem?: StoreProblem;
}

/**
 * The entries of segment `segNo`, read alone (for compaction): what is intact when the segment
 * is damaged. Throws an Error naming the KV key at fault when nothing of it can be read.
 */
export async function readStoredSegment(kv: Deno.Kv, segNo: number): Promise<SegmentEntry[]> {
  const header = await kv.get(headerKey(segNo));
  const found: StoredChunk[] = [];
  for await (const entry of kv.list({ prefix: ["chunk", segNo] })) {
    found.push({ segNo, index: entry.key[2] as number, value: entry.value });
  }
  try {
    return checkSegment(segNo, header.value, found).entries;
  } catch (e) {
    if (e instanceof SegmentProblem) throw new Error(`${printKey(e.key)}: ${e.message}`);
    throw e;
  }
}

/** The header's counts, when it can be read. */
function knownHeader(header: unknown): SegmentHeader | undefined {
  try {
    return decodeHeader(header);
  } catch (e) {
    if (e instanceof RecordError) return undefined;
    throw e;
  }
}

/**
 * The entries of segment `segNo` to apply. Throws `SegmentProblem` for a format 1 segment
 * that is not good (skipped whole) and for a format 2 segment with no chunk at all.
 */
function checkSegment(segNo: number, header: unknown, found: StoredChunk[]): CheckedEntries {
  const known = knownHeader(header);
  if (known?.format === 1) {
    return { entries: checkFormat1(segNo, known, found), chunks: found.length };
  }
  if (known === undefined && !(header instanceof Uint8Array)) {
    throw new SegmentProblem(headerKey(segNo), "header is unreadable");
  }
  return checkFormat2(segNo, known, found);
}

/**
 * A format 2 segment: every entry that passes its checksums. With its header damaged, the
 * chunks there are are read in order, up to the first gap, without resync points.
 */
function checkFormat2(
  segNo: number,
  header: SegmentHeader | undefined,
  found: StoredChunk[],
): CheckedEntries {
  const faults: { key: Deno.KvKey; why: string }[] = [];
  if (header === undefined) faults.push({ key: headerKey(segNo), why: "header is damaged" });
  const count = header?.chunks ?? found.length;
  const byIndex = new Map(found.map((c) => [c.index, c.value]));
  const chunks: Uint8Array[] = [];
  for (let i = 0; i < count; i++) {
    const value = byIndex.get(i);
    if (value instanceof Uint8Array) {
      chunks.push(value);
      continue;
    }
    faults.push({
      key: chunkKey(segNo, i),
      why: value === undefined ? "chunk is missing" : "chunk is not bytes",
    });
    if (header === undefined) break;
    chunks.push(new Uint8Array(0));
  }
  for (const c of found) {
    if (c.index >= count && header !== undefined) {
      faults.push({ key: chunkKey(segNo, c.index), why: "chunk beyond the segment's end" });
      break;
    }
  }
  const { entries, damage } = readCheckedSegment(chunks, header?.firstEntries);
  for (const d of damage) faults.push({ key: chunkKey(segNo, d.chunk), why: d.why });
  const chunkKeys = Math.max(count, (found.at(-1)?.index ?? -1) + 1);
  if (faults.length === 0 && entries.length === header?.entries) {
    return { entries, chunks: chunkKeys };
  }
  const lost = damage.flatMap((d) => d.key === undefined ? [] : [d.key]);
  const unnamed = damage.length - lost.length;
  const unreadable = header === undefined
    ? unnamed
    : Math.max(unnamed, header.entries - entries.length - lost.length);
  if (faults.length === 0) {
    faults.push({
      key: headerKey(segNo),
      why: `${entries.length} entries, the header says ${header?.entries}`,
    });
  }
  const whys = [...new Set(faults.map((f) => f.why))];
  const problem = { key: printKey(faults[0].key), why: whys.join("; "), lost, unreadable };
  return { entries, chunks: chunkKeys, problem };
}

/** The entries of a good format 1 segment; throws `SegmentProblem` for a bad one. */
function checkFormat1(segNo: number, header: SegmentHeader, found: StoredChunk[]): SegmentEntry[] {
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

function isCount(value: unknown): value is number {
  return typeof value === "number" && Number.isSafeInteger(value) && value >= 0;
}

function chunkLength(value: unknown): number {
  return value instanceof Uint8Array ? value.length : 0;
}

/**
 * A strict little HTML checker for the status page tests: every element closed in order (void
 * elements excepted, `/>` allowed only inside `<svg>`), no duplicate attributes, no stray `<`,
 * character references terminated, `<script>` and `<style>` read as raw text. Stricter than a
 * browser, which repairs all of these silently; that is the point.
 *
 * @module
 */

/** An element as the checker saw it. */
export interface Element {
  /** Tag name, lowercase. */
  tag: string;
  /** Attributes, names lowercase; a bare attribute has the value "". */
  attributes: Map<string, string>;
  /** Offset of its start tag in the text. */
  offset: number;
}

const VOID = new Set([
  "area",
  "base",
  "br",
  "col",
  "embed",
  "hr",
  "img",
  "input",
  "link",
  "meta",
  "source",
  "track",
  "wbr",
]);
const RAW_TEXT = new Set(["script", "style"]);
const TAG =
  /<(\/?)([a-zA-Z][a-zA-Z0-9-]*)((?:\s+[^\s"'=<>/]+(?:\s*=\s*(?:"[^"]*"|'[^']*'|[^\s"'=<>`]+))?)*)\s*(\/?)>/y;
const ATTRIBUTE = /([^\s"'=<>/]+)(?:\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'=<>`]+)))?/g;
const REFERENCE = /&(?:#[0-9]+|#x[0-9a-fA-F]+|[a-zA-Z][a-zA-Z0-9]*);/y;

function where(text: string, offset: number): string {
  const before = text.slice(0, offset);
  const line = before.split("\n").length;
  return `line ${line}: ${JSON.stringify(text.slice(offset, offset + 40))}`;
}

function checkText(text: string, from: number, to: number): void {
  for (let i = from; i < to; i++) {
    if (text[i] === "<") throw new Error(`stray "<" at ${where(text, i)}`);
    if (text[i] === "&") {
      REFERENCE.lastIndex = i;
      if (!REFERENCE.test(text)) {
        throw new Error(`unterminated character reference at ${where(text, i)}`);
      }
    }
  }
}

function parseAttributes(source: string, text: string, offset: number): Map<string, string> {
  const attributes = new Map<string, string>();
  for (const m of source.matchAll(ATTRIBUTE)) {
    const name = m[1].toLowerCase();
    if (attributes.has(name)) {
      throw new Error(`duplicate attribute ${name} at ${where(text, offset)}`);
    }
    const value = m[2] ?? m[3] ?? m[4] ?? "";
    checkText(value, 0, value.length);
    attributes.set(name, value);
  }
  return attributes;
}

/**
 * Check `text` (a document starting with `<!doctype html>`, or with `fragment` any balanced
 * markup) and return its elements in document order; throws with the line of the first problem.
 */
export function checkHtml(text: string, options: { fragment?: boolean } = {}): Element[] {
  let i = 0;
  if (!options.fragment) {
    const doctype = /^<!doctype html>/i.exec(text);
    if (!doctype) throw new Error("the document does not start with <!doctype html>");
    i = doctype[0].length;
  }
  const elements: Element[] = [];
  const open: Element[] = [];
  while (i < text.length) {
    const lt = text.indexOf("<", i);
    const end = lt === -1 ? text.length : lt;
    checkText(text, i, end);
    if (lt === -1) break;
    if (text.startsWith("<!--", lt)) {
      const close = text.indexOf("-->", lt + 4);
      if (close === -1) throw new Error(`unclosed comment at ${where(text, lt)}`);
      i = close + 3;
      continue;
    }
    TAG.lastIndex = lt;
    const m = TAG.exec(text);
    if (!m) throw new Error(`stray "<" at ${where(text, lt)}`);
    const [whole, slash, name, attributeText, selfClosing] = m;
    const tag = name.toLowerCase();
    i = lt + whole.length;
    if (slash) {
      const top = open.pop();
      if (top === undefined) throw new Error(`</${tag}> closes nothing at ${where(text, lt)}`);
      if (top.tag !== tag) throw new Error(`</${tag}> closes <${top.tag}> at ${where(text, lt)}`);
      continue;
    }
    const element = { tag, attributes: parseAttributes(attributeText, text, lt), offset: lt };
    elements.push(element);
    if (VOID.has(tag)) continue;
    if (selfClosing) {
      if (!open.some((e) => e.tag === "svg")) {
        throw new Error(`<${tag}/> outside <svg> at ${where(text, lt)}`);
      }
      continue;
    }
    if (RAW_TEXT.has(tag)) {
      const close = text.toLowerCase().indexOf(`</${tag}>`, i);
      if (close === -1) throw new Error(`<${tag}> never closed at ${where(text, lt)}`);
      i = close + tag.length + 3;
      continue;
    }
    open.push(element);
  }
  if (open.length > 0) {
    const top = open[open.length - 1];
    throw new Error(`<${top.tag}> at ${where(text, top.offset)} never closed`);
  }
  return elements;
}

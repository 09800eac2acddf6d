/**
 * Retained messages by topic, and finding those a new subscription's filter matches. A trie of
 * topic levels, so a subscribe walks only the branches its filter can reach. Values are
 * whatever the caller stores; the index only knows topics, and the size the caller gives each
 * value (to keep a running total of bytes).
 *
 * @module
 */

class Node<V> {
  children: Map<string, Node<V>> | undefined;
  topic: string | undefined;
  value: V | undefined;
}

/** Visits one retained message: its topic and value. */
export type RetainedVisitor<V> = (topic: string, value: V) => void;

/** The retained messages, one per topic. */
export class RetainedIndex<V> {
  #root = new Node<V>();
  #size = 0;
  #bytes = 0;
  #sizeOf: (value: V) => number;

  /** An empty index; `sizeOf` measures a value for `bytes` (none: every value counts 0). */
  constructor(sizeOf: (value: V) => number = () => 0) {
    this.#sizeOf = sizeOf;
  }

  /** Number of retained messages. */
  get size(): number {
    return this.#size;
  }

  /** The sum of `sizeOf` over the values held. */
  get bytes(): number {
    return this.#bytes;
  }

  /** Store `value` as the retained message of `topic`, replacing any before it. */
  set(topic: string, value: V): void {
    let node = this.#root;
    for (const level of topic.split("/")) {
      node.children ??= new Map();
      let child = node.children.get(level);
      if (child === undefined) {
        child = new Node<V>();
        node.children.set(level, child);
      }
      node = child;
    }
    if (node.value === undefined) this.#size++;
    else this.#bytes -= this.#sizeOf(node.value);
    this.#bytes += this.#sizeOf(value);
    node.topic = topic;
    node.value = value;
  }

  /** The retained message of `topic`, if any. */
  get(topic: string): V | undefined {
    let node: Node<V> | undefined = this.#root;
    for (const level of topic.split("/")) {
      node = node.children?.get(level);
      if (node === undefined) return undefined;
    }
    return node.value;
  }

  /** Remove the retained message of `topic`; returns whether there was one. */
  delete(topic: string): boolean {
    const levels = topic.split("/");
    const path: Node<V>[] = [this.#root];
    let node: Node<V> | undefined = this.#root;
    for (const level of levels) {
      node = node.children?.get(level);
      if (node === undefined) return false;
      path.push(node);
    }
    if (node.value === undefined) return false;
    this.#bytes -= this.#sizeOf(node.value);
    node.value = undefined;
    node.topic = undefined;
    this.#size--;
    for (let i = path.length - 1; i > 0; i--) {
      const n = path[i];
      if (n.value !== undefined || (n.children !== undefined && n.children.size > 0)) break;
      path[i - 1].children!.delete(levels[i - 1]);
    }
    return true;
  }

  /**
   * Visit every retained message whose topic `filter` matches (a plain filter, without a
   * `$share/` prefix). Wildcards in the first level skip topics starting with `$`
   * [MQTT-4.7.2-1].
   */
  match(filter: string, visit: RetainedVisitor<V>): void {
    walk(this.#root, filter.split("/"), 0, visit);
  }
}

function visitSubtree<V>(node: Node<V>, visit: RetainedVisitor<V>, skipDollar: boolean): void {
  if (node.value !== undefined) visit(node.topic!, node.value);
  if (node.children === undefined) return;
  for (const [level, child] of node.children) {
    if (skipDollar && level.charCodeAt(0) === 0x24) continue;
    visitSubtree(child, visit, false);
  }
}

function walk<V>(node: Node<V>, levels: string[], i: number, visit: RetainedVisitor<V>): void {
  if (i === levels.length) {
    if (node.value !== undefined) visit(node.topic!, node.value);
    return;
  }
  const level = levels[i];
  if (level === "#") {
    // "a/#" matches "a" itself and everything below it.
    visitSubtree(node, visit, i === 0);
    return;
  }
  if (node.children === undefined) return;
  if (level === "+") {
    for (const [name, child] of node.children) {
      if (i === 0 && name.charCodeAt(0) === 0x24) continue;
      walk(child, levels, i + 1, visit);
    }
    return;
  }
  const child = node.children.get(level);
  if (child !== undefined) walk(child, levels, i + 1, visit);
}

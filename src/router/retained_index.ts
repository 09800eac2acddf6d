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
    walk(this.#root, filter.split("/"), visit);
  }
}

/**
 * Visit the value of `node` and of every node below it, depth first in the order the levels
 * were first set, without recursion (a stack of child iterators). `skipDollar`: leave out the
 * children of `node` whose level starts with `$` [MQTT-4.7.2-1].
 */
function visitSubtree<V>(node: Node<V>, visit: RetainedVisitor<V>, skipDollar: boolean): void {
  if (node.value !== undefined) visit(node.topic!, node.value);
  if (node.children === undefined) return;
  const pending = [node.children.entries()];
  while (pending.length > 0) {
    const next = pending[pending.length - 1].next();
    if (next.done) {
      pending.pop();
      continue;
    }
    const [level, child] = next.value;
    if (skipDollar && pending.length === 1 && level.charCodeAt(0) === 0x24) continue;
    if (child.value !== undefined) visit(child.topic!, child.value);
    if (child.children !== undefined) pending.push(child.children.entries());
  }
}

/**
 * Visit the values of the nodes under `root` that `levels` (a split filter) matches, depth
 * first in the order the levels were first set, without recursion: exact levels are followed
 * in a loop, and each '+' level leaves an iterator over its children on a stack.
 */
function walk<V>(root: Node<V>, levels: string[], visit: RetainedVisitor<V>): void {
  const pending: MapIterator<[string, Node<V>]>[] = [];
  const pendingLevels: number[] = [];
  let node = root;
  let i = 0;
  for (;;) {
    // Follow `node` down the filter from level `i` as far as it goes.
    for (;;) {
      if (i === levels.length) {
        if (node.value !== undefined) visit(node.topic!, node.value);
        break;
      }
      const level = levels[i];
      if (level === "#") {
        // "a/#" matches "a" itself and everything below it.
        visitSubtree(node, visit, i === 0);
        break;
      }
      if (node.children === undefined) break;
      if (level === "+") {
        pending.push(node.children.entries());
        pendingLevels.push(i);
        break;
      }
      const child = node.children.get(level);
      if (child === undefined) break;
      node = child;
      i++;
    }
    // Then the next child of the deepest '+' level not yet done.
    for (;;) {
      const top = pending.length - 1;
      if (top < 0) return;
      const next = pending[top].next();
      if (next.done) {
        pending.pop();
        pendingLevels.pop();
        continue;
      }
      const [name, child] = next.value;
      if (pendingLevels[top] === 0 && name.charCodeAt(0) === 0x24) continue;
      node = child;
      i = pendingLevels[top] + 1;
      break;
    }
  }
}

/**
 * The subscription trie: topic filters of many clients, matched against a topic name.
 * Plain data: client ids and caller-defined options in, client ids and options out. It knows
 * nothing of sockets, sessions, ACLs or encodings. Filters must already be valid (the codec
 * checks their syntax).
 *
 * Rules: `+` matches exactly one level (possibly empty), `#` the parent level and any number of
 * levels below [MQTT-4.7.1-2]; a wildcard in the first level does not match a topic that starts
 * with `$` [MQTT-4.7.2-1]. `$share/GROUP/FILTER` subscriptions form groups; each matching
 * message goes to one member of each group, in turn [MQTT-4.8.2-3].
 *
 * @module
 */

const SHARE_PREFIX = "$share/";
/** Marks a '#' node on the match stack: its subscriptions match, it has nothing below. */
const HASH_NODE = -1;

/** A shared subscription group at one filter. */
interface SharedGroup<O> {
  /** Member ids in subscription order. */
  ids: string[];
  /** Each member's options. */
  members: Map<string, O>;
  /** Index in `ids` of the member whose turn is next. */
  next: number;
}

class Node<O> {
  children: Map<string, Node<O>> | undefined;
  plus: Node<O> | undefined;
  hash: Node<O> | undefined;
  subscribers: Map<string, O> | undefined;
  shared: Map<string, SharedGroup<O>> | undefined;

  get isEmpty(): boolean {
    return (this.children === undefined || this.children.size === 0) &&
      this.plus === undefined && this.hash === undefined &&
      (this.subscribers === undefined || this.subscribers.size === 0) &&
      (this.shared === undefined || this.shared.size === 0);
  }
}

/** A parsed filter: its share group, if any, and its levels. */
interface ParsedFilter {
  group: string | undefined;
  levels: string[];
}

function parseFilter(filter: string): ParsedFilter {
  if (filter.startsWith(SHARE_PREFIX)) {
    const slash = filter.indexOf("/", SHARE_PREFIX.length);
    // `$share/GROUP` (3.1.1 only): the group with an empty filter, which matches no topic.
    if (slash === -1) return { group: filter.slice(SHARE_PREFIX.length), levels: [""] };
    return {
      group: filter.slice(SHARE_PREFIX.length, slash),
      levels: filter.slice(slash + 1).split("/"),
    };
  }
  return { group: undefined, levels: filter.split("/") };
}

/** Called once per matching subscription; `shared` tells a shared-group delivery apart. */
export type MatchVisitor<O> = (clientId: string, options: O, shared: boolean) => void;

/** Chooses whether a shared-group member may take a message (e.g. it is connected). */
export type MemberFilter = (clientId: string) => boolean;

/** Subscriptions of many clients, matched by topic. `O` is whatever the caller stores. */
export class SubscriptionTrie<O> {
  #root = new Node<O>();
  #count = 0;
  #sharedCount = 0;

  /** Number of non-shared subscriptions. */
  get count(): number {
    return this.#count;
  }

  /** Number of shared subscriptions (one per member per group). */
  get sharedCount(): number {
    return this.#sharedCount;
  }

  /**
   * Add or replace `clientId`'s subscription to `filter`. Returns true when it is new, false
   * when an existing one was replaced [MQTT-3.8.4-3].
   */
  subscribe(clientId: string, filter: string, options: O): boolean {
    const { group, levels } = parseFilter(filter);
    let node = this.#root;
    for (const level of levels) {
      if (level === "+") node = node.plus ??= new Node<O>();
      else if (level === "#") node = node.hash ??= new Node<O>();
      else {
        node.children ??= new Map();
        let child = node.children.get(level);
        if (child === undefined) {
          child = new Node<O>();
          node.children.set(level, child);
        }
        node = child;
      }
    }
    let members: Map<string, O>;
    if (group === undefined) {
      members = node.subscribers ??= new Map();
    } else {
      node.shared ??= new Map();
      let g = node.shared.get(group);
      if (g === undefined) {
        g = { ids: [], members: new Map(), next: 0 };
        node.shared.set(group, g);
      }
      members = g.members;
    }
    const isNew = !members.has(clientId);
    members.set(clientId, options);
    if (isNew) {
      if (group === undefined) this.#count++;
      else {
        node.shared!.get(group)!.ids.push(clientId);
        this.#sharedCount++;
      }
    }
    return isNew;
  }

  /** Remove `clientId`'s subscription to `filter`; returns whether there was one. */
  unsubscribe(clientId: string, filter: string): boolean {
    const { group, levels } = parseFilter(filter);
    const path: Node<O>[] = [this.#root];
    let node: Node<O> | undefined = this.#root;
    for (const level of levels) {
      node = level === "+" ? node.plus : level === "#" ? node.hash : node.children?.get(level);
      if (node === undefined) return false;
      path.push(node);
    }
    let removed: boolean;
    if (group === undefined) {
      removed = node.subscribers?.delete(clientId) ?? false;
      if (removed) this.#count--;
    } else {
      const g = node.shared?.get(group);
      removed = g?.members.delete(clientId) ?? false;
      if (removed) {
        this.#sharedCount--;
        g!.ids.splice(g!.ids.indexOf(clientId), 1);
        if (g!.ids.length === 0) node.shared!.delete(group);
      }
    }
    if (removed) this.#prune(path, levels);
    return removed;
  }

  /** Drop nodes left empty along `path` so the trie does not grow without bound. */
  #prune(path: Node<O>[], levels: string[]): void {
    for (let i = path.length - 1; i > 0; i--) {
      const node = path[i];
      if (!node.isEmpty) return;
      const parent = path[i - 1];
      const level = levels[i - 1];
      if (level === "+") parent.plus = undefined;
      else if (level === "#") parent.hash = undefined;
      else parent.children!.delete(level);
    }
  }

  /**
   * Call `visit` for every subscription matching `topic`: every non-shared subscriber whose
   * filter matches, and one member of each matching shared group (the next one in turn that
   * `eligible` accepts; all are eligible when it is omitted). A client with several matching
   * filters is visited once per filter; merging them is the caller's job. The order is
   * Mosquitto's: the non-shared subscriptions in walk order, then the shared groups.
   */
  match(topic: string, visit: MatchVisitor<O>, eligible?: MemberFilter): void {
    const levels = topic.split("/");
    const dollar = topic.charCodeAt(0) === 0x24; // '$' [MQTT-4.7.2-1]
    // Depth first without recursion, so no topic is too deep for the stack: each entry is a
    // node and the index of the level it matches next (`HASH_NODE`: a '#' node, whose
    // subscriptions match whatever follows). The walk goes as Mosquitto's does, so that a
    // client's copies come in its order: at each level the exact branch, then '+', then '#'
    // (pushed in reverse, as the last pushed is walked first).
    const nodes: Node<O>[] = [this.#root];
    const depths: number[] = [0];
    let top = 1;
    let withGroups: Node<O>[] | undefined; // matched nodes holding shared groups, in walk order
    while (top > 0) {
      top--;
      const node = nodes[top];
      const i = depths[top];
      if (i === HASH_NODE) {
        withGroups = visitSubscribers(node, visit, withGroups);
        continue;
      }
      if (i === levels.length) {
        // "a/#" also matches "a" [MQTT-4.7.1-2 note]; Mosquitto visits it first.
        if (node.hash !== undefined) withGroups = visitSubscribers(node.hash, visit, withGroups);
        withGroups = visitSubscribers(node, visit, withGroups);
        continue;
      }
      if (i > 0 || !dollar) {
        if (node.hash !== undefined) {
          nodes[top] = node.hash;
          depths[top++] = HASH_NODE;
        }
        if (node.plus !== undefined) {
          nodes[top] = node.plus;
          depths[top++] = i + 1;
        }
      }
      const child = node.children?.get(levels[i]);
      if (child !== undefined) {
        nodes[top] = child;
        depths[top++] = i + 1;
      }
    }
    if (withGroups === undefined) return;
    for (const node of withGroups) {
      for (const group of node.shared!.values()) visitOneMember(group, visit, eligible);
    }
  }
}

/**
 * Visit the non-shared subscriptions of `node`; returns `withGroups` with `node` added if it
 * holds shared groups (made when the first one is found).
 */
function visitSubscribers<O>(
  node: Node<O>,
  visit: MatchVisitor<O>,
  withGroups: Node<O>[] | undefined,
): Node<O>[] | undefined {
  if (node.subscribers !== undefined) {
    for (const [clientId, options] of node.subscribers) visit(clientId, options, false);
  }
  if (node.shared === undefined || node.shared.size === 0) return withGroups;
  if (withGroups === undefined) return [node];
  withGroups.push(node);
  return withGroups;
}

function visitOneMember<O>(
  group: SharedGroup<O>,
  visit: MatchVisitor<O>,
  eligible?: MemberFilter,
): void {
  const ids = group.ids;
  const n = ids.length;
  let chosen = group.next % n;
  if (eligible !== undefined) {
    // The next member in turn that is eligible; when none is, the next in turn anyway (its
    // session queues the message).
    for (let k = 0; k < n; k++) {
      const idx = (group.next + k) % n;
      if (eligible(ids[idx])) {
        chosen = idx;
        break;
      }
    }
  }
  group.next = chosen + 1;
  const id = ids[chosen];
  visit(id, group.members.get(id)!, true);
}

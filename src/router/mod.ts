/**
 * The router: topic matching for subscriptions and retained messages. Plain data, no I/O.
 *
 * @module
 */

export { type MatchVisitor, type MemberFilter, SubscriptionTrie } from "./subscription_trie.ts";
export { RetainedIndex, type RetainedVisitor } from "./retained_index.ts";

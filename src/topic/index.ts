/** Topic algebra: matching, shared-filter parsing, the subscription trie, the topic tree. */
export { topicMatchesFilter } from './match.js';
export { parseSharedFilter, SHARE_PREFIX } from './shared-filter.js';
export type { SharedGroup } from './subscription-node.js';
export { SubscriptionTrie } from './subscription-trie.js';
export { TopicTree } from './topic-tree.js';

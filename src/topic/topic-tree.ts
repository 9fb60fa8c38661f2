import { LevelNode } from './level-node.js';

/** One topic level in a TopicTree; `topic` is set while the node stores a value. */
class TopicNode<T> extends LevelNode<TopicNode<T>> {
  topic: string | undefined = undefined;
  value: T | undefined = undefined;
}

const newNode = <T>(): TopicNode<T> => new TopicNode<T>();

/**
 * One value per exact topic name (the retained messages), with lookup by topic filter that
 * walks only the branches a filter can match.
 */
export class TopicTree<T> {
  private readonly root = new TopicNode<T>();
  private count = 0;

  /** Number of stored topics. */
  get size(): number {
    return this.count;
  }

  /** Stores `value` at `topic`, replacing any previous value. */
  set(topic: string, value: T): void {
    let node = this.root;
    let start = 0;
    for (;;) {
      const end = topic.indexOf('/', start);
      const level = end === -1 ? topic.slice(start) : topic.slice(start, end);
      node = node.childOrCreate(level, newNode<T>);
      if (end === -1) break;
      start = end + 1;
    }
    if (node.topic === undefined) this.count++;
    node.topic = topic;
    node.value = value;
  }

  /** The value stored at exactly `topic`. */
  get(topic: string): T | undefined {
    let node: TopicNode<T> | undefined = this.root;
    let start = 0;
    for (;;) {
      const end = topic.indexOf('/', start);
      node = node.child(end === -1 ? topic.slice(start) : topic.slice(start, end));
      if (node === undefined) return undefined;
      if (end === -1) return node.value;
      start = end + 1;
    }
  }

  /** Removes the value at `topic`; returns whether there was one. Prunes empty nodes. */
  delete(topic: string): boolean {
    const levels = topic.split('/');
    const path: TopicNode<T>[] = [this.root];
    for (const level of levels) {
      const next = path[path.length - 1].child(level);
      if (next === undefined) return false;
      path.push(next);
    }
    const node = path[path.length - 1];
    if (node.topic === undefined) return false;
    node.topic = undefined;
    node.value = undefined;
    this.count--;
    for (let i = path.length - 1; i > 0; i--) {
      if (path[i].topic !== undefined || !path[i].hasNoChildren()) break;
      path[i - 1].deleteChild(levels[i - 1]);
    }
    return true;
  }

  /**
   * Calls `visit` for every stored topic that matches `filter`: `+` is one level, `#` its
   * parent level and everything below, and a leading wildcard skips topics starting with
   * '$' [MQTT-4.7.2-1]. Only branches the filter can match are walked.
   */
  matchFilter(filter: string, visit: (topic: string, value: T) => void): void {
    const levels = filter.split('/');
    const nodes: TopicNode<T>[] = [this.root];
    const depths: number[] = [0];
    while (nodes.length > 0) {
      const node = nodes.pop() as TopicNode<T>;
      const i = depths.pop() as number;
      if (i === levels.length) {
        if (node.topic !== undefined) visit(node.topic, node.value as T);
        continue;
      }
      const level = levels[i];
      if (level === '#') {
        // The root holds no topic, so the parent-level match only matters below it.
        if (node.topic !== undefined) visit(node.topic, node.value as T);
        visitSubtree(node, i === 0, visit);
      } else if (level === '+') {
        node.pushChildren(nodes, i === 0, depths, i + 1); // [MQTT-4.7.2-1] at level 0
      } else {
        const next = node.child(level);
        if (next !== undefined) {
          nodes.push(next);
          depths.push(i + 1);
        }
      }
    }
  }

  /** Every stored (topic, value), in no particular order. */
  *entries(): IterableIterator<[string, T]> {
    const stack: TopicNode<T>[] = [this.root];
    while (stack.length > 0) {
      const node = stack.pop() as TopicNode<T>;
      if (node.topic !== undefined) yield [node.topic, node.value as T];
      node.pushChildren(stack, false);
    }
  }
}

/** Visits every value strictly below `top`, skipping '$' children of `top` if asked. */
function visitSubtree<T>(
  top: TopicNode<T>,
  skipDollar: boolean,
  visit: (topic: string, value: T) => void,
): void {
  const stack: TopicNode<T>[] = [];
  top.pushChildren(stack, skipDollar);
  while (stack.length > 0) {
    const node = stack.pop() as TopicNode<T>;
    if (node.topic !== undefined) visit(node.topic, node.value as T);
    node.pushChildren(stack, false);
  }
}

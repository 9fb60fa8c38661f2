/**
 * A tree node whose children are keyed by topic level. Most nodes of a subscription or
 * retained-message tree have a single child (`devices/{id}/cmd`), so one child is held
 * inline and a Map is created only for the second one: a Map costs far more memory than
 * two fields, and a broker may hold a million of these nodes.
 */
export class LevelNode<N extends LevelNode<N>> {
  /** The level of the only child, while there is at most one and no Map. */
  protected soleLevel: string | undefined = undefined;
  protected soleChild: N | undefined = undefined;
  /** All children once there have been two or more. */
  protected children: Map<string, N> | undefined = undefined;

  /** The child at `level`, if any. */
  child(level: string): N | undefined {
    if (this.children !== undefined) return this.children.get(level);
    return this.soleLevel === level ? this.soleChild : undefined;
  }

  /** The child at `level`, created with `make` when missing. */
  childOrCreate(level: string, make: () => N): N {
    const found = this.child(level);
    if (found !== undefined) return found;
    const made = make();
    if (this.children !== undefined) {
      this.children.set(level, made);
    } else if (this.soleChild === undefined) {
      this.soleLevel = level;
      this.soleChild = made;
    } else {
      this.children = new Map([[this.soleLevel as string, this.soleChild]]);
      this.children.set(level, made);
      this.soleLevel = undefined;
      this.soleChild = undefined;
    }
    return made;
  }

  /** Removes the child at `level`; the Map goes away again when it empties. */
  deleteChild(level: string): void {
    if (this.children !== undefined) {
      this.children.delete(level);
      if (this.children.size === 0) this.children = undefined;
    } else if (this.soleLevel === level) {
      this.soleLevel = undefined;
      this.soleChild = undefined;
    }
  }

  /** True when the node has no child at a named level. */
  hasNoChildren(): boolean {
    return this.children === undefined && this.soleChild === undefined;
  }

  /**
   * Pushes every child (or, with `skipDollar`, those whose level does not start with '$')
   * onto `stack`, with `depth` pushed onto `depths` when given.
   */
  pushChildren(stack: N[], skipDollar: boolean, depths?: number[], depth = 0): void {
    if (this.children !== undefined) {
      for (const [level, node] of this.children) {
        if (skipDollar && level.charCodeAt(0) === 0x24) continue;
        stack.push(node);
        depths?.push(depth);
      }
    } else if (this.soleChild !== undefined) {
      if (skipDollar && (this.soleLevel as string).charCodeAt(0) === 0x24) return;
      stack.push(this.soleChild);
      depths?.push(depth);
    }
  }
}

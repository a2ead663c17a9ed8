/**
 * The role tree of hierarchical roles (`eng`, `eng/web`, `eng/batch`) and its
 * sort, as Mesos's `DRFSorter`: at every level the children are ordered by
 * their key (the share of the whole subtree ÷ its weight, then the number of
 * allocations, then the path), and the roles come out in pre-order. A role
 * that has frameworks of its own and sub-roles competes with its sub-roles
 * through a virtual leaf (Mesos's `.` node) that holds only its own
 * allocation, with weight 1.
 */

/** What one node of the tree is compared by; lower comes first. */
export interface NodeKey {
  readonly share: number;
  readonly count: number;
}

/**
 * How a node is keyed: `path` is a role or an inner node of the tree;
 * `own` is true for the virtual leaf of a role that also has sub-roles.
 */
export type KeyOf = (path: string, own: boolean) => NodeKey;

/** The parent path of a role (`a/b/c` → `a/b`, `a` → `""`, the root). */
function parentOf(role: string): string {
  const slash = role.lastIndexOf("/");
  return slash === -1 ? "" : role.slice(0, slash);
}

/** `role` and its ancestors, nearest first (`a/b/c` → `a/b/c`, `a/b`, `a`). */
export function selfAndAncestors(role: string): string[] {
  const out = [role];
  for (let p = parentOf(role); p !== ""; p = parentOf(p)) out.push(p);
  return out;
}

interface Item {
  readonly path: string;
  readonly own: boolean;
  readonly key: NodeKey;
  readonly name: string;
}

function compareItems(a: Item, b: Item): number {
  if (a.key.share !== b.key.share) return a.key.share - b.key.share;
  if (a.key.count !== b.key.count) return a.key.count - b.key.count;
  return a.name < b.name ? -1 : a.name > b.name ? 1 : 0;
}

/**
 * The tree of a set of roles, built once and sorted as often as the keys
 * change (an allocation cycle sorts the same roles again after every
 * allocation).
 */
export class RoleTree {
  readonly #wanted: ReadonlySet<string>;
  readonly #children = new Map<string, string[]>();

  constructor(roles: Iterable<string>) {
    const wanted = new Set(roles);
    this.#wanted = wanted;
    const sets = new Map<string, Set<string>>();
    for (const role of wanted) {
      let child = role;
      for (let parent = parentOf(role); ; parent = parentOf(parent)) {
        let set = sets.get(parent);
        if (set === undefined) {
          set = new Set();
          sets.set(parent, set);
        }
        set.add(child);
        if (parent === "") break;
        child = parent;
      }
    }
    for (const [parent, set] of sets) this.#children.set(parent, Array.from(set));
  }

  /**
   * The given roles in pre-order, siblings by `keyOf`, subtrees kept
   * together. Ancestors that were not given shape the tree without being returned.
   */
  sort(keyOf: KeyOf): string[] {
    const out: string[] = [];
    const visit = (path: string) => {
      const items: Item[] = [];
      for (const child of this.#children.get(path) ?? []) {
        items.push({ path: child, own: false, key: keyOf(child, false), name: child });
      }
      if (path !== "" && this.#wanted.has(path)) {
        items.push({ path, own: true, key: keyOf(path, true), name: `${path}/.` });
      }
      items.sort(compareItems);
      for (const item of items) {
        if (item.own) out.push(item.path);
        else if (this.#children.has(item.path)) visit(item.path);
        else out.push(item.path);
      }
    };
    visit("");
    return out;
  }
}

const trees = new WeakMap<readonly string[], RoleTree>();

/** The tree of `roles`, kept for the same array (which must then not change). */
export function roleTreeOf(roles: readonly string[]): RoleTree {
  let tree = trees.get(roles);
  if (tree === undefined) {
    tree = new RoleTree(roles);
    trees.set(roles, tree);
  }
  return tree;
}

/**
 * Orders `roles` hierarchically: siblings by `keyOf`, subtrees kept
 * together, pre-order. Only the given roles are returned; their ancestors
 * that are not given shape the tree without being returned.
 */
export function sortRoleTree(roles: Iterable<string>, keyOf: KeyOf): string[] {
  return new RoleTree(roles).sort(keyOf);
}

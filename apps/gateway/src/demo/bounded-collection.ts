/**
 * The in-memory storage behind files, fine-tuning jobs and batches: insertion-ordered, bounded by
 * count (and optionally by size, for file contents), evicting the oldest entries first so that a
 * long-running demo never grows without limit.
 */
export interface CollectionLimits<T> {
  readonly maxItems: number;
  readonly maxWeight?: number;
  /** The size an item counts towards `maxWeight`, e.g. a file's bytes. */
  readonly weigh?: (item: T) => number;
}

export interface PageRequest<T> {
  /** The id of the last item of the previous page. */
  readonly after?: string | undefined;
  readonly limit: number;
  /** `desc` (newest first) unless given. */
  readonly order?: "asc" | "desc";
  readonly include?: (item: T) => boolean;
}

export interface Page<T> {
  readonly data: T[];
  readonly hasMore: boolean;
}

export class BoundedCollection<T extends { readonly id: string }> {
  readonly #items = new Map<string, T>();
  readonly #limits: CollectionLimits<T>;
  #weight = 0;

  constructor(limits: CollectionLimits<T>) {
    this.#limits = limits;
  }

  get size(): number {
    return this.#items.size;
  }

  add(item: T): void {
    this.delete(item.id);
    this.#items.set(item.id, item);
    this.#weight += this.#weigh(item);
    const maxWeight = this.#limits.maxWeight ?? Number.POSITIVE_INFINITY;
    for (const oldest of this.#items.values()) {
      if (this.#items.size <= this.#limits.maxItems && this.#weight <= maxWeight) break;
      if (oldest === item) break;
      this.delete(oldest.id);
    }
  }

  /** Replaces an item in place, keeping its position (its age) in the collection. */
  update(item: T): void {
    const previous = this.#items.get(item.id);
    if (previous === undefined) return;
    this.#weight += this.#weigh(item) - this.#weigh(previous);
    this.#items.set(item.id, item);
  }

  get(id: string): T | undefined {
    return this.#items.get(id);
  }

  delete(id: string): boolean {
    const item = this.#items.get(id);
    if (item === undefined) return false;
    this.#items.delete(id);
    this.#weight -= this.#weigh(item);
    return true;
  }

  /** A page of items after the item `after`; undefined when `after` names no item. */
  page(request: PageRequest<T>): Page<T> | undefined {
    let items = [...this.#items.values()];
    if (request.order !== "asc") items.reverse();
    if (request.include !== undefined) items = items.filter(request.include);
    let start = 0;
    if (request.after !== undefined) {
      const index = items.findIndex((item) => item.id === request.after);
      if (index === -1) return undefined;
      start = index + 1;
    }
    const data = items.slice(start, start + request.limit);
    return { data, hasMore: start + request.limit < items.length };
  }

  #weigh(item: T): number {
    return this.#limits.weigh?.(item) ?? 0;
  }
}

/** Which requests a fault or a waiting test is about. */
export interface RequestFilter {
  /** The exact path (without the query string), or a pattern the path must match. */
  path?: string | RegExp;
  /** The HTTP method, in any case. */
  method?: string;
}

export function matchesRequest(filter: RequestFilter | undefined, method: string, path: string): boolean {
  if (filter === undefined) return true;
  if (filter.method !== undefined && filter.method.toUpperCase() !== method) return false;
  if (filter.path === undefined) return true;
  // `search` ignores `lastIndex`, so a pattern with the global flag matches the same way every time.
  return typeof filter.path === "string" ? filter.path === path : path.search(filter.path) !== -1;
}

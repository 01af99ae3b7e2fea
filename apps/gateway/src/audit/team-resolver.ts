/**
 * Which team a caller's spend counts towards. A team is what operators say it is: a name and a list
 * of SPIFFE ID patterns (`audit.teams`), first match wins. A caller no pattern matches belongs to the
 * team its ID names without its last segment (spiffe://td/agent/customer-support for
 * spiffe://td/agent/customer-support/v2; spiffe://td/pipeline/training for .../training/job-abc), so
 * versions of a service and jobs of a pipeline add up without any configuration.
 *
 * The team is resolved when the row is written and stored with it: changing the configuration
 * changes the teams of later rows, never history.
 */
export class TeamResolver {
  private readonly teams: ReadonlyArray<{ name: string; patterns: ReadonlyArray<(id: string) => boolean> }>;
  /** Agents are few and call often: remember each one's team (bounded, cleared when full). */
  private readonly cache = new Map<string, string>();

  constructor(teams: Readonly<Record<string, readonly string[]>>) {
    this.teams = Object.entries(teams).map(([name, patterns]) => ({ name, patterns: patterns.map(patternMatcher) }));
  }

  teamOf(caller: string | null): string | null {
    if (caller === null) return null;
    const known = this.cache.get(caller);
    if (known !== undefined) return known;
    const team = this.resolve(caller);
    if (this.cache.size >= 10_000) this.cache.clear();
    this.cache.set(caller, team);
    return team;
  }

  private resolve(caller: string): string {
    for (const team of this.teams) if (team.patterns.some((matches) => matches(caller))) return team.name;
    return parentOf(caller);
  }
}

/** The ID without its last path segment; an ID with one segment (or none) is its own team. */
function parentOf(id: string): string {
  const pathStart = id.indexOf("/", "spiffe://".length);
  const lastSlash = id.lastIndexOf("/");
  return pathStart === -1 || lastSlash <= pathStart ? id : id.slice(0, lastSlash);
}

/** Exact, `/*` (exactly one more segment) or `/**` (one or more): the same patterns grants use. */
export function patternMatcher(pattern: string): (id: string) => boolean {
  if (pattern.endsWith("/**")) {
    const prefix = pattern.slice(0, -2);
    return (id) => id.startsWith(prefix) && id.length > prefix.length;
  }
  if (pattern.endsWith("/*")) {
    const prefix = pattern.slice(0, -1);
    return (id) => id.startsWith(prefix) && id.length > prefix.length && !id.includes("/", prefix.length);
  }
  return (id) => id === pattern;
}

/** What a provider must never let reach a caller. */
export interface ScrubbedSecrets {
  /** The gateway's credentials for the provider (API keys). */
  keys: readonly string[];
  /** Where the provider lives when that is internal: origins, host:port, host names. */
  hosts: readonly string[];
}

const redacted = "[redacted]";

/**
 * Key-shaped tokens whatever key they belong to, masked or not: OpenAI (sk-, sk-proj-, rk-), Anthropic
 * (sk-ant-), and bearer tokens echoed back. Providers echo keys in their 401s ("Incorrect API key
 * provided: sk-proj-****cdef"); a gateway in front of several providers cannot know every key's shape.
 */
const keyShaped = /\b(?:sk|rk|pk)-[A-Za-z0-9_*.•…-]{6,}|\b[Bb]earer\s+[A-Za-z0-9._~+/=*-]{8,}|\b[a-f0-9]{32}\b/g;

/** Characters providers mask a key's middle with ("sk-proj-****cdef", "sk-...cdef", "sk-…cdef"). */
const maskRun = String.raw`(?:\*{2,}|\.{3}|…|•{2,})`;

/**
 * Removes what must never reach a caller from an upstream's error text: the gateway's provider keys,
 * whole or in the masked forms providers echo back, and internal hosts. Built once per provider at
 * start (the patterns are compiled here), so scrubbing an error costs a few regex passes.
 */
export class SecretScrubber {
  private readonly literals: RegExp | undefined;
  private readonly masked: RegExp | undefined;

  constructor(secrets: ScrubbedSecrets) {
    // Longest first, so an origin is replaced whole rather than leaving its scheme around a redacted host.
    const literals = [...secrets.keys, ...secrets.hosts].filter((s) => s.length >= 4).sort((a, b) => b.length - a.length);
    this.literals = literals.length === 0 ? undefined : new RegExp(literals.map(escapeRegExp).join("|"), "g");
    // A masked key keeps a few characters of each end: its first three and its last four.
    const masks = secrets.keys
      .filter((key) => key.length >= 12)
      .map((key) => `${escapeRegExp(key.slice(0, 3))}[^\\s"'\\\\]{0,64}?${maskRun}[^\\s"'\\\\]{0,64}?${escapeRegExp(key.slice(-4))}`);
    this.masked = masks.length === 0 ? undefined : new RegExp(masks.join("|"), "g");
  }

  scrub(text: string): string {
    let out = text;
    if (this.literals !== undefined) out = out.replace(this.literals, redacted);
    if (this.masked !== undefined) out = out.replace(this.masked, redacted);
    return out.replace(keyShaped, redacted);
  }
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\/-]/g, "\\$&");
}

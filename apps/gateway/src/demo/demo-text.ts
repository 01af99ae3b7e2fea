/**
 * The demo provider's "model": a deterministic reply derived from the prompt, and token counts made
 * with the o200k_base encoding so that budgets and usage reports see realistic numbers.
 *
 * The same prompt always gets the same reply, so replies and their token counts are cached: the
 * loadtest sends the same few prompts thousands of times and must not pay for tokenizing each time.
 */
import { countTokens, decode, encode } from "gpt-tokenizer/encoding/o200k_base";

/**
 * Special tokens such as `<|endoftext|>` are ordinary text when a caller sends them; the tokenizer's
 * default would throw on them instead, which would turn a prompt into a server error.
 */
const plainText = { disallowedSpecial: new Set<string>() };

/** How much of the prompt the reply quotes back. */
const excerptLength = 160;
/** Strings longer than this are counted every time rather than kept in the cache. */
const longestCachedText = 2048;
const tokenCountCacheSize = 4096;
const replyCacheSize = 1024;

export interface ReplyPlan {
  /** The whole reply, already cut to the token limit. */
  readonly text: string;
  /** The reply split into the deltas a stream sends; joined they give `text`. */
  readonly pieces: readonly string[];
  /** Each piece as a JSON string literal, so streams can frame deltas without serializing them again. */
  readonly quotedPieces: readonly string[];
  /** Tokens generated: the reply's token count, or the limit when the reply was cut. */
  readonly outputTokens: number;
  /** True when the token limit cut the reply short. */
  readonly truncated: boolean;
}

const tokenCounts = new Map<string, number>();
const replies = new Map<string, ReplyPlan>();

/** Number of o200k_base tokens in `text`. */
export function countTextTokens(text: string): number {
  if (text.length === 0) return 0;
  if (text.length > longestCachedText) return countTokens(text, plainText);
  const cached = tokenCounts.get(text);
  if (cached !== undefined) return cached;
  const count = countTokens(text, plainText);
  remember(tokenCounts, tokenCountCacheSize, text, count);
  return count;
}

/** The full reply `model` gives to `prompt` (the text of the last user message). */
export function replyText(model: string, prompt: string): string {
  return composeReply(model, excerptOf(prompt));
}

/** The reply to `prompt`, cut to `maxTokens` tokens when a limit is given. */
export function planReply(model: string, prompt: string, maxTokens?: number): ReplyPlan {
  const excerpt = excerptOf(prompt);
  const key = `${model}\u0000${maxTokens ?? ""}\u0000${excerpt}`;
  const cached = replies.get(key);
  if (cached !== undefined) return cached;
  const plan = buildPlan(composeReply(model, excerpt), maxTokens);
  remember(replies, replyCacheSize, key, plan);
  return plan;
}

function buildPlan(fullText: string, maxTokens: number | undefined): ReplyPlan {
  const tokens = encode(fullText, plainText);
  const cutAt = maxTokens !== undefined && tokens.length > maxTokens ? maxTokens : undefined;
  const text = cutAt === undefined ? fullText : decodePrefix(fullText, tokens.slice(0, cutAt));
  const pieces = splitIntoPieces(text);
  return {
    text,
    pieces,
    quotedPieces: pieces.map((piece) => JSON.stringify(piece)),
    outputTokens: cutAt ?? tokens.length,
    truncated: cutAt !== undefined,
  };
}

/**
 * Decodes the first tokens of `fullText`. A token boundary can fall inside a multi-byte character;
 * the half character decodes to U+FFFD, which is dropped so the reply stays a prefix of the full one.
 */
function decodePrefix(fullText: string, tokens: readonly number[]): string {
  const decoded = decode(tokens);
  if (fullText.startsWith(decoded)) return decoded;
  return decoded.replace(/\uFFFD+$/u, "");
}

function composeReply(model: string, excerpt: string): string {
  const said = excerpt.length === 0 ? "nothing" : `"${excerpt}"`;
  return (
    `Demo reply from ${model}: you said ${said}. ` +
    "This answer comes from Tollgate's local demo provider, which works offline and always gives the same reply to the same prompt. " +
    "Its token counts use the o200k_base encoding, so budgets and usage reports see realistic numbers."
  );
}

/** The start of the prompt with its whitespace collapsed, never splitting a surrogate pair. */
function excerptOf(prompt: string): string {
  const collapsed = prompt.slice(0, excerptLength * 4).replace(/\s+/gu, " ").trim();
  if (collapsed.length <= excerptLength) return collapsed;
  let end = excerptLength;
  const last = collapsed.charCodeAt(end - 1);
  if (last >= 0xd800 && last <= 0xdbff) end -= 1;
  return `${collapsed.slice(0, end).trimEnd()}…`;
}

/** Word-sized deltas, each carrying the whitespace before it, as streamed model output looks. */
function splitIntoPieces(text: string): string[] {
  return text.match(/\s*\S+|\s+/gu) ?? [];
}

/** A first-in, first-out cache: enough for repeated prompts, and bounded whatever callers send. */
function remember<V>(cache: Map<string, V>, capacity: number, key: string, value: V): void {
  if (cache.size >= capacity) {
    const oldest = cache.keys().next();
    if (oldest.done !== true) cache.delete(oldest.value);
  }
  cache.set(key, value);
}

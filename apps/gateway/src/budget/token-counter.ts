import { join } from "node:path";
import { countTokens as countCl100k } from "gpt-tokenizer/encoding/cl100k_base";
import { countTokens as countO200k } from "gpt-tokenizer/encoding/o200k_base";
import { Piscina } from "piscina";

/** What a request's model reads as input (see protocols/llm/prompt-parts.ts). */
export interface PromptParts {
  texts: string[];
  messages: number;
  images: number;
  /** Input given as token ids already (embeddings). */
  tokens: number;
}

export type Encoding = "o200k_base" | "cl100k_base";

export interface Tokenizer {
  encoding: Encoding;
  /** 1 where the encoding is the model's own; above 1 for the documented conservative estimate. */
  factor: number;
}

/** Framing tokens per message and per reply, as OpenAI documents them for chat models (rounded up). */
const tokensPerMessage = 4;
const tokensPerReply = 3;
/** Reserved per image: above what OpenAI (about 1,100 at high detail) and Anthropic (about 1,600 for a 1.15 MP image) charge. */
export const tokensPerImage = 1600;
/** The estimate for model families whose tokenizer is not published (Claude, Llama, Mistral, ...). */
export const estimateFactor = 1.25;

/**
 * The tokenizer of a model's family: OpenAI's own encodings where they apply (o200k_base for GPT-4o,
 * GPT-4.1, GPT-5 and the o-series; cl100k_base for GPT-4, GPT-3.5 and the text-embedding-3 models),
 * and for every other family o200k_base times 1.25, a conservative estimate: Claude, Llama and Mistral
 * tokenizers produce 0.9 to 1.2 times o200k_base's count on English text and code.
 */
export function tokenizerFor(model: string): Tokenizer {
  const name = model.toLowerCase();
  // demo-*: the gateway's own demo provider counts with o200k_base.
  if (/^(gpt-4o|gpt-4\.1|gpt-4\.5|gpt-5|o1|o3|o4|chatgpt-|gpt-oss|demo-)/.test(name)) return { encoding: "o200k_base", factor: 1 };
  if (/^(gpt-4|gpt-3\.5|text-embedding-)/.test(name)) return { encoding: "cl100k_base", factor: 1 };
  return { encoding: "o200k_base", factor: estimateFactor };
}

export interface TokenCounterOptions {
  /** Characters of text whose counts are remembered (conversations resend their history each turn). */
  cacheChars?: number;
  /** Uncached text longer than this is counted in a worker thread instead of on the event loop. */
  workerThresholdChars?: number;
}

/**
 * Counts prompt tokens with a real tokenizer (gpt-tokenizer), fast enough for the hot path: counts
 * are cached per text (an agent resends its conversation every turn, so only the new messages are
 * tokenized), and large uncached texts are counted in a worker thread.
 */
export class TokenCounter {
  private readonly caches: Record<Encoding, Map<string, number>> = { o200k_base: new Map(), cl100k_base: new Map() };
  private cachedChars = 0;
  private readonly cacheChars: number;
  private readonly workerThreshold: number;
  private pool: Piscina | undefined;
  /** How many batches of text went to the worker thread, and how many texts came from the cache. */
  readonly stats = { workerRuns: 0, cacheHits: 0 };

  constructor(options: TokenCounterOptions = {}) {
    this.cacheChars = options.cacheChars ?? 32 * 1024 * 1024;
    this.workerThreshold = options.workerThresholdChars ?? 64 * 1024;
  }

  /** Input tokens of a prompt for a model (rounded up when estimated). */
  async countPrompt(parts: PromptParts, model: string): Promise<number> {
    const tokenizer = tokenizerFor(model);
    return promptTotal(await this.countTexts(parts.texts, tokenizer.encoding, true), parts, tokenizer);
  }

  /**
   * The same count on the event loop, never in a worker: for the rare path that needs it at once
   * (a request that ended early without usage, whose prompt was not counted before forwarding).
   */
  countPromptNow(parts: PromptParts, model: string): number {
    const tokenizer = tokenizerFor(model);
    return promptTotal(this.countTextsNow(parts.texts, tokenizer.encoding), parts, tokenizer);
  }

  /** Tokens of generated text (a stream the provider reported no usage for). */
  async countOutput(text: string, model: string): Promise<number> {
    const tokenizer = tokenizerFor(model);
    return Math.ceil((await this.countTexts([text], tokenizer.encoding, true)) * tokenizer.factor);
  }

  /**
   * Tokens of a short text, on the event loop (incremental counting of streamed deltas). Not rounded:
   * estimated counts are fractional, so that summing many small deltas does not round up each one.
   */
  countShort(text: string, model: string): number {
    const tokenizer = tokenizerFor(model);
    return countWith(tokenizer.encoding, text) * tokenizer.factor;
  }

  async close(): Promise<void> {
    await this.pool?.destroy();
    this.pool = undefined;
  }

  private async countTexts(texts: readonly string[], encoding: Encoding, mayUseWorker: boolean): Promise<number> {
    const { total, missing, missingChars } = this.lookup(texts, encoding);
    if (missing.length === 0) return total;
    if (!mayUseWorker || missingChars <= this.workerThreshold) return total + this.countAndRemember(missing, encoding);
    this.stats.workerRuns++;
    const counts = (await this.workers().run({ encoding, texts: missing })) as number[];
    return total + this.rememberAll(missing, counts, encoding);
  }

  private countTextsNow(texts: readonly string[], encoding: Encoding): number {
    const { total, missing } = this.lookup(texts, encoding);
    return total + this.countAndRemember(missing, encoding);
  }

  /** The cached counts' total, and the texts not in the cache. */
  private lookup(texts: readonly string[], encoding: Encoding): { total: number; missing: string[]; missingChars: number } {
    const cache = this.caches[encoding];
    let total = 0;
    const missing: string[] = [];
    let missingChars = 0;
    for (const text of texts) {
      if (text.length === 0) continue;
      const known = cache.get(text);
      if (known !== undefined) {
        this.stats.cacheHits++;
        total += known;
        continue;
      }
      missing.push(text);
      missingChars += text.length;
    }
    return { total, missing, missingChars };
  }

  private countAndRemember(texts: readonly string[], encoding: Encoding): number {
    return this.rememberAll(texts, texts.map((text) => countWith(encoding, text)), encoding);
  }

  private rememberAll(texts: readonly string[], counts: readonly number[], encoding: Encoding): number {
    let total = 0;
    texts.forEach((text, i) => {
      const count = counts[i] ?? 0;
      total += count;
      this.remember(this.caches[encoding], text, count);
    });
    return total;
  }

  private remember(cache: Map<string, number>, text: string, count: number): void {
    if (text.length > this.cacheChars / 4) return;
    cache.set(text, count);
    this.cachedChars += text.length;
    // Evict the oldest entries (a Map iterates in insertion order) until within the limit.
    for (const [key] of cache) {
      if (this.cachedChars <= this.cacheChars) break;
      cache.delete(key);
      this.cachedChars -= key.length;
    }
  }

  private workers(): Piscina {
    this.pool ??= new Piscina({ filename: join(import.meta.dirname, "token-count-worker.ts"), maxThreads: 1, idleTimeout: 30_000 });
    return this.pool;
  }
}

/** Texts' tokens plus message framing, scaled for estimated families, plus images and given token ids. */
function promptTotal(counted: number, parts: PromptParts, tokenizer: Tokenizer): number {
  const framing = parts.messages > 0 ? parts.messages * tokensPerMessage + tokensPerReply : 0;
  return Math.ceil((counted + framing) * tokenizer.factor) + parts.images * tokensPerImage + parts.tokens;
}

function countWith(encoding: Encoding, text: string): number {
  return encoding === "cl100k_base" ? countCl100k(text) : countO200k(text);
}

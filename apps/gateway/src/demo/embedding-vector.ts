/**
 * Deterministic embeddings: each word of a text (each token of a token array) is hashed onto a
 * dimension with a hashed sign, and the sum is scaled to unit length. Texts that share words get
 * similar vectors, so a retrieval demo on top of the demo provider finds sensible neighbours.
 */

const fnvOffset = 0x811c9dc5;
const fnvPrime = 0x01000193;
const wordPattern = /[\p{L}\p{N}]+/gu;

export function embedText(text: string, dimensions: number): Float32Array {
  const words = text.toLowerCase().match(wordPattern) ?? [text];
  const sums = new Float64Array(dimensions);
  for (const word of words) addFeature(sums, hashString(word));
  return toUnitVector(sums);
}

export function embedTokens(tokens: readonly number[], dimensions: number): Float32Array {
  const sums = new Float64Array(dimensions);
  for (const token of tokens) addFeature(sums, mix(token + 0x9e3779b9));
  return toUnitVector(sums);
}

/** The vector as OpenAI's `encoding_format: "base64"` carries it: little-endian float32 values. */
export function vectorToBase64(vector: Float32Array): string {
  const bytes = Buffer.allocUnsafe(vector.length * 4);
  for (let index = 0; index < vector.length; index += 1) bytes.writeFloatLE(vector[index] ?? 0, index * 4);
  return bytes.toString("base64");
}

function addFeature(sums: Float64Array, hash: number): void {
  const index = hash % sums.length;
  const sign = (mix(hash) & 1) === 0 ? 1 : -1;
  sums[index] = (sums[index] ?? 0) + sign;
}

function toUnitVector(sums: Float64Array): Float32Array {
  let squares = 0;
  for (const value of sums) squares += value * value;
  const vector = new Float32Array(sums.length);
  if (squares === 0) {
    // Every feature cancelled out; any fixed unit vector keeps the answer well-formed.
    vector[0] = 1;
    return vector;
  }
  const scale = 1 / Math.sqrt(squares);
  for (let index = 0; index < sums.length; index += 1) vector[index] = (sums[index] ?? 0) * scale;
  return vector;
}

/** 32-bit FNV-1a over UTF-16 code units: cheap, stable and well spread for short words. */
function hashString(text: string): number {
  let hash = fnvOffset;
  for (let index = 0; index < text.length; index += 1) {
    hash ^= text.charCodeAt(index);
    hash = Math.imul(hash, fnvPrime);
  }
  return hash >>> 0;
}

/** A 32-bit finaliser (from MurmurHash3) so sign and dimension do not come from the same bits. */
function mix(value: number): number {
  let hash = value >>> 0;
  hash ^= hash >>> 16;
  hash = Math.imul(hash, 0x85ebca6b);
  hash ^= hash >>> 13;
  hash = Math.imul(hash, 0xc2b2ae35);
  hash ^= hash >>> 16;
  return hash >>> 0;
}

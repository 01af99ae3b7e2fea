// A worker thread that counts tokens of large texts, so a long prompt does not hold the event loop.
import { countTokens as countCl100k } from "gpt-tokenizer/encoding/cl100k_base";
import { countTokens as countO200k } from "gpt-tokenizer/encoding/o200k_base";

export default function count({ encoding, texts }: { encoding: "o200k_base" | "cl100k_base"; texts: string[] }): number[] {
  const counter = encoding === "cl100k_base" ? countCl100k : countO200k;
  return texts.map((text) => counter(text));
}

import { Transform, type TransformCallback } from "node:stream";
import { StringDecoder } from "node:string_decoder";

/**
 * The gateway asks a chat completion stream for usage (`stream_options.include_usage`) when the caller
 * did not, to settle budgets exactly; the caller's stream must then look exactly as it would have
 * without the gateway. This removes what the option adds: the `"usage":null` of every chunk and the
 * final chunk that carries the usage and no choices. Everything else passes byte for byte.
 *
 * Removing `"usage":null` from the JSON text is exact: inside a JSON string every quote is escaped, so
 * an unescaped `"usage"` followed by a colon can only be a key.
 */
export class UsageChunkRemover extends Transform {
  private readonly decoder = new StringDecoder("utf8");
  private pending = "";

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.pending += this.decoder.write(chunk);
    let out = "";
    for (;;) {
      const end = /\r?\n\r?\n/.exec(this.pending);
      if (end === null) break;
      const block = this.pending.slice(0, end.index);
      out += rewrite(block, end[0]);
      this.pending = this.pending.slice(end.index + end[0].length);
    }
    callback(null, out === "" ? undefined : Buffer.from(out));
  }

  override _flush(callback: TransformCallback): void {
    const rest = this.pending + this.decoder.end();
    callback(null, rest === "" ? undefined : Buffer.from(rewrite(rest, "")));
  }
}

const usageNull = /,\s*"usage"\s*:\s*null|"usage"\s*:\s*null\s*,?/g;

function rewrite(block: string, separator: string): string {
  const data = /^data:\s?(.*)$/m.exec(block)?.[1];
  if (data === undefined || data === "[DONE]") return block + separator;
  if (/"choices"\s*:\s*\[\s*\]/.test(data) && /"usage"\s*:\s*\{/.test(data)) return "";
  return block.replace(usageNull, "") + separator;
}

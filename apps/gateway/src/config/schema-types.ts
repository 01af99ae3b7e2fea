/** Value types shared by the configuration's sections. */
import { z } from "zod";
import { parseByteSize } from "./byte-size.ts";
import { parseDuration } from "./duration.ts";

export const duration = z
  .union([z.string(), z.number().int().nonnegative()])
  .transform((value, ctx) => {
    if (typeof value === "number") return value;
    try {
      return parseDuration(value);
    } catch (error) {
      ctx.addIssue({ code: "custom", message: (error as Error).message });
      return z.NEVER;
    }
  })
  .meta({ "x-tollgate-type": "duration" });

export const byteSize = z
  .union([z.string(), z.number().int().nonnegative()])
  .transform((value, ctx) => {
    try {
      return parseByteSize(value);
    } catch (error) {
      ctx.addIssue({ code: "custom", message: (error as Error).message });
      return z.NEVER;
    }
  })
  .meta({ "x-tollgate-type": "size" });

export const spiffeIdText = z
  .string()
  .regex(/^spiffe:\/\/[a-z0-9._-]+(\/[A-Za-z0-9._-]+)*$/, "must be a SPIFFE ID such as spiffe://example.org/service/name");


import type { FastifyReply } from "fastify";

/**
 * An AbortController that fires when the caller goes away before its response is complete, so the
 * upstream request it is waiting for (a generation, a tool call) stops at once instead of running,
 * and costing, for nobody.
 */
export function abortWhenCallerLeaves(reply: FastifyReply): AbortController {
  const controller = new AbortController();
  const response = reply.raw;
  // The caller may already be gone (it left while its body was being read): nobody to call for.
  if (response.destroyed && !response.writableFinished) {
    controller.abort();
    return controller;
  }
  response.once("close", () => {
    if (!response.writableFinished) controller.abort();
  });
  return controller;
}

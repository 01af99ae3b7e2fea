import type { EventStore } from "@modelcontextprotocol/sdk/server/webStandardStreamableHttp.js";
import type { JSONRPCMessage } from "@modelcontextprotocol/sdk/types.js";

const separator = "::";

/**
 * The SSE events of one MCP session, kept so that a client whose stream broke can resume it with
 * Last-Event-ID (GET, 2025-11-25 and earlier). In memory and bounded: the oldest events are dropped
 * past `capacity`, so a long session costs a fixed amount of memory; a resume from a dropped event
 * replays what is left of its stream. Event ids carry their stream's id, so the stream is known even
 * for an event no longer kept.
 */
export class BoundedEventStore implements EventStore {
  readonly #capacity: number;
  readonly #events = new Map<string, { streamId: string; message: JSONRPCMessage }>();
  #sequence = 0;

  constructor(capacity = 512) {
    this.#capacity = capacity;
  }

  async storeEvent(streamId: string, message: JSONRPCMessage): Promise<string> {
    this.#sequence += 1;
    const eventId = `${streamId}${separator}${this.#sequence}`;
    this.#events.set(eventId, { streamId, message });
    if (this.#events.size > this.#capacity) {
      const oldest = this.#events.keys().next();
      if (oldest.done !== true) this.#events.delete(oldest.value);
    }
    return eventId;
  }

  async getStreamIdForEventId(eventId: string): Promise<string | undefined> {
    return streamOf(eventId);
  }

  async replayEventsAfter(lastEventId: string, { send }: { send: (eventId: string, message: JSONRPCMessage) => Promise<void> }): Promise<string> {
    const streamId = streamOf(lastEventId);
    if (streamId === undefined) throw new Error("not an event id of this session");
    const after = sequenceOf(lastEventId);
    for (const [eventId, event] of this.#events) {
      // Priming events (an id and no message) set the client's cursor; they hold nothing to replay.
      if (event.streamId !== streamId || sequenceOf(eventId) <= after || !("jsonrpc" in event.message)) continue;
      await send(eventId, event.message);
    }
    return streamId;
  }
}

function streamOf(eventId: string): string | undefined {
  const at = eventId.lastIndexOf(separator);
  return at <= 0 ? undefined : eventId.slice(0, at);
}

function sequenceOf(eventId: string): number {
  const sequence = Number(eventId.slice(eventId.lastIndexOf(separator) + separator.length));
  return Number.isSafeInteger(sequence) ? sequence : Number.POSITIVE_INFINITY;
}

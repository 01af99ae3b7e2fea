/**
 * What reached the demo provider, for tests: each request's method, path, headers (to prove which
 * credentials arrived) and JSON body, and how it ended. Tests wait on events instead of sleeping.
 */
import { EventEmitter } from "node:events";
import type { IncomingHttpHeaders } from "node:http";
import type { ProviderFamily } from "./provider-error.ts";
import { matchesRequest, type RequestFilter } from "./request-filter.ts";

/**
 * `pending` until the response ends. `aborted` means the client went away before the response was
 * complete; `reset` means the provider itself cut the connection (a reset fault).
 */
export type RequestOutcome = "pending" | "completed" | "aborted" | "reset";

export interface RecordedRequest {
  /** 1 for the first request the provider received, then counting up. */
  readonly sequence: number;
  readonly method: string;
  /** The path without the query string. */
  readonly path: string;
  /** The path with the query string, as received. */
  readonly url: string;
  readonly headers: IncomingHttpHeaders;
  readonly family: ProviderFamily;
  /** The parsed body when it was JSON; undefined otherwise or when it could not be parsed. */
  readonly body: unknown;
  /** The kind of fault that answered this request, if one did. */
  readonly fault: string | undefined;
  readonly outcome: RequestOutcome;
}

/** The log's own, writable view of a record. */
export interface RequestRecord extends RecordedRequest {
  body: unknown;
  fault: string | undefined;
  outcome: RequestOutcome;
  announced: boolean;
}

export interface RequestLogEvents {
  /** A request arrived (its JSON body already parsed when it had one). */
  request: [RecordedRequest];
  /** The client went away before its response was complete. */
  aborted: [RecordedRequest];
  /** A response ended, whatever its outcome. */
  finished: [RecordedRequest];
}

export class RequestLog {
  readonly events = new EventEmitter<RequestLogEvents>().setMaxListeners(100);
  readonly #records: RequestRecord[] = [];
  readonly #limit: number;
  #sequence = 0;
  #aborted = 0;

  /** Keeps at least the last `limit` requests (0 keeps none; events are still emitted). */
  constructor(limit: number) {
    this.#limit = limit;
  }

  get records(): readonly RecordedRequest[] {
    return this.#records;
  }

  /** How many requests the client abandoned before their response was complete. */
  get aborted(): number {
    return this.#aborted;
  }

  open(method: string, url: string, headers: IncomingHttpHeaders, family: ProviderFamily): RequestRecord {
    const queryStart = url.indexOf("?");
    const record: RequestRecord = {
      sequence: (this.#sequence += 1),
      method,
      path: queryStart === -1 ? url : url.slice(0, queryStart),
      url,
      headers,
      family,
      body: undefined,
      fault: undefined,
      outcome: "pending",
      announced: false,
    };
    if (this.#limit > 0) {
      this.#records.push(record);
      // Trimming in batches keeps the cost per request constant.
      if (this.#records.length >= this.#limit * 2) this.#records.splice(0, this.#records.length - this.#limit);
    }
    return record;
  }

  /** Tells waiting tests about the request; only the first call for a record does anything. */
  announce(record: RequestRecord): void {
    if (record.announced) return;
    record.announced = true;
    this.events.emit("request", record);
  }

  finish(record: RequestRecord, outcome: Exclude<RequestOutcome, "pending">): void {
    if (record.outcome !== "pending") return;
    this.announce(record);
    record.outcome = outcome;
    if (outcome === "aborted") {
      this.#aborted += 1;
      this.events.emit("aborted", record);
    }
    this.events.emit("finished", record);
  }

  clear(): void {
    this.#records.length = 0;
    this.#aborted = 0;
  }

  /** The next request to arrive that matches `filter`. */
  nextRequest(filter?: RequestFilter): Promise<RecordedRequest> {
    return this.#next("request", filter);
  }

  /** The next request matching `filter` whose client goes away before its response is complete. */
  onceAborted(filter?: RequestFilter): Promise<RecordedRequest> {
    return this.#next("aborted", filter);
  }

  /** The next response matching `filter` to end, whatever its outcome. */
  nextFinished(filter?: RequestFilter): Promise<RecordedRequest> {
    return this.#next("finished", filter);
  }

  #next(event: keyof RequestLogEvents, filter: RequestFilter | undefined): Promise<RecordedRequest> {
    return new Promise((resolve) => {
      const listener = (record: RecordedRequest): void => {
        if (!matchesRequest(filter, record.method, record.path)) return;
        this.events.off(event, listener);
        resolve(record);
      };
      this.events.on(event, listener);
    });
  }
}

/** A support ticket of the demo helpdesk. */
export interface Ticket {
  id: string;
  subject: string;
  status: "open" | "pending" | "closed";
  customer: string;
  body: string;
}

const seed: readonly Ticket[] = [
  { id: "T-1001", subject: "Parcel not delivered", status: "open", customer: "ada@example.com", body: "Order 12345 was due on Monday and has not arrived." },
  { id: "T-1002", subject: "Refund for a damaged kettle", status: "pending", customer: "grace@example.com", body: "The kettle arrived with a cracked lid; I would like a refund." },
  { id: "T-1003", subject: "Change of delivery address", status: "closed", customer: "alan@example.com", body: "Please deliver order 12377 to my office instead." },
  { id: "T-1004", subject: "Invoice shows the wrong VAT number", status: "open", customer: "edsger@example.com", body: "Our VAT number on invoice INV-88 is wrong." },
  { id: "T-1005", subject: "Parcel delivered to a neighbour", status: "open", customer: "barbara@example.com", body: "The courier left order 12390 with a neighbour I do not know." },
];

/**
 * The demo helpdesk's tickets, in memory. One store is shared by every session of a demo server, so
 * a ticket deleted in one session is gone for all (which is what makes delete_ticket worth guarding).
 */
export class TicketStore {
  readonly #tickets = new Map<string, Ticket>(seed.map((ticket) => [ticket.id, { ...ticket }]));
  /** Who watches which ticket (sessions that subscribed to its resource), told when it changes. */
  readonly #watchers = new Map<string, Set<(id: string) => void>>();

  watch(id: string, notify: (id: string) => void): void {
    let watchers = this.#watchers.get(id);
    if (watchers === undefined) {
      watchers = new Set();
      this.#watchers.set(id, watchers);
    }
    watchers.add(notify);
  }

  unwatch(id: string, notify: (id: string) => void): void {
    this.#watchers.get(id)?.delete(notify);
  }

  all(): Ticket[] {
    return [...this.#tickets.values()];
  }

  get(id: string): Ticket | undefined {
    return this.#tickets.get(id);
  }

  search(query: string, status?: Ticket["status"]): Ticket[] {
    const words = query.toLowerCase().split(/\s+/).filter((word) => word !== "");
    return this.all().filter((ticket) => {
      if (status !== undefined && ticket.status !== status) return false;
      const text = `${ticket.id} ${ticket.subject} ${ticket.body}`.toLowerCase();
      return words.every((word) => text.includes(word));
    });
  }

  delete(id: string): boolean {
    const deleted = this.#tickets.delete(id);
    if (deleted) for (const notify of this.#watchers.get(id) ?? []) notify(id);
    return deleted;
  }
}

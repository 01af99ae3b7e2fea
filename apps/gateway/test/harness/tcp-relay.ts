/**
 * A TCP relay put between the gateway and an upstream, so a test can see the gateway's upstream
 * connections: how many it opened, and which are still open. Each connection is relayed to the
 * target; when either side closes, the other is closed too.
 */
import { once } from "node:events";
import { createConnection, createServer, type Server, type Socket } from "node:net";

export interface TcpRelay {
  /** http://127.0.0.1:PORT */
  readonly url: string;
  /** The connections from the gateway that are open now. */
  readonly open: ReadonlySet<Socket>;
  /** How many connections the gateway opened in all. */
  readonly accepted: number;
  /** Where to relay to (an origin like http://127.0.0.1:1234); connections before it is set are refused. */
  target: string | undefined;
  close(): Promise<void>;
}

export async function startTcpRelay(): Promise<TcpRelay> {
  const open = new Set<Socket>();
  let accepted = 0;
  const relay: { target: string | undefined } = { target: undefined };
  const server: Server = createServer((inbound) => {
    accepted += 1;
    if (relay.target === undefined) {
      inbound.destroy();
      return;
    }
    const { hostname, port } = new URL(relay.target);
    const outbound = createConnection({ host: hostname, port: Number(port) });
    open.add(inbound);
    inbound.on("error", () => inbound.destroy());
    outbound.on("error", () => outbound.destroy());
    inbound.once("close", () => {
      open.delete(inbound);
      outbound.destroy();
    });
    outbound.once("close", () => inbound.destroy());
    inbound.pipe(outbound);
    outbound.pipe(inbound);
  });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const address = server.address();
  if (address === null || typeof address === "string") throw new Error("the relay is not listening on TCP");
  return {
    url: `http://127.0.0.1:${address.port}`,
    open,
    get accepted() {
      return accepted;
    },
    get target() {
      return relay.target;
    },
    set target(value) {
      relay.target = value;
    },
    close: async () => {
      for (const socket of open) socket.destroy();
      server.close();
      await once(server, "close");
    },
  };
}

/** An http:// origin that refuses connections: a port that was bound, then released. */
export async function refusingOrigin(): Promise<string> {
  const server = createServer();
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const address = server.address();
  if (address === null || typeof address === "string") throw new Error("not listening on TCP");
  server.close();
  await once(server, "close");
  return `http://127.0.0.1:${address.port}`;
}

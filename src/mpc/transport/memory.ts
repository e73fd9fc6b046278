/**
 * The three parties' transports inside one process, for tests and single-process runs: an in-memory
 * queue per ordered pair, with the same timeout, close and delay behaviour as the TLS transport.
 * @module
 */
import { checkPeer, DelayLine, joinParts, PeerInbox } from "./frames.ts";
import { PARTIES, type PartyId, PeerError, type Transport, type TransportOptions } from "./types.ts";

/** What travels from one party to another: a frame, or the news that the sender closed. */
type Delivery = Uint8Array | typeof CLOSED;
const CLOSED = Symbol("closed");

/** The transports of parties 0, 1 and 2, linked to each other in memory. */
export function memoryTransports(options: TransportOptions): [Transport, Transport, Transport] {
  const delayMs = options.delayMs ?? 0;
  // inboxes[to][from]: the frames `from` sent to `to`.
  const inboxes = PARTIES.map((to) =>
    PARTIES.map((from) => (from === to ? undefined : new PeerInbox(from, `node ${from}`, options.timeoutMs))),
  );
  const inboxOf = (to: PartyId, from: PartyId): PeerInbox => inboxes[to]?.[from] as PeerInbox;

  const transportOf = (party: PartyId): Transport => {
    const stats = { framesSent: 0, bytesSent: 0 };
    let closed = false;
    const deliver = (to: PartyId, delivery: Delivery): void => {
      const inbox = inboxOf(to, party);
      if (delivery === CLOSED) inbox.fail(new PeerError(party, `node ${party} closed the connection`));
      else inbox.deliver(delivery);
    };
    // Without a delay, frames go straight into the peer's inbox; with one, through a line per peer
    // that keeps their order.
    const lines = PARTIES.map((to) =>
      delayMs > 0 && to !== party
        ? new DelayLine<Delivery>(delayMs, (delivery) => deliver(to, delivery))
        : undefined,
    );
    const post = (to: PartyId, delivery: Delivery): void => {
      const line = lines[to];
      if (line === undefined) deliver(to, delivery);
      else line.push(delivery);
    };
    return {
      party,
      stats,
      send(to: PartyId, ...parts: readonly ArrayBufferView[]): void {
        checkPeer(party, to);
        if (closed) throw new Error(`node ${party} cannot send to node ${to}: its transport is closed`);
        const frame = joinParts(parts, 0);
        stats.framesSent++;
        stats.bytesSent += frame.byteLength;
        post(to, frame);
      },
      receive(from: PartyId): Promise<Uint8Array> {
        checkPeer(party, from);
        return inboxOf(party, from).receive();
      },
      async close(): Promise<void> {
        if (closed) return;
        closed = true;
        for (const peer of PARTIES) {
          if (peer === party) continue;
          inboxOf(party, peer).fail(
            new PeerError(peer, `node ${party} closed its transport: no more frames from node ${peer}`),
            true,
          );
          // Frames already sent still arrive, like bytes written before a socket is ended.
          post(peer, CLOSED);
        }
        await Promise.all(lines.map((line) => line?.drained()));
      },
    };
  };
  return [transportOf(0), transportOf(1), transportOf(2)];
}

/**
 * The transport between three processes: a mutually authenticated TLS 1.3 mesh, one connection per
 * pair, where each side accepts only the exact certificate configured for the party it expects.
 * @module
 */
import { createPrivateKey, X509Certificate } from "node:crypto";
import { isIP } from "node:net";
import { createServer, type Server, type TLSSocket, connect as tlsConnect } from "node:tls";

import {
  checkPeer,
  DelayLine,
  FRAME_HEADER_BYTES,
  FrameReader,
  joinParts,
  OversizedFrameError,
  PeerInbox,
  writeFrameHeader,
} from "./frames.ts";
import { certificateFingerprint, describeNode, type Mesh } from "./peers.ts";
import { PARTIES, type PartyId, PeerError, type Transport, type TransportOptions } from "./types.ts";

/** Errors of reaching a peer that is not listening yet (nodes start in any order): worth retrying. */
const RETRYABLE_CODES = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "ECONNABORTED",
  "ETIMEDOUT",
  "EHOSTUNREACH",
  "EHOSTDOWN",
  "ENETUNREACH",
  "ENETDOWN",
  "EAI_AGAIN",
  "ENOTFOUND",
  "EPIPE",
]);

const NO_ATTEMPT = "no attempt finished";
const FIRST_RETRY_MS = 25;
const MAX_RETRY_MS = 500;
/** How long `close` waits for a peer to answer our end of a connection before destroying it. */
const CLOSE_GRACE_MS = 2000;

const textEncoder = new TextEncoder();
const textDecoder = new TextDecoder();

/** The first frame on a connection: the connecting party says who it is. */
function helloFrame(party: PartyId): Uint8Array {
  return textEncoder.encode(`snippet-mpc/1 hello ${party}`);
}

/** The listener's answer once it accepted the connecting party. */
function welcomeFrame(party: PartyId): Uint8Array {
  return textEncoder.encode(`snippet-mpc/1 welcome ${party}`);
}

/** The party a hello or welcome frame names, or undefined if it is not one. */
function partyInGreeting(frame: Uint8Array, kind: "hello" | "welcome"): PartyId | undefined {
  if (frame.byteLength > 64) return undefined;
  const match = new RegExp(`^snippet-mpc/1 ${kind} ([012])$`).exec(textDecoder.decode(frame));
  return match === null ? undefined : (Number(match[1]) as PartyId);
}

/**
 * A frame with its header in one buffer, ready for one socket write: a header written on its own
 * would cost the peer a wake-up and a TLS record of its own, more than the copy.
 */
function framed(...parts: readonly ArrayBufferView[]): Uint8Array {
  const buffer = joinParts(parts, FRAME_HEADER_BYTES);
  writeFrameHeader(buffer, 0, buffer.byteLength - FRAME_HEADER_BYTES);
  return buffer;
}

/**
 * A TLS socket cut into frames. It reports each frame to `onFrame` and, once, how the stream ended to
 * `onEnd`: closed, closed mid-frame (truncated), or broken by an oversized frame. The handlers are
 * swapped as the connection moves from greeting to data, and a swap takes effect at the next frame
 * even within one chunk.
 */
class FramedSocket {
  private readonly reader = new FrameReader();
  private ended = false;
  private lastError: Error | undefined;
  onFrame: (frame: Uint8Array) => void = () => {};
  onEnd: (reason: string) => void = () => {};

  constructor(readonly socket: TLSSocket) {
    socket.on("data", (chunk: Buffer) => this.read(chunk));
    // Recorded, not thrown: the 'close' that always follows reports the end with its cause.
    socket.on("error", (error) => {
      this.lastError ??= error;
    });
    socket.on("end", () => this.finish());
    socket.on("close", () => this.finish());
  }

  /** The first socket error, if any. */
  get error(): Error | undefined {
    return this.lastError;
  }

  /** Writes one frame built by {@link framed}. */
  write(frame: Uint8Array): void {
    // A dead link drops frames: the failure reaches the protocol through `receive`.
    if (this.ended || !this.socket.writable) return;
    this.socket.write(frame);
  }

  /** Ends the stream from this side with `reason` (reported to `onEnd`) and destroys the socket. */
  abort(reason: string): void {
    this.end(reason);
    this.socket.destroy();
  }

  private read(chunk: Buffer): void {
    if (this.ended) return;
    this.reader.push(chunk);
    try {
      for (let frame = this.reader.next(); frame !== undefined; frame = this.reader.next()) {
        this.onFrame(frame);
        if (this.ended) return;
      }
    } catch (error) {
      if (!(error instanceof OversizedFrameError)) throw error;
      this.abort(`sent an ${error.message}`);
    }
  }

  private finish(): void {
    const leftover = this.reader.bufferedBytes;
    if (leftover > 0) {
      this.end(`closed the connection mid-frame: truncated frame (${leftover} bytes of an unfinished frame)`);
    } else {
      this.end(
        `closed the connection${this.lastError === undefined ? "" : ` (${errorText(this.lastError)})`}`,
      );
    }
  }

  private end(reason: string): void {
    if (this.ended) return;
    this.ended = true;
    this.onEnd(reason);
  }
}

/**
 * An error in one line: OpenSSL's messages carry a multi-line dump whose useful part is the `reason`
 * Node attaches (`tlsv13 alert certificate required`).
 */
function errorText(error: Error): string {
  const reason = (error as Error & { reason?: unknown }).reason;
  return typeof reason === "string" && reason !== ""
    ? reason
    : (error.message.split("\n")[0] ?? error.message);
}

/** Why a dial failed: `retryable` when the peer is probably just not listening yet. */
class DialError extends Error {
  constructor(
    message: string,
    readonly retryable: boolean,
  ) {
    super(message);
  }
}

/** What {@link dialAndGreet} needs: where to connect, as whom, and whom to accept. */
interface DialSpec {
  readonly host: string;
  readonly port: number;
  readonly privateKeyPem: string;
  readonly certificatePem: string;
  /** The only certificate accepted from the listener. */
  readonly peerCertificatePem: string;
  readonly peerFingerprint: string;
  /** The party this connection claims to be. */
  readonly as: PartyId;
  /** The party expected to listen there. */
  readonly to: PartyId;
  readonly peerLabel: string;
}

/**
 * One attempt: TCP and TLS to the listener, pin its certificate, say hello and wait for its welcome.
 * Resolves with the framed socket, whose `onFrame` the caller must set at once (synchronously in
 * `onWelcome`, so frames in the same chunk as the welcome are not lost).
 */
function dialAndGreet(
  spec: DialSpec,
  signal: AbortSignal,
  onWelcome: (connection: FramedSocket) => void,
): Promise<FramedSocket> {
  return new Promise((resolve, reject) => {
    const socket = tlsConnect({
      host: spec.host,
      port: spec.port,
      key: spec.privateKeyPem,
      cert: spec.certificatePem,
      ca: [spec.peerCertificatePem],
      minVersion: "TLSv1.3",
      ciphers: TLS_CIPHER_SUITES,
      rejectUnauthorized: true,
      // The chain check trusts only the peer's certificate as a root, so any certificate issued under
      // that key would pass; the pin makes it exactly the configured one. Host names are not
      // checked: the pin is stronger.
      checkServerIdentity: (_host, certificate) =>
        certificate.fingerprint256 === spec.peerFingerprint
          ? undefined
          : new Error(
              `${spec.peerLabel} at ${spec.host}:${spec.port} presented a certificate that is not its configured one (SHA-256 ${certificate.fingerprint256})`,
            ),
      // SNI may not carry an IP address (RFC 6066).
      ...(isIP(spec.host) === 0 ? { servername: spec.host } : {}),
    });
    const connection = new FramedSocket(socket);
    let secure = false;
    let settled = false;
    const fail = (error: DialError): void => {
      if (settled) return;
      settled = true;
      signal.removeEventListener("abort", onAbort);
      connection.onEnd = () => {};
      socket.destroy();
      reject(error);
    };
    const onAbort = (): void =>
      fail(
        new DialError(
          secure
            ? "connected, but no welcome came after the hello"
            : "the TCP or TLS connection did not complete",
          false,
        ),
      );
    signal.addEventListener("abort", onAbort, { once: true });
    socket.once("secureConnect", () => {
      secure = true;
      socket.setNoDelay(true);
      connection.write(framed(helloFrame(spec.as)));
    });
    connection.onFrame = (frame) => {
      if (partyInGreeting(frame, "welcome") !== spec.to) {
        fail(
          new DialError(
            `${spec.peerLabel} at ${spec.host}:${spec.port} answered the hello with a bad frame`,
            false,
          ),
        );
        return;
      }
      settled = true;
      signal.removeEventListener("abort", onAbort);
      connection.onFrame = () => {};
      connection.onEnd = () => {};
      onWelcome(connection);
      resolve(connection);
    };
    connection.onEnd = () => {
      const error = connection.error as (Error & { code?: string }) | undefined;
      const code = error?.code;
      if (!secure && (code === undefined || RETRYABLE_CODES.has(code))) {
        fail(
          new DialError(
            code ??
              (error === undefined ? "the connection closed during the TLS handshake" : errorText(error)),
            true,
          ),
        );
      } else if (!secure) {
        fail(
          new DialError(
            `${spec.peerLabel} at ${spec.host}:${spec.port} failed TLS authentication: ${error === undefined ? code : errorText(error)}`,
            false,
          ),
        );
      } else {
        fail(
          new DialError(
            `${spec.peerLabel} at ${spec.host}:${spec.port} refused node ${spec.as}${error === undefined ? "" : ` (${errorText(error)})`}: is this node's certificate the one ${spec.peerLabel} has configured?`,
            false,
          ),
        );
      }
    };
  });
}

/** Waits `ms`, or less if `signal` aborts; never keeps the process alive by itself once aborted. */
function pause(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) {
      resolve();
      return;
    }
    const timer = setTimeout(done, ms);
    function done(): void {
      clearTimeout(timer);
      signal.removeEventListener("abort", done);
      resolve();
    }
    signal.addEventListener("abort", done, { once: true });
  });
}

/** A higher-index party this listener waits for. */
interface AwaitedPeer {
  resolve(connection: FramedSocket): void;
  reject(error: Error): void;
  connection: FramedSocket | undefined;
}

/**
 * AES-128-GCM only: the nodes move megabytes per round, and on AES-NI it is the fastest TLS 1.3 suite
 * (Node's default order puts AES-256 first); 128-bit keys are ample for these links.
 */
export const TLS_CIPHER_SUITES = "TLS_AES_128_GCM_SHA256";

/**
 * Connects this party to the other two over mutually authenticated TLS 1.3: listens for the parties
 * with a higher index, dials those with a lower one (retrying until they listen), and resolves when
 * both links are up. Setup is bounded by `options.timeoutMs`; receives wait at most as long.
 * @throws {@link PeerError} naming the peer that could not be reached or was rejected.
 */
export async function connectTls(
  mesh: Mesh,
  party: PartyId,
  privateKeyPem: string,
  options: TransportOptions,
): Promise<Transport> {
  const own = mesh.nodes[party];
  const label = (peer: PartyId): string => describeNode(mesh, peer);
  checkKeyPair(privateKeyPem, own.certificatePem, label(party));
  const fingerprints = PARTIES.map((peer) => certificateFingerprint(mesh.nodes[peer].certificatePem));
  const inboxes = PARTIES.map((peer) =>
    peer === party ? undefined : new PeerInbox(peer, label(peer), options.timeoutMs),
  );
  const inboxOf = (peer: PartyId): PeerInbox => inboxes[peer] as PeerInbox;
  const links: (FramedSocket | undefined)[] = [undefined, undefined, undefined];
  /** Hands a greeted connection to the data phase: frames go to the inbox, the end fails it. */
  const adopt = (peer: PartyId, connection: FramedSocket): void => {
    links[peer] = connection;
    connection.onFrame = (frame) => inboxOf(peer).deliver(frame);
    connection.onEnd = (reason) => {
      const error = new PeerError(peer, `${label(peer)} ${reason}`);
      inboxOf(peer).fail(error);
      options.onLinkLost?.(error);
    };
  };

  const setup = new AbortController();
  let timedOut = false;
  const setupTimer = setTimeout(() => {
    timedOut = true;
    setup.abort();
  }, options.timeoutMs);
  const lower = PARTIES.filter((peer) => peer < party);
  const higher = PARTIES.filter((peer) => peer > party);
  const pendingSockets = new Set<TLSSocket>();
  let server: Server | undefined;
  try {
    const dials = lower.map(async (peer) => {
      const node = mesh.nodes[peer];
      const spec: DialSpec = {
        host: node.host,
        port: node.port,
        privateKeyPem,
        certificatePem: own.certificatePem,
        peerCertificatePem: node.certificatePem,
        peerFingerprint: fingerprints[peer] as string,
        as: party,
        to: peer,
        peerLabel: label(peer),
      };
      let lastProblem = NO_ATTEMPT;
      let retryMs = FIRST_RETRY_MS;
      while (!setup.signal.aborted) {
        try {
          await dialAndGreet(spec, setup.signal, (connection) => adopt(peer, connection));
          return;
        } catch (error) {
          if (!(error instanceof DialError)) throw error;
          if (setup.signal.aborted) {
            if (lastProblem === NO_ATTEMPT) lastProblem = error.message;
            break;
          }
          if (!error.retryable) throw new PeerError(peer, error.message);
          lastProblem = error.message;
        }
        await pause(retryMs, setup.signal);
        retryMs = Math.min(retryMs * 2, MAX_RETRY_MS);
      }
      throw new PeerError(
        peer,
        `could not reach ${label(peer)} at ${node.host}:${node.port} within ${options.timeoutMs} ms (last error: ${lastProblem})`,
      );
    });

    let accepts: Promise<void>[] = [];
    if (higher.length > 0) {
      const awaited = new Map<PartyId, AwaitedPeer>();
      accepts = higher.map(
        (peer) =>
          new Promise<void>((resolve, reject) => {
            awaited.set(peer, { resolve: () => resolve(), reject, connection: undefined });
          }),
      );
      let lastRejection: string | undefined;
      const rejectConnection = (connection: FramedSocket, reason: string): void => {
        lastRejection = reason;
        connection.onEnd = () => {};
        connection.socket.destroy();
      };
      server = createServer({
        key: privateKeyPem,
        cert: own.certificatePem,
        ca: higher.map((peer) => mesh.nodes[peer].certificatePem),
        requestCert: true,
        rejectUnauthorized: true,
        minVersion: "TLSv1.3",
        ciphers: TLS_CIPHER_SUITES,
      });
      server.on("tlsClientError", (error, socket) => {
        lastRejection = `a TLS handshake from ${socket.remoteAddress ?? "an unknown address"} failed (${errorText(error)})`;
      });
      server.on("secureConnection", (socket: TLSSocket) => {
        socket.setNoDelay(true);
        pendingSockets.add(socket);
        socket.once("close", () => pendingSockets.delete(socket));
        const connection = new FramedSocket(socket);
        const from = socket.remoteAddress ?? "an unknown address";
        connection.onEnd = (reason) => {
          lastRejection = `a connection from ${from} ${reason} before its hello`;
        };
        connection.onFrame = (frame) => {
          const claimed = partyInGreeting(frame, "hello");
          if (claimed === undefined) {
            rejectConnection(connection, `a connection from ${from} sent a malformed hello`);
            return;
          }
          const waiting = awaited.get(claimed);
          if (waiting === undefined) {
            rejectConnection(
              connection,
              `a connection from ${from} claims to be node ${claimed}, which does not dial node ${party}`,
            );
            return;
          }
          if (waiting.connection !== undefined) {
            rejectConnection(connection, `a second connection from ${from} claims to be ${label(claimed)}`);
            return;
          }
          const presented = socket.getPeerCertificate().fingerprint256;
          if (presented !== fingerprints[claimed]) {
            rejectConnection(
              connection,
              `a connection from ${from} claims to be ${label(claimed)} but presented another certificate (SHA-256 ${presented})`,
            );
            return;
          }
          waiting.connection = connection;
          pendingSockets.delete(socket);
          adopt(claimed, connection);
          connection.write(framed(welcomeFrame(party)));
          waiting.resolve(connection);
        };
      });
      const listening = server;
      setup.signal.addEventListener(
        "abort",
        () => {
          // The last rejected connection may explain the absence: said once, with the first one missing.
          let explanation = lastRejection === undefined ? "" : ` (last rejected: ${lastRejection})`;
          for (const [peer, waiting] of awaited) {
            if (waiting.connection !== undefined) continue;
            waiting.reject(
              new PeerError(
                peer,
                `${label(peer)} did not connect to ${label(party)} at ${own.host}:${own.port} within ${options.timeoutMs} ms${explanation}`,
              ),
            );
            explanation = "";
          }
        },
        { once: true },
      );
      // The dials and accepts may fail while this waits; their rejections are handled below.
      for (const task of [...dials, ...accepts]) task.catch(() => {});
      await new Promise<void>((resolve, reject) => {
        listening.on("error", (error) =>
          reject(new Error(`${label(party)} cannot listen on ${own.host}:${own.port}: ${errorText(error)}`)),
        );
        listening.listen(own.port, own.host, () => resolve());
      });
    }
    const tasks = [...dials, ...accepts];
    try {
      await Promise.all(tasks);
    } catch (error) {
      if (!timedOut) throw error;
      // At the timeout every missing link fails at once: report them all, lower parties first.
      const failures = (await Promise.allSettled(tasks)).flatMap((outcome) =>
        outcome.status === "rejected" ? [outcome.reason as unknown] : [],
      );
      const [firstFailure] = failures;
      if (failures.length < 2 || !failures.every((failure) => failure instanceof PeerError)) throw error;
      throw new PeerError(
        (firstFailure as PeerError).peer,
        failures.map((failure) => (failure as PeerError).message).join("; "),
      );
    }
  } catch (error) {
    setup.abort();
    for (const socket of pendingSockets) socket.destroy();
    for (const link of links) link?.socket.destroy();
    server?.close();
    throw error;
  } finally {
    clearTimeout(setupTimer);
  }
  // Every link is up: no one else may connect.
  server?.close();
  for (const socket of pendingSockets) socket.destroy();
  return tlsTransport(party, label, links, inboxOf, options);
}

/** Fails early and clearly when the key is not the one of this party's certificate (OpenSSL would say "key values mismatch"). */
function checkKeyPair(privateKeyPem: string, certificatePem: string, who: string): void {
  let matches: boolean;
  try {
    matches = new X509Certificate(certificatePem).checkPrivateKey(createPrivateKey(privateKeyPem));
  } catch (error) {
    throw new Error(
      `the private key of ${who} cannot be read: ${error instanceof Error ? errorText(error) : String(error)}`,
    );
  }
  if (!matches)
    throw new Error(`the private key given for ${who} does not belong to its configured certificate`);
}

/** The data phase over greeted links. */
function tlsTransport(
  party: PartyId,
  label: (peer: PartyId) => string,
  links: readonly (FramedSocket | undefined)[],
  inboxOf: (peer: PartyId) => PeerInbox,
  options: TransportOptions,
): Transport {
  const stats = { framesSent: 0, bytesSent: 0 };
  let closed = false;
  const linkTo = (peer: PartyId): FramedSocket => links[peer] as FramedSocket;
  const delayMs = options.delayMs ?? 0;
  const lines = PARTIES.map((peer) =>
    delayMs > 0 && peer !== party
      ? new DelayLine<Uint8Array>(delayMs, (frame) => linkTo(peer).write(frame))
      : undefined,
  );
  return {
    party,
    stats,
    send(to: PartyId, ...parts: readonly ArrayBufferView[]): void {
      checkPeer(party, to);
      if (closed) throw new Error(`${label(party)} cannot send to node ${to}: its transport is closed`);
      const frame = framed(...parts);
      stats.framesSent++;
      stats.bytesSent += frame.byteLength - FRAME_HEADER_BYTES;
      const line = lines[to];
      if (line === undefined) linkTo(to).write(frame);
      else line.push(frame);
    },
    receive(from: PartyId): Promise<Uint8Array> {
      checkPeer(party, from);
      return inboxOf(from).receive();
    },
    async close(): Promise<void> {
      if (closed) return;
      closed = true;
      const peers = PARTIES.filter((peer) => peer !== party);
      for (const peer of peers) {
        inboxOf(peer).fail(
          new PeerError(peer, `${label(party)} closed its transport: no more frames from ${label(peer)}`),
          true,
        );
      }
      // Frames already sent still go out, as they would have without the added latency.
      await Promise.all(lines.map((line) => line?.drained()));
      await Promise.all(peers.map((peer) => endGracefully(linkTo(peer).socket)));
    },
  };
}

/** Ends a socket after its pending writes; destroys it if the peer does not close its side in time. */
function endGracefully(socket: TLSSocket): Promise<void> {
  if (socket.destroyed) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => socket.destroy(), CLOSE_GRACE_MS);
    timer.unref();
    socket.once("close", () => {
      clearTimeout(timer);
      resolve();
    });
    socket.end();
  });
}

/** What {@link dialRawForTest} needs. */
export interface RawDialOptions {
  readonly config: Mesh;
  /** The party the connection claims to be in its hello. */
  readonly as: PartyId;
  /** The listening party to dial (its configured address and certificate). */
  readonly to: PartyId;
  readonly privateKeyPem: string;
  /** The certificate to present; a test may pass one that is not in the configuration. */
  readonly certificatePem: string;
  readonly timeoutMs: number;
}

/**
 * For tests: dials a listening party, says hello as `as` and waits for the welcome, then hands back
 * the raw socket, so a test can write malformed frames or die mid-frame. Rejects with the listener's
 * refusal. Frames the listener sends afterwards are discarded.
 */
export async function dialRawForTest(options: RawDialOptions): Promise<TLSSocket> {
  const node = options.config.nodes[options.to];
  const abandon = new AbortController();
  const timer = setTimeout(() => abandon.abort(), options.timeoutMs);
  try {
    const connection = await dialAndGreet(
      {
        host: node.host,
        port: node.port,
        privateKeyPem: options.privateKeyPem,
        certificatePem: options.certificatePem,
        peerCertificatePem: node.certificatePem,
        peerFingerprint: certificateFingerprint(node.certificatePem),
        as: options.as,
        to: options.to,
        peerLabel: describeNode(options.config, options.to),
      },
      abandon.signal,
      () => {},
    );
    return connection.socket;
  } finally {
    clearTimeout(timer);
  }
}

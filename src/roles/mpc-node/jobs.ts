/**
 * The wire format between a client and a node: a message is a JSON header frame and a binary body
 * frame; a job request carries the node's input shares, a result the client's output shares.
 * @module
 */
import type { Socket } from "node:net";
import { z } from "zod";
import { FRAME_HEADER_BYTES, FrameReader, writeFrameHeader } from "../../mpc/transport/frames.ts";
import { idField, parseJsonText } from "../../validation/index.ts";
import { requestAuthSchema } from "./signed-request.ts";

/** A client asks the three nodes to run a program on its shared inputs. */
export const jobRequestSchema = z.strictObject({
  type: z.literal("job"),
  job: idField,
  program: z.string().min(1).max(64),
  params: z.record(z.string(), z.unknown()),
  /** Who asks, for programs that answer only some parties. */
  auth: requestAuthSchema.optional(),
});
export type JobRequest = z.infer<typeof jobRequestSchema>;

/** What one node measured while running a job. */
export const jobStatsSchema = z.strictObject({
  rounds: z.number().int().nonnegative(),
  bytesSent: z.number().int().nonnegative(),
  protocolMs: z.number().nonnegative(),
});
export type JobStats = z.infer<typeof jobStatsSchema>;

/**
 * A node's answer: the public results and its shares of the client's outputs; to a household, that
 * its intent is held, then its commitments when the slot is cleared; or an error (about one
 * household's intent when it names one).
 */
export const jobReplySchema = z.discriminatedUnion("type", [
  z.strictObject({ type: z.literal("result"), job: idField, public: z.unknown(), stats: jobStatsSchema }),
  z.strictObject({
    type: z.literal("reading"),
    job: idField,
    meter: idField,
    refused: z.string().nullable(),
    /** Marks a refusal the meter acts on: the reading is held already, or came late (`ReadingRefusal`, src/private/metering/intake.ts). */
    code: z.enum(["held", "closed"]).optional(),
  }),
  z.strictObject({ type: z.literal("held"), job: idField, order: idField }),
  z.strictObject({ type: z.literal("commitments"), job: idField, order: idField, public: z.unknown() }),
  z.strictObject({
    type: z.literal("error"),
    job: z.string(),
    order: z.string().optional(),
    message: z.string(),
  }),
]);
export type JobReply = z.infer<typeof jobReplySchema>;

/** A message on a client connection. */
export interface Message {
  header: unknown;
  body: Uint8Array;
}

/** A message's body as it is sent: its bytes, or parts (views of typed arrays) that follow each other. */
export type OutgoingBody = Uint8Array | readonly ArrayBufferView[];

/** A message to send. */
export interface OutgoingMessage {
  header: unknown;
  body: OutgoingBody;
}

/** What a node's side of a client connection bounds; a client's side bounds nothing. */
export interface MessageLimits {
  /** The largest header frame. */
  readonly headerBytes: number;
  /** The largest body that may follow this header (decided before the body is read). */
  bodyBytes(header: unknown): number;
  /** Reply bytes the peer may leave unread: past them the connection is cut. */
  readonly unreadReplyBytes: number;
  /** Told once when the connection is cut for leaving replies unread. */
  onSlowReader(unreadBytes: number): void;
}

/** How long a connection that is cut may take to flush its last words before it is destroyed. */
const CUT_GRACE_MS = 1000;

/**
 * Frames messages over a socket: `send` writes a header and a body; `messages` yields them as
 * they arrive and ends when the socket does, throwing on a truncated or malformed stream, or, with
 * limits, on a frame larger than they allow (known from its length header, before it is read).
 */
export class MessageSocket {
  readonly #socket: Socket;
  readonly #reader: FrameReader;
  readonly #limits: MessageLimits | undefined;

  constructor(socket: Socket, limits?: MessageLimits) {
    this.#socket = socket;
    this.#limits = limits;
    this.#reader = new FrameReader(limits?.headerBytes);
  }

  /**
   * Writes a message as one buffer. A body in parts is copied into it part by part, the one copy it
   * gets: a client's shares are not joined into a body first (fresh memory is slow to touch).
   */
  send(header: unknown, body: OutgoingBody = new Uint8Array(0)): void {
    if (this.#socket.destroyed) return;
    const json = Buffer.from(JSON.stringify(header));
    const parts = body instanceof Uint8Array ? [body] : body;
    let bodyBytes = 0;
    for (const part of parts) bodyBytes += part.byteLength;
    const frame = Buffer.allocUnsafe(2 * FRAME_HEADER_BYTES + json.length + bodyBytes);
    writeFrameHeader(frame, 0, json.length);
    json.copy(frame, FRAME_HEADER_BYTES);
    writeFrameHeader(frame, FRAME_HEADER_BYTES + json.length, bodyBytes);
    let at = 2 * FRAME_HEADER_BYTES + json.length;
    for (const part of parts) {
      frame.set(new Uint8Array(part.buffer, part.byteOffset, part.byteLength), at);
      at += part.byteLength;
    }
    this.#socket.write(frame);
    // A client that does not read its replies would make the node buffer them without end.
    const unread = this.#socket.writableLength;
    if (this.#limits !== undefined && unread > this.#limits.unreadReplyBytes) {
      this.#socket.destroy();
      this.#limits.onSlowReader(unread);
    }
  }

  async *messages(): AsyncGenerator<Message> {
    let header: unknown;
    let haveHeader = false;
    // Not destroyed when the loop is left: a connection cut for a bad frame still gets told why.
    for await (const chunk of this.#socket.iterator({ destroyOnReturn: false })) {
      this.#reader.push(chunk as Uint8Array);
      for (let frame = this.#reader.next(); frame !== undefined; frame = this.#reader.next()) {
        if (!haveHeader) {
          header = parseJsonText(Buffer.from(frame.buffer, frame.byteOffset, frame.length).toString("utf8"));
          haveHeader = true;
          if (this.#limits !== undefined) this.#reader.maxFrameBytes = this.#limits.bodyBytes(header);
        } else {
          haveHeader = false;
          if (this.#limits !== undefined) this.#reader.maxFrameBytes = this.#limits.headerBytes;
          yield { header, body: frame };
        }
      }
    }
    if (this.#reader.bufferedBytes > 0 || haveHeader)
      throw new Error("the connection ended inside a message");
  }

  close(): void {
    this.#socket.end();
  }

  /** Ends the connection after a last message, destroying it if the peer does not close in time. */
  cut(header: unknown): void {
    this.send(header);
    this.#socket.end();
    setTimeout(() => this.#socket.destroy(), CUT_GRACE_MS).unref();
  }
}

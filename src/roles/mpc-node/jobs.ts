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

/**
 * Frames messages over a socket: `send` writes a header and a body; `messages` yields them as
 * they arrive and ends when the socket does, throwing on a truncated or malformed stream.
 */
export class MessageSocket {
  readonly #socket: Socket;
  readonly #reader = new FrameReader();

  constructor(socket: Socket) {
    this.#socket = socket;
  }

  send(header: unknown, body: Uint8Array = new Uint8Array(0)): void {
    const json = Buffer.from(JSON.stringify(header));
    const frame = Buffer.allocUnsafe(2 * FRAME_HEADER_BYTES + json.length + body.length);
    writeFrameHeader(frame, 0, json.length);
    json.copy(frame, FRAME_HEADER_BYTES);
    writeFrameHeader(frame, FRAME_HEADER_BYTES + json.length, body.length);
    frame.set(body, 2 * FRAME_HEADER_BYTES + json.length);
    this.#socket.write(frame);
  }

  async *messages(): AsyncGenerator<Message> {
    let header: unknown;
    let haveHeader = false;
    for await (const chunk of this.#socket) {
      this.#reader.push(chunk as Uint8Array);
      for (let frame = this.#reader.next(); frame !== undefined; frame = this.#reader.next()) {
        if (!haveHeader) {
          header = parseJsonText(Buffer.from(frame.buffer, frame.byteOffset, frame.length).toString("utf8"));
          haveHeader = true;
        } else {
          haveHeader = false;
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
}

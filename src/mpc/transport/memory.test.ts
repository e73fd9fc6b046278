/**
 * The in-memory transports against the transport contract, and what only they promise: a sent frame
 * is copied, so the sender may reuse its buffer at once.
 * @module
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { runTransportContract } from "../../../test/support/transport.contract.ts";
import { memoryTransports } from "./memory.ts";

runTransportContract("memory", async (options) => memoryTransports(options));

describe("memoryTransports", () => {
  it("copies a sent frame, so the sender may overwrite its buffer", async () => {
    const [first, second, third] = memoryTransports({ timeoutMs: 5000 });
    const buffer = new Uint8Array([1, 2, 3]);
    first.send(1, buffer);
    buffer.fill(9);
    assert.deepEqual(
      [...(await second.receive(0))],
      [1, 2, 3],
      "the receiver sees the bytes as they were sent",
    );
    await Promise.all([first.close(), second.close(), third.close()]);
  });
});

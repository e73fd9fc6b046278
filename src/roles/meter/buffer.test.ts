import assert from "node:assert/strict";
import { appendFile, mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { MeterBuffer } from "./buffer.ts";

const reading = (meter: string, importWh = 5) => ({
  meter,
  slot: "2026-06-01T00:00:00.000Z",
  importWh,
  exportWh: 0,
});

describe("a meter service's buffer", () => {
  let folder: string;
  before(async () => {
    folder = await mkdtemp(join(tmpdir(), "snippet-buffer-"));
  });
  after(() => rm(folder, { recursive: true, force: true }));

  it("keeps what it took and did not settle across a restart, and where its source was", async () => {
    const buffer = await MeterBuffer.open(folder);
    assert.deepEqual(await buffer.take([reading("m1"), reading("m2"), reading("m3")]), ["new", "new", "new"]);
    assert.deepEqual(
      await buffer.take([reading("m1"), reading("m2", 6)]),
      ["again", "conflict"],
      "a copy of a pending reading is nothing new; another reading of its slot does not replace it",
    );
    await buffer.settle(reading("m2"), "delivered");
    await buffer.markFed(4);
    await buffer.close();

    const reopened = await MeterBuffer.open(folder);
    assert.deepEqual(reopened.pending(), [reading("m1"), reading("m3")]);
    assert.equal(reopened.fed, 4);
    await reopened.close();
  });

  it("drops a line a crash tore in half, which was never acknowledged, and goes on after it", async () => {
    const journal = join(folder, "readings.jsonl");
    await appendFile(journal, '{"taken":{"meter":"m4","slot":"2026-06-01T00:00:00.000Z","imp');
    const buffer = await MeterBuffer.open(folder);
    assert.deepEqual(
      buffer.pending().map(({ meter }) => meter),
      ["m1", "m3"],
    );
    await buffer.take([reading("m4")]);
    await buffer.close();
    assert.ok((await readFile(journal, "utf8")).endsWith(`${JSON.stringify({ taken: reading("m4") })}\n`));
    const again = await MeterBuffer.open(folder);
    assert.deepEqual(
      again.pending().map(({ meter }) => meter),
      ["m1", "m3", "m4"],
    );
    await again.close();
  });

  it("refuses a damaged journal, naming the line", async () => {
    await appendFile(join(folder, "readings.jsonl"), '{"taken":{"meter":"m5"}}\n');
    await assert.rejects(MeterBuffer.open(folder), {
      name: "OperationalError",
      message: `${join(folder, "readings.jsonl")} is damaged: line 7 is no buffer record`,
    });
  });
});

import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { ServiceProcess } from "../../test/support/service-process.ts";
import { generateRegistry } from "../private/registry.ts";
import { generateNodeConfig } from "../roles/mpc-node/config.ts";
import { freePorts } from "../system/processes.ts";

const work = mkdtempSync(join(tmpdir(), "snippet-broker-cli-"));
after(() => rmSync(work, { recursive: true, force: true }));

describe("snippet broker", { timeout: 120_000 }, () => {
  it("stops on SIGTERM with exit code 0, its store closed, and starts again from it with the same calendar", async () => {
    const ports = await freePorts(6);
    await generateNodeConfig(join(work, "nodes"), {
      host: "127.0.0.1",
      basePort: 0,
      ports: [ports[0], ports[1], ports[2]] as [number, number, number],
      clientPorts: [ports[3], ports[4], ports[5]] as [number, number, number],
      registry: generateRegistry({ households: [{ id: "h0", zone: "z0", supplier: "s0" }] }),
    });
    const configPath = join(work, "broker.json");
    writeFileSync(
      configPath,
      JSON.stringify({
        listen: { host: "127.0.0.1", port: 0 },
        store: "broker-db",
        nodes: "nodes/nodes.json",
        keys: "nodes/registry.keys.json",
        calendar: {
          slotMinutes: 15,
          gateMinutes: 5,
          graceMinutes: 5,
          origin: "next",
          startDelaySeconds: 3600,
        },
        billingModel: "ucs-uniform",
      }),
    );
    const origins: number[] = [];
    for (const run of [1, 2]) {
      const broker = new ServiceProcess("broker", configPath);
      const { apiPort } = await broker.ready();
      const calendar = (await (await fetch(`http://127.0.0.1:${apiPort}/api/calendar`)).json()) as {
        originMs: number;
      };
      assert.equal(await broker.stop(), 0, `run ${run}: ${broker.log}`);
      const messages = broker.log
        .trim()
        .split("\n")
        .map((line) => (JSON.parse(line) as { msg: string }).msg);
      assert.deepEqual(messages.slice(-2), ["stopping", "stopped"], `run ${run}`);
      assert.ok(calendar.originMs > Date.now() + 3_000_000, "slot 0 an hour ahead, at a slot boundary");
      assert.equal(calendar.originMs % 900_000, 0);
      origins.push(calendar.originMs);
    }
    assert.equal(origins[1], origins[0], "the calendar fixed at the first start");
  });
});

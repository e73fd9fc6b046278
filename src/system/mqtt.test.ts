import assert from "node:assert/strict";
import { test } from "node:test";
import mqtt from "mqtt";
import { startEmbeddedMqtt } from "./mqtt.ts";

test("a QoS 1 message for an offline persistent session reaches its subscriber when it reconnects", async () => {
  const bus = await startEmbeddedMqtt({ host: "127.0.0.1", port: 0 });
  try {
    assert.equal(bus.url, `mqtt://127.0.0.1:${bus.port}`);
    const session = { clientId: "meter-service", clean: false, reconnectPeriod: 0 };
    const subscriber = await mqtt.connectAsync(bus.url, session);
    await subscriber.subscribeAsync("snippet/meters/+/reading", { qos: 1 });
    await subscriber.endAsync();

    const home = await mqtt.connectAsync(bus.url, { reconnectPeriod: 0 });
    await home.publishAsync("snippet/meters/meter-h001/reading", '{"importWh":1}', { qos: 1 });
    await home.endAsync();

    const back = mqtt.connect(bus.url, { ...session, manualConnect: true });
    const received = new Promise<[string, Buffer]>((resolve) =>
      back.once("message", (topic, payload) => resolve([topic, payload])),
    );
    back.connect();
    const [topic, payload] = await received;
    assert.equal(topic, "snippet/meters/meter-h001/reading");
    assert.equal(String(payload), '{"importWh":1}');
    await back.endAsync();
  } finally {
    await bus.close();
  }
});

test("a taken port is refused with a sentence naming it", async () => {
  const bus = await startEmbeddedMqtt({ host: "127.0.0.1", port: 0 });
  try {
    await assert.rejects(startEmbeddedMqtt({ host: "127.0.0.1", port: bus.port }), {
      message: `port ${bus.port} on 127.0.0.1 is already in use: stop what listens there or choose another port for MQTT`,
    });
  } finally {
    await bus.close();
  }
});

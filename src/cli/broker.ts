/**
 * `snippet broker`: the community platform's long-running service — the slot calendar, the market
 * loop on the nodes, the public board and its HTTP API (src/roles/broker/).
 * @module
 */
import type { Command } from "commander";

export function registerBrokerCommand(program: Command): void {
  program
    .command("broker")
    .description(
      "Run the community platform: the slot calendar on the wall clock (or N times faster), the nodes' " +
        "clearing at each gate, metering close and billing, the public board and its HTTP API with live " +
        "updates (GET /openapi.json describes it). Stops on SIGTERM after the step in hand, or by itself " +
        "once a calendar with a slot count has billed its last slot. Logs JSON lines to stderr.",
    )
    .requiredOption("--config <file>", "the broker's configuration (broker.json)")
    .action(async (options: { config: string }) => {
      await runBroker(options.config);
    });
}

/**
 * Runs the broker until SIGTERM/SIGINT or the end of its slots.
 * @throws a ValidationError for a bad config; an OperationalError with a sentence naming
 *   the cause when it cannot start or its store fails.
 */
async function runBroker(configPath: string): Promise<void> {
  // Loaded only when the broker runs: every other command starts without its server and store.
  const { loadBrokerConfig } = await import("../roles/broker/config.ts");
  const { startBroker } = await import("../roles/broker/start.ts");
  const { serviceLogger, untilShutdown } = await import("../roles/service.ts");
  const { OperationalError } = await import("../system/errors.ts");
  const { describeError } = await import("../validation/index.ts");
  const config = loadBrokerConfig(configPath);
  const log = serviceLogger("broker");
  const broker = await startBroker(config, { log, configPath });
  log.info(
    { apiPort: broker.apiPort, healthPort: broker.apiPort, calendar: broker.calendar.settings },
    "ready",
  );
  const signalled = untilShutdown(log, () => broker.stop());
  try {
    const ended = await Promise.race([broker.market, signalled.then(() => "signalled" as const)]);
    if (ended === "finished") log.info("the market has billed its last slot");
  } catch (error) {
    log.error({ reason: describeError(error) }, "the market stopped");
    throw new OperationalError(`the broker stopped: ${describeError(error)}`);
  } finally {
    await broker.stop();
    log.flush();
  }
}

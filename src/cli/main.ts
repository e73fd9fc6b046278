/**
 * The `snippet` command line: thin commands that parse arguments, call the domain and print.
 * Exit codes: 0 done, 2 bad input or usage (nothing on stdout), 1 an unexpected failure.
 * @module
 */
import { Command, CommanderError, InvalidArgumentError, Option } from "commander";
import {
  BILLING_MODELS,
  type BillingModel,
  billPeriod,
  billSlot,
  parseBillRequest,
  StatementBook,
} from "../billing/index.ts";
import { clearCommunity, parseClearRequest } from "../market/index.ts";
import { parseJsonText, ValidationError } from "../validation/index.ts";
import { runDemo } from "./demo.ts";
import { readInputText, toJson } from "./io.ts";

/** Where the CLI reads and writes; the real process streams by default, buffers in tests. */
export interface CliStreams {
  readonly stdin: AsyncIterable<Buffer | string>;
  readonly stdout: { write(text: string): unknown };
  readonly stderr: { write(text: string): unknown };
}

const EXIT_BAD_INPUT = 2;

/** Runs the CLI on `argv` (without `node` and the script) and returns the exit code. */
export async function main(argv: readonly string[], streams: CliStreams = process): Promise<number> {
  const program = buildProgram(streams);
  try {
    await program.parseAsync([...argv], { from: "user" });
    return 0;
  } catch (error) {
    if (error instanceof CommanderError) return error.exitCode === 0 ? 0 : EXIT_BAD_INPUT;
    if (error instanceof ValidationError) {
      const command = program.args[0] ?? "snippet";
      streams.stderr.write(
        `snippet ${command}: invalid input\n${error.issues.map((i) => `  ${i.path}: ${i.message}\n`).join("")}`,
      );
      return EXIT_BAD_INPUT;
    }
    streams.stderr.write(
      `snippet: unexpected failure: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
    );
    return 1;
  }
}

const engineOption = (): Option =>
  new Option("--engine <engine>", "clearing engine: reference (the plaintext specification)")
    .choices(["reference"])
    .default("reference");

const indentOption = (): Option =>
  new Option("--indent <spaces>", "indent the JSON output by this many spaces (0: one line)")
    .argParser((text) => {
      const spaces = Number(text);
      if (!Number.isInteger(spaces) || spaces < 0 || spaces > 10) {
        throw new InvalidArgumentError("expected a whole number of spaces from 0 to 10");
      }
      return spaces;
    })
    .default(0);

function buildProgram(streams: CliStreams): Command {
  const program = new Command("snippet")
    .description(
      "A secure and privacy-friendly peer-to-peer electricity market for local energy communities.",
    )
    .exitOverride()
    .configureOutput({
      writeOut: (text) => streams.stdout.write(text),
      writeErr: (text) => streams.stderr.write(text),
    })
    .showHelpAfterError();

  program
    .command("clear")
    .description("Clear one slot of the community auction (JSON in and out, spec/io.md).")
    .argument("[file]", "input JSON file, or - for stdin", "-")
    .addOption(engineOption())
    .addOption(indentOption())
    .action(async (file: string, options: { indent: number }) => {
      const request = parseClearRequest(parseJsonText(await readInputText(file, streams.stdin)));
      streams.stdout.write(toJson(clearCommunity(request), options.indent));
    });

  program
    .command("bill")
    .description(
      "Bill households over one or more slots with the Universal Cost Split (JSON in and out, spec/io.md).",
    )
    .argument("[file]", "input JSON file, or - for stdin", "-")
    .addOption(
      new Option("--model <model>", "how deviation costs are shared")
        .choices(BILLING_MODELS)
        .default("ucs-uniform"),
    )
    .addOption(engineOption())
    .option("--statements", "print period statements (energy and money by stage, saving) instead of bills")
    .addOption(indentOption())
    .action(async (file: string, options: { model: BillingModel; statements?: boolean; indent: number }) => {
      const request = parseBillRequest(parseJsonText(await readInputText(file, streams.stdin)));
      if (options.statements !== true) {
        streams.stdout.write(toJson(billPeriod(request, options.model), options.indent));
        return;
      }
      const book = new StatementBook();
      for (const slot of request.slots) book.add(slot, billSlot(slot, options.model));
      streams.stdout.write(
        toJson({ version: 1, model: options.model, statements: book.statements() }, options.indent),
      );
    });

  program
    .command("demo")
    .description(
      "Run one slot of a small community through all three market stages and billing, and explain it.",
    )
    .action(() => {
      streams.stdout.write(runDemo());
    });

  return program;
}

/**
 * Runs the `snippet` CLI for tests: in-process through `main` with captured streams (fast), or as a
 * real process through bin/snippet.js (what a user runs).
 * @module
 */
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { main } from "../../src/cli/main.ts";

export interface CliRun {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs `main(argv)` with `stdinText` as standard input. */
export async function runCli(argv: readonly string[], stdinText = ""): Promise<CliRun> {
  let stdout = "";
  let stderr = "";
  const code = await main(argv, {
    stdin: (async function* () {
      yield stdinText;
    })(),
    stdout: { write: (text: string) => (stdout += text) },
    stderr: { write: (text: string) => (stderr += text) },
  });
  return { code, stdout, stderr };
}

export const SNIPPET_BIN = fileURLToPath(new URL("../../bin/snippet.js", import.meta.url));

/** Runs bin/snippet.js as a child process. */
export function runSnippetProcess(argv: readonly string[], stdinText = ""): CliRun {
  const result = spawnSync(process.execPath, [SNIPPET_BIN, ...argv], { input: stdinText, encoding: "utf8" });
  return { code: result.status ?? -1, stdout: result.stdout, stderr: result.stderr };
}

/** Parses JSON, turning money written as decimal strings into bigint so that `5` and `"5"` compare equal. */
export function parseWithMoney(text: string): unknown {
  return JSON.parse(text, (_key, value) =>
    typeof value === "number" && Number.isInteger(value)
      ? BigInt(value)
      : typeof value === "string" && /^-?\d+$/.test(value)
        ? BigInt(value)
        : value,
  );
}

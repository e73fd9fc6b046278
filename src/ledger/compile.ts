/**
 * Compiles the ledger's Solidity contracts offline with the `solc` npm package (its WASM compiler
 * ships in the package), resolving OpenZeppelin imports from node_modules. About 0.4 s per contract;
 * a process compiles each once.
 * @module
 */
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { join } from "node:path";
import solc from "solc";
import type { Abi, Hex } from "viem";
import { packageRoot } from "../system/package.ts";

/** A compiled contract: its ABI and creation bytecode. */
export interface Artifact {
  readonly abi: Abi;
  readonly bytecode: Hex;
}

const require = createRequire(import.meta.url);
const compiled = new Map<string, Artifact>();

/** Compiles `src/ledger/contracts/<name>.sol` and returns contract `name`. @throws {Error} with solc's errors. */
export function compileContract(name: string): Artifact {
  const cached = compiled.get(name);
  if (cached !== undefined) return cached;
  const file = `${name}.sol`;
  const content = readFileSync(join(packageRoot(), "src", "ledger", "contracts", file), "utf8");
  const input = {
    language: "Solidity",
    sources: { [file]: { content } },
    settings: {
      optimizer: { enabled: true, runs: 200 },
      outputSelection: { "*": { "*": ["abi", "evm.bytecode.object"] } },
    },
  };
  const findImports = (path: string) => {
    try {
      return { contents: readFileSync(require.resolve(path), "utf8") };
    } catch {
      return { error: `cannot find ${path}` };
    }
  };
  const output = JSON.parse(solc.compile(JSON.stringify(input), { import: findImports })) as {
    errors?: { severity: string; formattedMessage: string }[];
    contracts: Record<string, Record<string, { abi: Abi; evm: { bytecode: { object: string } } }>>;
  };
  const errors = (output.errors ?? []).filter((error) => error.severity === "error");
  if (errors.length > 0)
    throw new Error(`${file} does not compile:\n${errors.map((e) => e.formattedMessage).join("\n")}`);
  const contract = output.contracts[file]?.[name];
  if (contract === undefined) throw new Error(`${file} has no contract ${name}`);
  const artifact: Artifact = { abi: contract.abi, bytecode: `0x${contract.evm.bytecode.object}` };
  compiled.set(name, artifact);
  return artifact;
}

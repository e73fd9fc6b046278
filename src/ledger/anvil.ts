/**
 * The embedded EVM: a local anvil node (the `@foundry-rs/anvil` package ships the binary) started and
 * stopped by the program itself, on a free loopback port. Its ten funded development accounts come
 * from the standard test mnemonic; nothing leaves the machine.
 * @module
 */
import { type ChildProcess, spawn } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import type { Hex } from "viem";
import { type HDAccount, mnemonicToAccount } from "viem/accounts";
import { freePorts, stopProcess } from "../system/processes.ts";

/** The standard test mnemonic: anvil funds its first ten accounts. */
const DEV_MNEMONIC = "test test test test test test test test test test test junk";

/** Anvil's funded development account `index` (0–9); account 0 pays for the embedded ledger's transactions. */
export function devAccount(index: number): HDAccount {
  return mnemonicToAccount(DEV_MNEMONIC, { addressIndex: index });
}

/** The private key of development account 0, for clients that take a key. */
export const DEV_ACCOUNT_KEY: Hex = "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80";

/** A running anvil node. */
export interface EmbeddedChain {
  /** Its JSON-RPC endpoint. */
  readonly url: string;
  readonly chainId: number;
  /** Writes the chain (state, blocks and logs) to a file that {@link startAnvil} can resume from. */
  save(path: string): Promise<void>;
  /** Gives an account gas money (10 ETH), as a test chain's faucet does. */
  fund(account: string): Promise<void>;
  /** Moves the chain's clock forward and mines a block at the new time (a test chain's privilege). */
  advanceClock(seconds: number): Promise<void>;
  stop(): Promise<void>;
}

/** How long anvil may take to answer its first request. */
const START_TIMEOUT_MS = 10_000;

/** Starts anvil on a free port and resolves once it answers JSON-RPC; from a saved chain when given one. */
export async function startAnvil(options: { readonly resumeFrom?: string } = {}): Promise<EmbeddedChain> {
  const [port] = await freePorts(1);
  const url = `http://127.0.0.1:${port}`;
  const child = spawn(anvilBinary(), ["--host", "127.0.0.1", "--port", String(port), "--silent"], {
    stdio: ["ignore", "ignore", "pipe"],
  });
  let stderr = "";
  child.stderr?.on("data", (chunk: Buffer) => {
    stderr += chunk.toString("utf8");
  });
  const stop = () => stopProcess(child);
  try {
    const chainId = await firstAnswer(url, child, () => stderr);
    if (options.resumeFrom !== undefined)
      await jsonRpc(url, "anvil_loadState", [readFileSync(options.resumeFrom, "utf8").trim()]);
    return {
      url,
      chainId,
      save: async (path) => writeFileSync(path, String(await jsonRpc(url, "anvil_dumpState", []))),
      fund: async (account) => {
        await jsonRpc(url, "anvil_setBalance", [account, "0x8ac7230489e80000"]);
      },
      advanceClock: async (seconds) => {
        await jsonRpc(url, "evm_increaseTime", [seconds]);
        await jsonRpc(url, "evm_mine", []);
      },
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}

/** The anvil binary of this platform, from its optional npm package. */
function anvilBinary(): string {
  const arch = process.arch === "x64" ? "amd64" : process.arch;
  const platformPackage = `@foundry-rs/anvil-${process.platform}-${arch}`;
  try {
    return join(
      dirname(createRequire(import.meta.url).resolve(`${platformPackage}/package.json`)),
      "bin",
      "anvil",
    );
  } catch {
    throw new Error(
      `no anvil binary for ${process.platform}-${process.arch}: ${platformPackage} is not installed`,
    );
  }
}

/** One JSON-RPC call; an error answer throws. */
export async function jsonRpc(url: string, method: string, params: readonly unknown[]): Promise<unknown> {
  const response = await fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ jsonrpc: "2.0", id: 1, method, params }),
  });
  const answer = (await response.json()) as { result?: unknown; error?: { message: string } };
  if (answer.error !== undefined) throw new Error(`${url} refused ${method}: ${answer.error.message}`);
  return answer.result;
}

/** Polls `eth_chainId` until anvil answers; fails when it exits or takes too long. */
async function firstAnswer(url: string, child: ChildProcess, stderr: () => string): Promise<number> {
  const deadline = performance.now() + START_TIMEOUT_MS;
  while (performance.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`anvil exited (${child.exitCode}): ${stderr().trim()}`);
    try {
      return Number(await jsonRpc(url, "eth_chainId", []));
    } catch {
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }
  throw new Error(`anvil did not answer at ${url} within ${START_TIMEOUT_MS} ms`);
}

/**
 * A throwaway PostgreSQL server for tests: `initdb` into a temporary directory, started on a free port
 * of 127.0.0.1 (as the `postgres` user when run by root, which PostgreSQL refuses to run as), stopped
 * and removed afterwards. Needs the server binaries: on Debian, `apt-get install -y postgresql`.
 * @module
 */
import { execFile, execFileSync } from "node:child_process";
import { chownSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { delimiter, join } from "node:path";
import { promisify } from "node:util";

/** Where Debian's `postgresql-<version>` packages put the server binaries. */
const DEBIAN_VERSIONS_DIR = "/usr/lib/postgresql";
const SERVER_USER = "postgres";

export interface PostgresTestServer {
  /** The URL of a database, `postgres` by default. */
  url(database?: string): string;
  /** Creates an empty database. @returns its URL. */
  createDatabase(name: string): Promise<string>;
  /** Stops the server and removes its directory. */
  stop(): Promise<void>;
}

/**
 * Starts a server of its own in a new temporary directory.
 * @throws when the server binaries are missing (naming the package to install) or it does not start.
 */
export async function startPostgresTestServer(): Promise<PostgresTestServer> {
  const binDir = serverBinDir();
  const asRoot = process.getuid?.() === 0;
  const run = (program: string, args: readonly string[]) => {
    const command = [join(binDir, program), ...args];
    return promisify(execFile)(
      asRoot ? "runuser" : (command[0] as string),
      asRoot ? ["-u", SERVER_USER, "--", ...command] : command.slice(1),
    );
  };
  const dir = mkdtempSync(join(tmpdir(), "snippet-postgres-"));
  const dataDir = join(dir, "data");
  const logFile = join(dir, "server.log");
  try {
    if (asRoot) chownSync(dir, userId("-u"), userId("-g"));
    await run("initdb", [
      "-D",
      dataDir,
      "-U",
      SERVER_USER,
      "-A",
      "trust",
      "-E",
      "UTF8",
      "--no-locale",
      "--no-sync",
    ]);
    const port = await freePort();
    // fsync off: the server lives for one test file, and durability across power loss is not tested.
    const options = `-p ${port} -c listen_addresses=127.0.0.1 -k ${dir} -c fsync=off`;
    await run("pg_ctl", ["-D", dataDir, "-l", logFile, "-o", options, "-w", "-t", "60", "start"]);
    const url = (database = "postgres") => `postgresql://${SERVER_USER}@127.0.0.1:${port}/${database}`;
    return {
      url,
      createDatabase: async (name) => {
        await run("createdb", ["-h", "127.0.0.1", "-p", String(port), "-U", SERVER_USER, name]);
        return url(name);
      },
      stop: async () => {
        try {
          await run("pg_ctl", ["-D", dataDir, "-m", "fast", "-w", "stop"]);
        } finally {
          rmSync(dir, { recursive: true, force: true });
        }
      },
    };
  } catch (error) {
    const log = existsSync(logFile) ? `\n${readFileSync(logFile, "utf8")}` : "";
    rmSync(dir, { recursive: true, force: true });
    throw new Error(`could not start a PostgreSQL test server: ${(error as Error).message}${log}`, {
      cause: error,
    });
  }
}

/** The newest Debian server version's bin directory, else the one of `initdb` on the PATH. */
function serverBinDir(): string {
  const debian = existsSync(DEBIAN_VERSIONS_DIR)
    ? readdirSync(DEBIAN_VERSIONS_DIR)
        .filter((version) => existsSync(join(DEBIAN_VERSIONS_DIR, version, "bin", "initdb")))
        .sort((a, b) => Number(b) - Number(a))
        .map((version) => join(DEBIAN_VERSIONS_DIR, version, "bin"))
    : [];
  const onPath = (process.env.PATH ?? "").split(delimiter).filter((dir) => existsSync(join(dir, "initdb")));
  const [binDir] = [...debian, ...onPath];
  if (binDir === undefined)
    throw new Error(
      `the PostgreSQL server binaries (initdb, pg_ctl) are in neither ${DEBIAN_VERSIONS_DIR}/<version>/bin ` +
        "nor the PATH: install them, on Debian with `apt-get install -y postgresql`",
    );
  return binDir;
}

function userId(flag: "-u" | "-g"): number {
  return Number(execFileSync("id", [flag, SERVER_USER], { encoding: "utf8" }).trim());
}

/** A port free now on 127.0.0.1 (another process could take it before the server does; unlikely). */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      server.close(() =>
        typeof address === "object" && address !== null
          ? resolve(address.port)
          : reject(new Error("no port")),
      );
    });
  });
}

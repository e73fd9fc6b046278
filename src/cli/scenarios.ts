/**
 * Finding a scenario for a command: a file path, or the name of one shipped in scenarios/. Its own
 * module, so that commands which never read a scenario do not load its schema.
 * @module
 */
import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { parseScenario, type Scenario } from "../sim/scenario.ts";
import { packageRoot } from "../system/package.ts";
import { parseJsonText, ValidationError } from "../validation/index.ts";
import { readTextFile } from "./io.ts";

/** A scenario by file path, or by the name of one shipped in scenarios/. */
export function loadScenario(nameOrFile: string): Scenario {
  const shipped = join(packageRoot(), "scenarios", `${nameOrFile}.json`);
  const path = existsSync(nameOrFile) ? nameOrFile : shipped;
  if (!existsSync(path)) {
    throw new ValidationError([
      {
        path: "--scenario",
        message: `"${nameOrFile}" is neither a file nor a scenario in ${dirname(shipped)}`,
      },
    ]);
  }
  return parseScenario(parseJsonText(readTextFile(path)));
}

/**
 * Finding a scenario for a command or a service: a file path, or the name of one shipped in scenarios/. Its own
 * module, so that commands which never read a scenario do not load its schema.
 * @module
 */
import { existsSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { packageRoot } from "../system/package.ts";
import { parseJsonText, ValidationError } from "../validation/index.ts";
import { parseScenario, type Scenario } from "./scenario.ts";

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
  return parseScenario(parseJsonText(readFileSync(path, "utf8")));
}

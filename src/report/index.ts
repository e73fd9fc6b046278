/**
 * The report domain's public surface: the self-contained HTML report of a simulation run.
 * @module
 */
export type { ReportInput } from "./render.ts";
export { renderReport } from "./render.ts";

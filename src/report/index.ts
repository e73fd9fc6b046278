/**
 * The report domain's public surface: the self-contained HTML report of a simulation run, and the
 * table comparing rule-based with strategic agents.
 * @module
 */

export { comparisonMarkdown } from "./comparison.ts";
export type { ReportInput } from "./render.ts";
export { renderReport } from "./render.ts";

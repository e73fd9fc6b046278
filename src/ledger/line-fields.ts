/**
 * The fields of a household's slot line, in the order the openings pack them (the contract reads them
 * by position) and the nodes keep their shares. On their own, without the hashing of lines.ts, so the
 * nodes' billing can name them without loading it.
 * @module
 */

/** `orderWh` is + for a buy, − for a sell; `communityWh` + bought, − sold; money in money units. */
export const LINE_FIELDS = [
  "orderWh",
  "limitPrice",
  "importWh",
  "exportWh",
  "communityWh",
  "boughtWh",
  "soldWh",
  "commitmentMoney",
  "billMoney",
] as const;

export type LineField = (typeof LINE_FIELDS)[number];

/**
 * The programs snippet's nodes run: the engine's own, the market's (the anchor's auction search, a
 * slot's clearing and the close of a slot's orders, billing, metering and its close, the figures,
 * commitments and bills the nodes keep) and the ledger's (lines' openings, signed postings).
 * @module
 */
import { z } from "zod";
import { concat } from "../mpc/arithmetic.ts";
import { ENGINE_PROGRAMS, MAX_PROGRAM_VALUES, type ProgramTable } from "../mpc/programs.ts";
import { integerField } from "../validation/index.ts";
import { periodBillsProgram, periodCloseProgram, slotBillsProgram } from "./billing/kept-programs.ts";
import { billProgram } from "./billing/program.ts";
import { BILL_SLOT_PROGRAM, billSlotProgram } from "./billing/slot.ts";
import { CLEAR_SLOT_PROGRAM, clearSlotProgram } from "./clearing/intents.ts";
import { slotCommitmentsProgram } from "./clearing/kept-programs.ts";
import { searchClearingPrice } from "./clearing/price-search.ts";
import { clearProgram } from "./clearing/program.ts";
import type { JobContext, SnippetProgram } from "./context.ts";
import { LINE_OPENINGS_PROGRAM, lineOpeningsProgram } from "./ledger/openings.ts";
import { SLOT_LINES_PROGRAM, slotLinesProgram } from "./ledger/postings.ts";
import { METER_CLOSE_PROGRAM } from "./metering/intake.ts";
import { meterCloseProgram, meterReadingsProgram, meterTotalsProgram } from "./metering/program.ts";

const countField = integerField(1, MAX_PROGRAM_VALUES, "not a positive count", `above ${MAX_PROGRAM_VALUES}`);

const auctionSearch: SnippetProgram<{ buys: number; sells: number; volumeBits: number }> = {
  description:
    "the search-based double auction of the MP-SPDZ anchor: p* = max{c : D(c) ≥ S(c)} and fills of the " +
    "orders strictly better than p*; inputs: buy volumes, sell volumes, then buy limits and sell limits − 1 " +
    "as XOR-shared bit words",
  params: z.strictObject({
    buys: countField,
    sells: countField,
    volumeBits: integerField(1, 32, "not a volume bit length", "above 32 bits"),
  }),
  inputWords: ({ buys, sells }) => 2 * (buys + sells),
  async run(party, { buys, sells, volumeBits }, inputs) {
    const result = await searchClearingPrice(party, inputs, buys, sells, volumeBits);
    return {
      public: { clearingPrice: result.clearingPrice },
      outputs: concat([result.buyFills, result.sellFills]),
    };
  },
};

/** Every program a snippet node runs, by name. */
export const PROGRAMS: ProgramTable<JobContext> = {
  ...ENGINE_PROGRAMS,
  "auction-search": auctionSearch as SnippetProgram<unknown>,
  clear: clearProgram as SnippetProgram<unknown>,
  [CLEAR_SLOT_PROGRAM]: clearSlotProgram as SnippetProgram<unknown>,
  "slot-commitments": slotCommitmentsProgram as SnippetProgram<unknown>,
  [METER_CLOSE_PROGRAM]: meterCloseProgram as SnippetProgram<unknown>,
  bill: billProgram as SnippetProgram<unknown>,
  [BILL_SLOT_PROGRAM]: billSlotProgram as SnippetProgram<unknown>,
  "meter-totals": meterTotalsProgram as SnippetProgram<unknown>,
  "meter-readings": meterReadingsProgram as SnippetProgram<unknown>,
  "period-close": periodCloseProgram as SnippetProgram<unknown>,
  "period-bills": periodBillsProgram as SnippetProgram<unknown>,
  "slot-bills": slotBillsProgram as SnippetProgram<unknown>,
  [LINE_OPENINGS_PROGRAM]: lineOpeningsProgram as SnippetProgram<unknown>,
  [SLOT_LINES_PROGRAM]: slotLinesProgram as SnippetProgram<unknown>,
};

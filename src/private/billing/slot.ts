/**
 * `bill-slot`: the nodes bill a slot from what they keep — each household's billing columns from the
 * slot's clearing (clearing/columns.ts) and its meter's reading from the metering's close — with the
 * slot's public prices and the kept clearing price, so that no one, the broker included, holds a
 * commitment or a reading in the clear. A missing or refused reading is billed at the household's
 * committed net position (`estimatedReading`), as the metered `bill` does. The nodes keep each
 * household's bill (for `slot-bills`, the period's sums and `period-bills`) and its ledger line
 * (LINE_FIELDS, for `line-openings` and `slot-lines`), and drop the slot's billing columns, which the
 * lines supersede; the operator learns TD, the sharers' count and
 * Σ|d|, and which households were estimated. A slot the nodes never cleared is billed with no
 * commitments — the plain tariff for everyone — and can no longer be cleared.
 *
 * Asked again for a slot it billed, with the same terms, the nodes answer the same figures from what
 * they keep and change nothing: a broker that restarted before it stored the answer gets it.
 * @module
 */
import { z } from "zod";
import { billingPeriodOf, deviationPrice } from "../../billing/index.ts";
import { BILLING_MODELS, type BillingModel } from "../../billing/types.ts";
import { LINE_FIELDS, type LineField } from "../../ledger/line-fields.ts";
import { add, mul, publicShared, type Shared, slice, sub } from "../../mpc/arithmetic.ts";
import { lessThanZero } from "../../mpc/compare.ts";
import type { Party } from "../../mpc/party.ts";
import { oneOfField, priceField, slotTimeField } from "../../validation/index.ts";
import { refuseUnkept, refuseWithoutRegistry } from "../access.ts";
import type { KeptClearing } from "../clearing/kept.ts";
import type { JobContext, SnippetProgram } from "../context.ts";
import type { Registry } from "../registry.ts";
import { gather, rowsAt } from "../shares.ts";
import type { BillingTerms, SlotBilled } from "./kept.ts";
import { BILL_FIELDS, BILL_OUTPUTS, COMMITMENT_COLUMNS, COMMITTED_BILL_COLUMNS } from "./layout.ts";
import { type BillParams, billOnShares, takeMeterReadings } from "./program.ts";

/** The program the operator asks for to bill a slot from what the nodes keep. */
export const BILL_SLOT_PROGRAM = "bill-slot";

/** Bits of a household's committed import less its export: three volumes below 2^32 each, signed. */
const NET_BITS = 36;

const billSlotParamsSchema = z
  .strictObject({
    slot: slotTimeField,
    feedIn: priceField,
    retail: priceField,
    networkFee: priceField,
    model: oneOfField(BILLING_MODELS as unknown as readonly [BillingModel, ...BillingModel[]]),
  })
  .refine((p) => p.feedIn <= p.retail, { error: "feedIn is above retail", path: ["feedIn"] });
type BillSlotParams = z.infer<typeof billSlotParamsSchema>;

const billed = new WeakMap<Registry, readonly string[]>();

/**
 * The households a slot's bills and lines are for: every registered household with a meter, in the
 * registry's order (the order of the slot's ledger leaves).
 */
export function billedHouseholds(registry: Registry): readonly string[] {
  let households = billed.get(registry);
  if (households === undefined) {
    households = [...registry.parties.values()]
      .filter((party) => party.role === "household" && registry.meterOf.has(party.id))
      .map((party) => party.id);
    billed.set(registry, households);
  }
  return households;
}

export const billSlotProgram: SnippetProgram<BillSlotParams> = {
  description:
    `${BILL_SLOT_PROGRAM}: bills a slot from the commitments and readings the nodes keep (UCS), keeping ` +
    "each household's bill and ledger line; published: TD, the sharers and their Σ|d|, the households " +
    "billed at their estimate; operator only, once (a repeat answers the same)",
  params: billSlotParamsSchema,
  inputWords: () => 0,
  refuse(params, context) {
    const problem = refuseWithoutRegistry(context);
    if (problem !== undefined) return problem;
    const { requester, bills, intents, commitments } = context as Required<JobContext>;
    if (requester?.role !== "operator") return "only the operator bills a slot";
    const { slot } = params;
    if (bills.isBilled(slot)) {
      const kept = bills.billedOf(slot);
      return kept === undefined
        ? `slot ${slot} is billed already, and the nodes keep no figures of it to answer again`
        : differentTerms(slot, kept.terms, params);
    }
    const unkept = refuseUnkept(context, slot);
    if (unkept !== undefined) return unkept;
    const period = billingPeriodOf(slot);
    if (bills.isClosed(period)) return `billing period ${period} is closed`;
    if (!intents.isClosed(slot)) return undefined;
    const cleared = commitments.clearingOf(slot);
    if (cleared === undefined) return `the nodes no longer keep the clearing of slot ${slot}`;
    if (cleared.columns === undefined)
      return `slot ${slot} was cleared before the nodes kept its billing columns: bill it with \`bill\``;
    const { feedIn, retail } = cleared.figures.prices;
    return feedIn === params.feedIn && retail === params.retail
      ? undefined
      : `slot ${slot} was cleared with feedIn ${feedIn} and retail ${retail}, not these tariffs`;
  },
  async run(party, params, _inputs, context) {
    const node = context as Required<JobContext>;
    const { slot, model } = params;
    const again = node.bills.billedOf(slot);
    if (again !== undefined) return { public: again.figures };
    const cleared = node.intents.isClosed(slot) ? node.commitments.clearingOf(slot) : undefined;
    if (cleared === undefined) closeUncleared(node, slot);
    const households = billedHouseholds(node.registry);
    const n = households.length;
    const columns = keptColumns(households, cleared);
    const billParams = billingParams(node.registry, households, params, cleared);
    const inputs = billInputs(party, households, columns);
    const readings = takeMeterReadings(billParams, inputs, node);
    const estimated = readings.estimated[0] ?? [];
    await putEstimates(party, inputs, n, households, estimated, columns.rowOf);
    const { public: published, outputs } = await billOnShares(party, billParams, inputs, {
      withPoolShare: true,
      allAggregates: true,
    });
    const aggregates = published.slots[0] as BillSlotAggregates;
    const figures: SlotBilled = {
      slot,
      ...aggregates,
      estimated,
      implausible: readings.implausible[0] ?? [],
    };
    const terms: BillingTerms = {
      feedIn: params.feedIn,
      retail: params.retail,
      networkFee: params.networkFee,
      model,
    };
    node.bills.keep(slot, households, rowsAt(outputs, n, [...households.keys()]), {
      terms,
      figures,
      market: {
        clearingPrice: cleared?.figures.clearingPrice ?? null,
        volumeWh: cleared?.figures.volumeWh ?? 0,
      },
      lines: linesOf(party, n, inputs, outputs, columns),
    });
    node.commitments.dropColumns(slot);
    return { public: figures };
  },
};

type BillSlotAggregates = Pick<SlotBilled, "totalDeviationWh" | "sharers" | "sharedWh">;

/** Why a repeat is refused: it names other terms than the slot was billed with. */
function differentTerms(slot: string, terms: BillingTerms, asked: BillingTerms): string | undefined {
  const fields = ["feedIn", "retail", "networkFee", "model"] as const;
  return fields.every((field) => terms[field] === asked[field])
    ? undefined
    : `slot ${slot} was billed with feedIn ${terms.feedIn}, retail ${terms.retail}, networkFee ` +
        `${terms.networkFee} and ${terms.model}, not these terms`;
}

/**
 * A slot the nodes never cleared: closed now, so that it is never cleared after its bills; the
 * households that still wait on their intents hear why.
 */
function closeUncleared(node: Required<JobContext>, slot: string): void {
  for (const [id, intent] of node.intents.close(slot))
    intent.household?.send({
      type: "error",
      job: slot,
      order: id,
      message: `slot ${slot} was not cleared: it is billed without commitments, at the plain tariff`,
    });
}

/** The kept billing columns of the billed households: a row per counted household, none for the others. */
interface KeptColumns {
  /** Each counted household's row among `rows`, by its position among the billed households. */
  readonly rowOf: ReadonlyMap<number, number>;
  readonly rows: Shared;
}

function keptColumns(households: readonly string[], cleared: KeptClearing | undefined): KeptColumns {
  const rows = cleared?.columns;
  if (cleared === undefined || rows === undefined)
    return { rowOf: new Map(), rows: { own: new BigUint64Array(0), next: new BigUint64Array(0) } };
  const counted = new Map(cleared.counted.map((id, row) => [id, row]));
  const rowOf = new Map<number, number>();
  households.forEach((id, h) => {
    const row = counted.get(id);
    if (row !== undefined) rowOf.set(h, row);
  });
  return { rowOf, rows };
}

/** The `bill` program's parameters for the slot: its prices, DP and each household's community price. */
function billingParams(
  registry: Registry,
  households: readonly string[],
  params: BillSlotParams,
  cleared: KeptClearing | undefined,
): BillParams {
  const figures = cleared?.figures;
  const clearingPrice = figures?.clearingPrice ?? null;
  const prices = { feedIn: params.feedIn, retail: params.retail, networkFee: params.networkFee };
  // A household in a zone split off with its own price trades at that price (as its device reads it).
  const zonePrices: [number, number][] = [];
  households.forEach((id, h) => {
    const zone = registry.meters.get(registry.meterOf.get(id) ?? "")?.zone;
    const z = registry.zones?.findIndex((candidate) => candidate.id === zone) ?? -1;
    const zonePrice = figures?.zones?.[z]?.clearingPrice;
    if (zonePrice !== undefined && zonePrice !== null && zonePrice !== clearingPrice)
      zonePrices.push([h, zonePrice]);
  });
  return {
    model: params.model,
    slots: [
      {
        households: households.length,
        ...prices,
        deviationPrice: deviationPrice({ prices, clearingPrice }),
        communityPrice: clearingPrice ?? 0,
        zonePrices,
      },
    ],
    metered: [{ slot: params.slot, households: [...households] }],
  };
}

/** BILL_FIELDS column-major over the households: their kept columns, readings 0 until taken. */
function billInputs(party: Party, households: readonly string[], columns: KeptColumns): Shared {
  const n = households.length;
  const inputs = publicShared(party.id, new BigUint64Array(BILL_FIELDS.length * n));
  const width = COMMITMENT_COLUMNS.length;
  for (const [h, row] of columns.rowOf)
    for (let k = 0; k < COMMITTED_BILL_COLUMNS; k++)
      for (const part of ["own", "next"] as const)
        inputs[part][k * n + h] = columns.rows[part][row * width + k] as bigint;
  return inputs;
}

/** A BILL_FIELDS column of the inputs. */
function field(inputs: Shared, n: number, name: (typeof BILL_FIELDS)[number]): Shared {
  const k = BILL_FIELDS.indexOf(name);
  return slice(inputs, k * n, (k + 1) * n);
}

/** Committed import b and export s of every household: sums of its columns. */
function committedTotals(inputs: Shared, n: number): { boughtWh: Shared; soldWh: Shared } {
  const at = (name: (typeof BILL_FIELDS)[number]) => field(inputs, n, name);
  return {
    boughtWh: add(add(at("communityBuyWh"), at("supplierBuyWh")), at("bilateralBuyWh")),
    soldWh: add(add(at("communitySellWh"), at("supplierSellWh")), at("bilateralSellWh")),
  };
}

/**
 * The estimate of every estimated household that has commitments, into the reading columns: its
 * committed net position, import max(b − s, 0) and export max(s − b, 0) (`estimatedReading`), from a
 * comparison on shares. A household without kept columns committed nothing: its estimate is 0, 0.
 */
async function putEstimates(
  party: Party,
  inputs: Shared,
  n: number,
  households: readonly string[],
  estimated: readonly string[],
  counted: ReadonlyMap<number, number>,
): Promise<void> {
  const index = new Map(households.map((id, h) => [id, h]));
  const positions = estimated.map((id) => index.get(id) as number).filter((h) => counted.has(h));
  if (positions.length === 0) return;
  const { boughtWh, soldWh } = committedTotals(inputs, n);
  const net = sub(gather(boughtWh, positions), gather(soldWh, positions));
  const exporting = await lessThanZero(party, net, NET_BITS);
  // t = [b < s]·(b − s): import (b − s) − t, export −t.
  const t = await mul(party, exporting, net);
  const importWh = sub(net, t);
  const exportWh = sub(publicShared(party.id, new BigUint64Array(positions.length)), t);
  const importAt = BILL_FIELDS.indexOf("importWh") * n;
  const exportAt = BILL_FIELDS.indexOf("exportWh") * n;
  positions.forEach((h, k) => {
    for (const part of ["own", "next"] as const) {
      inputs[part][importAt + h] = importWh[part][k] as bigint;
      inputs[part][exportAt + h] = exportWh[part][k] as bigint;
    }
  });
}

/**
 * Every household's line, LINE_FIELDS words per household: sums of its columns, the reading it was
 * billed at and its bill, all local. What its commitments cost is the bill less its deviation part
 * and, without commitments, less the plain tariff (which is then the whole bill).
 */
function linesOf(party: Party, n: number, inputs: Shared, outputs: Shared, columns: KeptColumns): Shared {
  const at = (name: (typeof BILL_FIELDS)[number]) => field(inputs, n, name);
  const out = (name: (typeof BILL_OUTPUTS)[number]) => {
    const k = BILL_OUTPUTS.indexOf(name);
    return slice(outputs, k * n, (k + 1) * n);
  };
  const { boughtWh, soldWh } = committedTotals(inputs, n);
  const kept = (name: "orderWh" | "limitPrice"): Shared => {
    const column = publicShared(party.id, new BigUint64Array(n));
    const k = COMMITMENT_COLUMNS.indexOf(name);
    for (const [h, row] of columns.rowOf)
      for (const part of ["own", "next"] as const)
        column[part][h] = columns.rows[part][row * COMMITMENT_COLUMNS.length + k] as bigint;
    return column;
  };
  const money = out("money");
  const line: Record<LineField, Shared> = {
    orderWh: kept("orderWh"),
    limitPrice: kept("limitPrice"),
    importWh: at("importWh"),
    exportWh: at("exportWh"),
    communityWh: sub(at("communityBuyWh"), at("communitySellWh")),
    boughtWh,
    soldWh,
    commitmentMoney: sub(sub(money, out("deviationMoney")), out("plainTariffMoney")),
    billMoney: money,
  };
  const rows = {
    own: new BigUint64Array(n * LINE_FIELDS.length),
    next: new BigUint64Array(n * LINE_FIELDS.length),
  };
  LINE_FIELDS.forEach((name, k) => {
    const column = line[name];
    for (let h = 0; h < n; h++)
      for (const part of ["own", "next"] as const)
        rows[part][h * LINE_FIELDS.length + k] = column[part][h] as bigint;
  });
  return rows;
}

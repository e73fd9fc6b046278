/**
 * `snippet demo` (and `npm start`): one slot of a small community through the three market stages,
 * metering and UCS billing, explained in plain text.
 * @module
 */
import { type BillingSlot, billSlot, plainTariffMoney } from "../billing/index.ts";
import { clearSlot, type SlotRequest } from "../market/index.ts";
import { moneyToEurString, priceFromEurPerKwh, priceToEurPerKwh, whToKwh } from "../units/index.ts";

const DEMO_SLOT: SlotRequest = {
  slot: "2026-06-01T12:00:00Z",
  prices: { feedIn: priceFromEurPerKwh(0.05), retail: priceFromEurPerKwh(0.2) },
  households: [
    {
      id: "alice",
      side: "sell",
      volumeWh: 3000,
      limitPrice: priceFromEurPerKwh(0.06),
      offers: [
        { partner: "bob", price: priceFromEurPerKwh(0.12), capWh: 1000 },
        { partner: "hospital", price: 0, capWh: 500 },
      ],
    },
    {
      id: "bob",
      side: "buy",
      volumeWh: 1800,
      limitPrice: priceFromEurPerKwh(0.15),
      accepts: [{ partner: "alice", capWh: 1000, maxPrice: priceFromEurPerKwh(0.13) }],
    },
    { id: "carol", side: "sell", volumeWh: 1200, limitPrice: priceFromEurPerKwh(0.08) },
    { id: "dave", side: "buy", volumeWh: 900, limitPrice: priceFromEurPerKwh(0.11) },
    { id: "erin", side: "buy", volumeWh: 1500, limitPrice: priceFromEurPerKwh(0.07) },
    {
      id: "hospital",
      side: "buy",
      volumeWh: 4000,
      limitPrice: priceFromEurPerKwh(0.17),
      accepts: [{ partner: "alice", capWh: 1000 }],
    },
  ],
};
const NETWORK_FEE = priceFromEurPerKwh(0.03);
/** Metered energy differs from the plan for two households: a cloud over alice, a kettle at dave's. */
const METER_SURPRISES_WH: Readonly<Record<string, number>> = { alice: -200, dave: 100 };

/** Runs the demo slot and returns its explanation. */
export function runDemo(): string {
  const outcome = clearSlot(DEMO_SLOT);
  const lines: string[] = [];
  const kwh = (energyWh: number): string => `${whToKwh(energyWh).toFixed(3)} kWh`;
  const eurPerKwh = (price: number): string => `${priceToEurPerKwh(price).toFixed(4)} EUR/kWh`;
  const { feedIn, retail } = DEMO_SLOT.prices;

  lines.push(
    `snippet demo: one 15-minute slot (${DEMO_SLOT.slot}) of a ${DEMO_SLOT.households.length}-household community`,
  );
  lines.push(
    `tariffs: feed-in ${eurPerKwh(feedIn)}, retail ${eurPerKwh(retail)}, network fee ${eurPerKwh(NETWORK_FEE)}`,
  );
  lines.push("", "stage 1, bilateral (seen only by the two partners):");
  for (const trade of outcome.bilateral) {
    const terms = trade.price === 0 ? "donated" : `at ${eurPerKwh(trade.price)}`;
    lines.push(`  ${trade.seller} -> ${trade.buyer}: ${kwh(trade.volumeWh)} ${terms}`);
  }
  const community = outcome.community;
  const price = community.clearingPrice === null ? "no trade" : eurPerKwh(community.clearingPrice);
  lines.push(
    "",
    `stage 2, community auction (inside MPC in production): ${price}, ${kwh(community.volumeWh)} traded`,
  );
  for (const fill of community.fills) {
    const household = DEMO_SLOT.households.find((h) => h.id === fill.id);
    if (household === undefined) continue;
    lines.push(
      `  ${fill.id.padEnd(9)} ${household.side.padEnd(4)} limit ${eurPerKwh(household.limitPrice)}  filled ${kwh(fill.filledWh)}`,
    );
  }
  lines.push("", "stage 3, supplier (the rest at retail or feed-in):");
  for (const { id, committed } of outcome.commitments) {
    if (committed.supplierBuyWh > 0)
      lines.push(`  ${id.padEnd(9)} buys  ${kwh(committed.supplierBuyWh)} at retail`);
    if (committed.supplierSellWh > 0)
      lines.push(`  ${id.padEnd(9)} sells ${kwh(committed.supplierSellWh)} at feed-in`);
  }

  const billingSlot: BillingSlot = {
    slot: DEMO_SLOT.slot,
    prices: { feedIn, retail, networkFee: NETWORK_FEE },
    clearingPrice: community.clearingPrice,
    households: outcome.commitments.map(({ id, cappedWh }, index) => {
      const side = DEMO_SLOT.households[index]?.side;
      const meteredWh = cappedWh + (METER_SURPRISES_WH[id] ?? 0);
      return {
        id,
        committed: (outcome.commitments[index] as (typeof outcome.commitments)[number]).committed,
        metered:
          side === "sell" ? { importWh: 0, exportWh: meteredWh } : { importWh: meteredWh, exportWh: 0 },
      };
    }),
  };
  const billing = billSlot(billingSlot, "ucs-uniform");
  lines.push("", "metering and billing (ucs-uniform; positive: owed, negative: paid to the household):");
  billing.bills.forEach((bill, index) => {
    const household = billingSlot.households[index] as (typeof billingSlot.households)[number];
    const plain = plainTariffMoney(household.metered, billingSlot.prices);
    lines.push(
      `  ${bill.id.padEnd(9)} deviation ${String(bill.deviationWh).padStart(5)} Wh  bill ${moneyToEurString(bill.money).padStart(11)} EUR` +
        `  plain tariff ${moneyToEurString(plain).padStart(11)} EUR  saving ${moneyToEurString(plain - bill.money).padStart(10)} EUR`,
    );
  });
  lines.push(
    `  supplier receives ${moneyToEurString(billing.supplierDeviationMoney)} EUR for covering the net deviation of ${billing.totalDeviationWh} Wh`,
  );
  return `${lines.join("\n")}\n`;
}

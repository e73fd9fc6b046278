/**
 * Mapping between the run records and the rows of the schema (schema.ts): slot records to and from a
 * row per slot, statements to and from a row per household and period. Values are checked on the way
 * in, so that a bad record fails with its run, slot, household and field named, before any write.
 * @module
 */
import type { Statement, StatementEnergy, StatementMoney } from "../billing/index.ts";
import type { HouseholdSlotRecord, SlotRecord } from "../billing/record.ts";
import type { BilateralCommitment, BilateralTrade, Commitments, Side, ZoneOutcome } from "../market/index.ts";
import type { Money } from "../units/index.ts";
import type { SqlParam, SqlRow } from "./driver.ts";
import { IntegerPacker, unpackIntegers } from "./packing.ts";

const INT4_MIN = -(2 ** 31);
const INT4_MAX = 2 ** 31 - 1;

const SIDE_CODES: { readonly [side in Side]: number } = { buy: 0, sell: 1 };
const SIDES: readonly Side[] = ["buy", "sell"];
/** Shared by the households without bilateral trades (most of them), frozen since records are read-only. */
const NO_COMMITMENTS: readonly BilateralCommitment[] = Object.freeze([]);

/** Shared by all slots, reset by each: {@link slotRow} is synchronous, so no two slots use it at once. */
const packer = new IntegerPacker();

/**
 * The JSON of the trade lists, as tuples: objects repeat their keys on every trade, which made the
 * JSON a third of a slot's bytes and its compression attempt a quarter of an append's time.
 */
type BilateralTradeEntry = [seller: string, buyer: string, volumeWh: number, price: number];
type HouseholdBilateralEntry = [
  position: number,
  partner: string,
  side: Side,
  volumeWh: number,
  price: number,
];

/** A household column of snippet.slots: where its value is in a record, and whether it may be null. */
interface HouseholdField {
  readonly column: string;
  readonly nullable: boolean;
  readonly get: (household: HouseholdSlotRecord) => number | null;
}

const HOUSEHOLD_FIELDS = [
  { column: "order_side", nullable: true, get: (h) => (h.order === null ? null : SIDE_CODES[h.order.side]) },
  { column: "order_volume_wh", nullable: true, get: (h) => (h.order === null ? null : h.order.volumeWh) },
  { column: "order_limit_price", nullable: true, get: (h) => (h.order === null ? null : h.order.limitPrice) },
  { column: "community_buy_wh", nullable: false, get: (h) => h.committed.communityBuyWh },
  { column: "community_sell_wh", nullable: false, get: (h) => h.committed.communitySellWh },
  { column: "community_price", nullable: true, get: (h) => h.committed.communityPrice ?? null },
  { column: "supplier_buy_wh", nullable: false, get: (h) => h.committed.supplierBuyWh },
  { column: "supplier_sell_wh", nullable: false, get: (h) => h.committed.supplierSellWh },
  { column: "import_wh", nullable: false, get: (h) => h.metered.importWh },
  { column: "export_wh", nullable: false, get: (h) => h.metered.exportWh },
  { column: "deviation_wh", nullable: false, get: (h) => h.bill.deviationWh },
  { column: "money", nullable: false, get: (h) => h.bill.money },
  { column: "community_money", nullable: false, get: (h) => h.bill.communityMoney },
  { column: "bilateral_money", nullable: false, get: (h) => h.bill.bilateralMoney },
  { column: "supplier_money", nullable: false, get: (h) => h.bill.supplierMoney },
  { column: "network_fee_money", nullable: false, get: (h) => h.bill.networkFeeMoney },
  { column: "deviation_money", nullable: false, get: (h) => h.bill.deviationMoney },
  { column: "plain_tariff_money", nullable: false, get: (h) => h.bill.plainTariffMoney },
] as const satisfies readonly HouseholdField[];

type HouseholdColumn = (typeof HOUSEHOLD_FIELDS)[number]["column"];

/** The columns of snippet.slots in the order of {@link slotRow}. */
export const SLOT_COLUMNS: readonly string[] = [
  "run_id",
  "slot_index",
  "slot",
  "feed_in_price",
  "retail_price",
  "network_fee_price",
  "clearing_price",
  "community_volume_wh",
  "bilateral_trades",
  "zones",
  "household_bilateral",
  ...HOUSEHOLD_FIELDS.map((field) => field.column),
];

/** What {@link readSlotRecord} needs selected: every column but the run, `int8` as text (driver.ts). */
export const SLOT_SELECT_LIST: string = SLOT_COLUMNS.slice(1)
  .map((column) => (column === "community_volume_wh" ? `${column}::text AS ${column}` : column))
  .join(", ");

/**
 * The parameters of one row of snippet.slots, in {@link SLOT_COLUMNS} order.
 * @throws RangeError naming the run, slot, household and field of the first value that does not fit.
 */
export function slotRow(runId: string, householdIds: readonly string[], record: SlotRecord): SqlParam[] {
  const where = `run ${runId} slot ${record.index}`;
  if (record.households.length !== householdIds.length)
    throw new RangeError(
      `${where}: ${record.households.length} households, but the run has ${householdIds.length}`,
    );
  const householdBilateral: HouseholdBilateralEntry[] = [];
  record.households.forEach((household, position) => {
    const id = householdIds[position];
    if (household.id !== id || household.bill.id !== id)
      throw new RangeError(
        `${where}: household ${position} is ${JSON.stringify(household.id)} with the bill of ` +
          `${JSON.stringify(household.bill.id)}, but the run has ${JSON.stringify(id)} there`,
      );
    for (const { partner, side, volumeWh, price } of household.committed.bilateral)
      householdBilateral.push([
        position,
        partner,
        side,
        safeInteger(volumeWh, `${where}: bilateral volume of ${id}`),
        safeInteger(price, `${where}: bilateral price of ${id}`),
      ]);
  });
  packer.reset();
  for (const field of HOUSEHOLD_FIELDS) {
    for (const household of record.households) {
      const value: unknown = field.get(household);
      if (!(value === null && field.nullable) && !Number.isSafeInteger(value))
        throw new RangeError(`${where}: ${field.column} of ${household.id} is ${value}, not a safe integer`);
      packer.push(value as number | null);
    }
    packer.endColumn();
  }
  const packed = packer.takeColumns();
  return [
    runId,
    int4(record.index, `${where}: index`),
    record.slot,
    int4(record.prices.feedIn, `${where}: feed-in price`),
    int4(record.prices.retail, `${where}: retail price`),
    int4(record.prices.networkFee, `${where}: network fee`),
    record.clearingPrice === null ? null : int4(record.clearingPrice, `${where}: clearing price`),
    safeInteger(record.communityVolumeWh, `${where}: community volume`),
    JSON.stringify(
      record.bilateral.map(
        ({ seller, buyer, volumeWh, price }): BilateralTradeEntry => [
          seller,
          buyer,
          safeInteger(volumeWh, `${where}: bilateral volume from ${seller} to ${buyer}`),
          safeInteger(price, `${where}: bilateral price from ${seller} to ${buyer}`),
        ],
      ),
    ),
    record.zones === undefined ? null : JSON.stringify(record.zones),
    JSON.stringify(householdBilateral),
    ...packed,
  ];
}

/** The slot record of a row selected with {@link SLOT_SELECT_LIST}. */
export function readSlotRecord(runId: string, row: SqlRow, householdIds: readonly string[]): SlotRecord {
  const where = `run ${runId} slot ${row.slot_index}`;
  const count = householdIds.length;
  const unpacked = <T>(name: HouseholdColumn, unpack: (bytes: Uint8Array) => T): T => {
    try {
      const bytes = row[name];
      if (!(bytes instanceof Uint8Array)) throw new TypeError(`${typeof bytes}, not bytes`);
      return unpack(bytes);
    } catch (error) {
      throw new RangeError(`${where}: ${name}: ${(error as Error).message}`, { cause: error });
    }
  };
  const column = (name: HouseholdColumn) => unpacked(name, (bytes) => unpackIntegers(bytes, count));
  const numbers = (name: HouseholdColumn) => unpacked(name, (bytes) => unpackIntegers(bytes, count, false));
  // Columns in locals, not in an object by name: a year reads them 35 million times each.
  const orderSide = column("order_side");
  const orderVolumeWh = column("order_volume_wh");
  const orderLimitPrice = column("order_limit_price");
  const communityBuyWh = numbers("community_buy_wh");
  const communitySellWh = numbers("community_sell_wh");
  const communityPrice = column("community_price");
  const supplierBuyWh = numbers("supplier_buy_wh");
  const supplierSellWh = numbers("supplier_sell_wh");
  const importWh = numbers("import_wh");
  const exportWh = numbers("export_wh");
  const deviationWh = numbers("deviation_wh");
  const money = numbers("money");
  const communityMoney = numbers("community_money");
  const bilateralMoney = numbers("bilateral_money");
  const supplierMoney = numbers("supplier_money");
  const networkFeeMoney = numbers("network_fee_money");
  const deviationMoney = numbers("deviation_money");
  const plainTariffMoney = numbers("plain_tariff_money");
  const bilateral = new Map<number, BilateralCommitment[]>();
  for (const [
    position,
    partner,
    side,
    volumeWh,
    price,
  ] of row.household_bilateral as HouseholdBilateralEntry[]) {
    const commitment = { partner, side, volumeWh, price };
    const commitments = bilateral.get(position);
    if (commitments === undefined) bilateral.set(position, [commitment]);
    else commitments.push(commitment);
  }
  // Every index below is within the `count` values unpacked, hence the `as number`.
  const households = householdIds.map((id, k): HouseholdSlotRecord => {
    const sideCode = orderSide[k] ?? null;
    const side = sideCode === null ? null : SIDES[sideCode];
    if (side === undefined)
      throw new RangeError(`${where}: order_side of ${id} is the unknown code ${sideCode}`);
    return {
      id,
      order:
        side === null
          ? null
          : { side, volumeWh: orderVolumeWh[k] as number, limitPrice: orderLimitPrice[k] as number },
      committed: commitments(
        communityBuyWh[k] as number,
        communitySellWh[k] as number,
        communityPrice[k] ?? null,
        bilateral.get(k) ?? NO_COMMITMENTS,
        supplierBuyWh[k] as number,
        supplierSellWh[k] as number,
      ),
      metered: { importWh: importWh[k] as number, exportWh: exportWh[k] as number },
      bill: {
        id,
        deviationWh: deviationWh[k] as number,
        money: money[k] as number,
        communityMoney: communityMoney[k] as number,
        bilateralMoney: bilateralMoney[k] as number,
        supplierMoney: supplierMoney[k] as number,
        networkFeeMoney: networkFeeMoney[k] as number,
        deviationMoney: deviationMoney[k] as number,
        plainTariffMoney: plainTariffMoney[k] as number,
      },
    };
  });
  return {
    index: row.slot_index as number,
    slot: row.slot as string,
    prices: {
      feedIn: row.feed_in_price as number,
      retail: row.retail_price as number,
      networkFee: row.network_fee_price as number,
    },
    clearingPrice: row.clearing_price as number | null,
    communityVolumeWh: Number(row.community_volume_wh),
    bilateral: (row.bilateral_trades as BilateralTradeEntry[]).map(
      ([seller, buyer, volumeWh, price]): BilateralTrade => ({ seller, buyer, volumeWh, price }),
    ),
    ...(row.zones === null ? {} : { zones: row.zones as ZoneOutcome[] }),
    households,
  };
}

/**
 * Commitments with `communityPrice` only when there is one, in the order of the type. Two literals
 * rather than a conditional spread, which V8 builds ten times slower, and a year holds 35 million.
 */
function commitments(
  communityBuyWh: number,
  communitySellWh: number,
  communityPrice: number | null,
  bilateral: readonly BilateralCommitment[],
  supplierBuyWh: number,
  supplierSellWh: number,
): Commitments {
  return communityPrice === null
    ? { communityBuyWh, communitySellWh, bilateral, supplierBuyWh, supplierSellWh }
    : { communityBuyWh, communitySellWh, communityPrice, bilateral, supplierBuyWh, supplierSellWh };
}

const ENERGY_COLUMNS = {
  communityBoughtWh: "community_bought_wh",
  communitySoldWh: "community_sold_wh",
  bilateralBoughtWh: "bilateral_bought_wh",
  bilateralSoldWh: "bilateral_sold_wh",
  donatedWh: "donated_wh",
  donationsReceivedWh: "donations_received_wh",
  supplierBoughtWh: "supplier_bought_wh",
  supplierSoldWh: "supplier_sold_wh",
  importedWh: "imported_wh",
  exportedWh: "exported_wh",
  deviationWh: "deviation_wh",
} as const satisfies { readonly [key in keyof StatementEnergy]: string };

const MONEY_COLUMNS = {
  community: "community_money",
  bilateral: "bilateral_money",
  supplier: "supplier_money",
  networkFees: "network_fees_money",
  deviationCharges: "deviation_charges_money",
  plainTariff: "plain_tariff_money",
  total: "total_money",
} as const satisfies { readonly [key in keyof StatementMoney]: string };

const ENERGY_ENTRIES = Object.entries(ENERGY_COLUMNS) as [keyof StatementEnergy, string][];
const MONEY_ENTRIES = Object.entries(MONEY_COLUMNS) as [keyof StatementMoney, string][];

/** The columns of snippet.statements in the order of {@link statementRow}. */
export const STATEMENT_COLUMNS: readonly string[] = [
  "run_id",
  "period",
  "position",
  "household_id",
  "slots",
  ...Object.values(ENERGY_COLUMNS),
  ...Object.values(MONEY_COLUMNS),
  "plain_tariff_baseline_money",
  "saving_money",
];

/** What {@link readStatement} needs selected: `int8` and `numeric` as text (driver.ts). */
export const STATEMENT_SELECT_LIST: string = STATEMENT_COLUMNS.slice(3)
  .map((column) =>
    column === "household_id" || column === "slots" ? column : `${column}::text AS ${column}`,
  )
  .join(", ");

/**
 * The parameters of one row of snippet.statements, in {@link STATEMENT_COLUMNS} order.
 * @throws RangeError naming the run, period, household and field of a value that does not fit.
 */
export function statementRow(
  runId: string,
  period: string,
  position: number,
  statement: Statement,
): SqlParam[] {
  const where = `run ${runId} period ${period}: statement of ${statement.id}`;
  return [
    runId,
    period,
    position,
    statement.id,
    int4(statement.slots, `${where}: slots`),
    ...ENERGY_ENTRIES.map(([key]) => safeInteger(statement.energy[key], `${where}: ${key}`)),
    ...MONEY_ENTRIES.map(([key]) => moneyText(statement.money[key], `${where}: money.${key}`)),
    moneyText(statement.plainTariffBaseline, `${where}: plainTariffBaseline`),
    moneyText(statement.savingMoney, `${where}: savingMoney`),
  ];
}

/** The statement of a row selected with {@link STATEMENT_SELECT_LIST}. */
export function readStatement(row: SqlRow): Statement {
  return {
    id: row.household_id as string,
    slots: row.slots as number,
    energy: Object.fromEntries(
      ENERGY_ENTRIES.map(([key, column]) => [key, Number(row[column])]),
    ) as unknown as StatementEnergy,
    money: Object.fromEntries(
      MONEY_ENTRIES.map(([key, column]) => [key, BigInt(row[column] as string)]),
    ) as unknown as StatementMoney,
    plainTariffBaseline: BigInt(row.plain_tariff_baseline_money as string) as Money,
    savingMoney: BigInt(row.saving_money as string) as Money,
  };
}

function int4(value: number, what: string): number {
  if (!Number.isInteger(value) || value < INT4_MIN || value > INT4_MAX)
    throw new RangeError(`${what} is ${value}, not an integer in ${INT4_MIN}..${INT4_MAX}`);
  return value;
}

function safeInteger(value: number, what: string): number {
  if (!Number.isSafeInteger(value)) throw new RangeError(`${what} is ${value}, not a safe integer`);
  return value;
}

function moneyText(value: Money, what: string): string {
  if (typeof value !== "bigint") throw new RangeError(`${what} is ${String(value)}, not a bigint`);
  return value.toString();
}

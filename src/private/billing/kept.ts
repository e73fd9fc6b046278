/**
 * The bills a node keeps after billing slots from its meters' readings, as shares: each household's
 * slot bills for a while (it fetches them with `slot-bills`), and its running sums per billing period
 * (adding shares is local). The operator closes a period once its last slot is billed; only then may
 * the household and its supplier ask for the period's bills (`period-bills`), so no one learns a
 * slot's bill by asking twice. A slot billed from what the nodes keep (`bill-slot`) also keeps, as
 * long as its bills, each household's ledger line (LINE_FIELDS) and what the operator learned.
 * @module
 */
import { billingPeriodOf, type ImplausibleReading } from "../../billing/index.ts";
import type { BillingModel } from "../../billing/types.ts";
import { LINE_FIELDS } from "../../ledger/line-fields.ts";
import type { Shared } from "../../mpc/arithmetic.ts";
import { type ChangeRecorder, type StateChange, sharesFromText, sharesToText } from "../changes.ts";
import { BILL_OUTPUTS } from "./layout.ts";

/** Words of a household's line. */
const LINE_WORDS = LINE_FIELDS.length;

/** What `bill-slot` publishes of a slot: the operator's (the broker's) figures. */
export interface SlotBilled {
  readonly slot: string;
  /** TD, the households on the side that caused it and their Σ|d|. */
  readonly totalDeviationWh: number;
  readonly sharers: number;
  readonly sharedWh: number;
  /** Households billed at their estimate (no reading kept), and of them those whose reading was refused. */
  readonly estimated: readonly string[];
  readonly implausible: readonly ImplausibleReading[];
}

/** The public terms a slot was billed with; a repeat must name the same. */
export interface BillingTerms {
  readonly feedIn: number;
  readonly retail: number;
  readonly networkFee: number;
  readonly model: BillingModel;
}

/** What a node keeps of a slot billed by `bill-slot` besides its bills. */
export interface BilledSlot {
  readonly terms: BillingTerms;
  readonly figures: SlotBilled;
  /** The slot's community clearing price (null without trade, or when it was never cleared) and volume. */
  readonly market: { readonly clearingPrice: number | null; readonly volumeWh: number };
  /** Each household's line, LINE_WORDS words per household in the order of the bills. */
  readonly lines: Shared;
}

/** The journal's record of a slot's bills kept. */
interface BillsChange {
  slot: string;
  households: string[];
  shares: string;
  /** With `bill-slot` only: its terms, its figures and the lines. */
  billed?: Omit<BilledSlot, "lines"> & { lines: string };
}

/** A snapshot's record of a period's sums: one row of BILL_OUTPUTS words per household. */
interface PeriodSumsChange {
  period: string;
  households: string[];
  shares: string;
}

/** A slot's bills on this node: each household's row of BILL_OUTPUTS words. */
interface SlotBills {
  readonly rowOf: ReadonlyMap<string, number>;
  readonly words: Shared;
  readonly billed?: BilledSlot;
}

function slotBillsOf(households: readonly string[], words: Shared, billed?: BilledSlot): SlotBills {
  return {
    rowOf: new Map(households.map((household, row) => [household, row])),
    words,
    ...(billed === undefined ? {} : { billed }),
  };
}

/** Stored rows of BILL_OUTPUTS words, one per household. */
function rowsFromText(text: string, households: number, what: string): Shared {
  return sharesFromText(text, households * BILL_OUTPUTS.length, `the stored bills of ${what}`);
}

/** Row `row` of rows `width` words wide, without copying. */
function rowWords(rows: Shared, row: number, width: number): Shared {
  return {
    own: rows.own.subarray(row * width, (row + 1) * width),
    next: rows.next.subarray(row * width, (row + 1) * width),
  };
}

/** A slot's bills (and what `bill-slot` kept with them) from the journal's record. */
function slotBillsFrom(change: BillsChange): SlotBills {
  const { slot, households, shares, billed } = change;
  return slotBillsOf(
    households,
    rowsFromText(shares, households.length, slot),
    billed === undefined
      ? undefined
      : {
          ...billed,
          lines: sharesFromText(billed.lines, households.length * LINE_WORDS, `the stored lines of ${slot}`),
        },
  );
}

/** The journal's record of a slot's bills. */
function billsChange(slot: string, kept: SlotBills): BillsChange {
  const { billed } = kept;
  return {
    slot,
    households: [...kept.rowOf.keys()],
    shares: sharesToText(kept.words),
    ...(billed === undefined ? {} : { billed: { ...billed, lines: sharesToText(billed.lines) } }),
  };
}

export class KeptBills {
  private readonly slots = new Map<string, SlotBills>();
  private readonly billed = new Set<string>();
  private readonly periods = new Map<string, PeriodSums>();
  private readonly closed = new Set<string>();

  /**
   * @param recorder told of every change, to make it durable
   * @param keepSlots slots whose bills stay for their households to fetch (oldest dropped first): two days of 15-minute slots by default.
   */
  constructor(
    private readonly recorder?: ChangeRecorder,
    private readonly keepSlots = 2 * 96,
  ) {}

  /** Replays a change from the store; @returns false for a change of another part of the state. */
  restore(change: StateChange): boolean {
    if (change.kind === "period-closed") {
      this.closed.add((change.data as { period: string }).period);
      return true;
    }
    if (change.kind === "billed-slots") {
      for (const slot of (change.data as { slots: string[] }).slots) this.billed.add(slot);
      return true;
    }
    if (change.kind === "bills-kept") {
      const data = change.data as BillsChange;
      this.slots.set(data.slot, slotBillsFrom(data));
      return true;
    }
    if (change.kind === "period-sums") {
      const { period, households, shares } = change.data as PeriodSumsChange;
      const sums = new PeriodSums();
      sums.add(households, rowsFromText(shares, households.length, `period ${period}`));
      this.periods.set(period, sums);
      return true;
    }
    if (change.kind !== "bills") return false;
    const data = change.data as BillsChange;
    this.keepBills(data.slot, slotBillsFrom(data));
    return true;
  }

  /**
   * Changes that, restored in order, give what it keeps now: the slots billed, the slot bills still
   * kept, each period's sums (which hold the slots no longer kept too) and the periods closed.
   */
  snapshot(): StateChange[] {
    return [
      { kind: "billed-slots", data: { slots: [...this.billed] } },
      ...[...this.slots].map(([slot, kept]) => ({ kind: "bills-kept", data: billsChange(slot, kept) })),
      ...[...this.periods].map(([period, sums]) => {
        const { households, words } = sums.rows();
        const change: PeriodSumsChange = { period, households, shares: sharesToText(words) };
        return { kind: "period-sums", data: change };
      }),
      ...[...this.closed].map((period) => ({ kind: "period-closed", data: { period } })),
    ];
  }

  /** Whether a slot is billed already: a slot is billed once. */
  isBilled(slot: string): boolean {
    return this.billed.has(slot);
  }

  /**
   * Keeps a slot's bills, one row of BILL_OUTPUTS words per household, and adds them to the period's
   * sums; `billed`: what `bill-slot` keeps with them.
   */
  keep(slot: string, households: readonly string[], words: Shared, billed?: BilledSlot): void {
    const kept = slotBillsOf(households, words, billed);
    this.recorder?.job({ kind: "bills", data: billsChange(slot, kept) });
    this.keepBills(slot, kept);
  }

  private keepBills(slot: string, kept: SlotBills): void {
    const households = [...kept.rowOf.keys()];
    const { words } = kept;
    this.billed.add(slot);
    this.slots.set(slot, kept);
    for (const old of this.slots.keys()) {
      if (this.slots.size <= this.keepSlots) break;
      this.slots.delete(old);
    }
    const period = billingPeriodOf(slot);
    let sums = this.periods.get(period);
    if (sums === undefined) {
      sums = new PeriodSums();
      this.periods.set(period, sums);
    }
    sums.add(households, words);
  }

  /** A household's bill of a slot, while kept. */
  slotBill(slot: string, household: string): Shared | undefined {
    const kept = this.slots.get(slot);
    const row = kept?.rowOf.get(household);
    if (kept === undefined || row === undefined) return undefined;
    return rowWords(kept.words, row, BILL_OUTPUTS.length);
  }

  /** What `bill-slot` kept of a slot besides its bills, while they are kept. */
  billedOf(slot: string): BilledSlot | undefined {
    return this.slots.get(slot)?.billed;
  }

  /** The households of a slot's bills, in the order of its rows (and lines), while kept. */
  householdsOf(slot: string): string[] | undefined {
    const kept = this.slots.get(slot);
    return kept === undefined ? undefined : [...kept.rowOf.keys()];
  }

  /** A household's line of a slot billed by `bill-slot` (LINE_WORDS words), while kept. */
  lineOf(slot: string, household: string): Shared | undefined {
    const kept = this.slots.get(slot);
    const row = kept?.rowOf.get(household);
    if (kept?.billed === undefined || row === undefined) return undefined;
    return rowWords(kept.billed.lines, row, LINE_WORDS);
  }

  closePeriod(period: string): void {
    this.recorder?.job({ kind: "period-closed", data: { period } });
    this.closed.add(period);
  }

  isClosed(period: string): boolean {
    return this.closed.has(period);
  }

  /** A period's sums by household (empty when nothing was billed in it). */
  periodSums(period: string): ReadonlyMap<string, Shared> {
    return this.periods.get(period)?.byHousehold() ?? new Map();
  }
}

/**
 * One period's running sums, a row of BILL_OUTPUTS words per household in flat arrays: adding a
 * slot of 5,000 bills allocates nothing (a typed array wraps each sum mod 2^64, as shares add).
 */
class PeriodSums {
  private readonly rowOf = new Map<string, number>();
  private own = new BigUint64Array(0);
  private next = new BigUint64Array(0);

  add(households: readonly string[], words: Shared): void {
    const width = BILL_OUTPUTS.length;
    for (const household of households)
      if (!this.rowOf.has(household)) this.rowOf.set(household, this.rowOf.size);
    if (this.own.length < this.rowOf.size * width) {
      const grown = Math.max(this.rowOf.size, (2 * this.own.length) / width) * width;
      for (const part of ["own", "next"] as const) {
        const bigger = new BigUint64Array(grown);
        bigger.set(this[part]);
        this[part] = bigger;
      }
    }
    households.forEach((household, row) => {
      const at = (this.rowOf.get(household) as number) * width;
      for (let k = 0; k < width; k++) {
        this.own[at + k] = (this.own[at + k] as bigint) + (words.own[row * width + k] as bigint);
        this.next[at + k] = (this.next[at + k] as bigint) + (words.next[row * width + k] as bigint);
      }
    });
  }

  /** Its households in row order and their rows. */
  rows(): { households: string[]; words: Shared } {
    const words = this.rowOf.size * BILL_OUTPUTS.length;
    return {
      households: [...this.rowOf.keys()],
      words: { own: this.own.slice(0, words), next: this.next.slice(0, words) },
    };
  }

  byHousehold(): Map<string, Shared> {
    const width = BILL_OUTPUTS.length;
    return new Map(
      [...this.rowOf].map(([household, row]) => [
        household,
        {
          own: this.own.slice(row * width, (row + 1) * width),
          next: this.next.slice(row * width, (row + 1) * width),
        },
      ]),
    );
  }
}

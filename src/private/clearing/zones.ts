/**
 * Market splitting over feeder zones (docs/market-splitting.md) on secret orders: the passes of
 * src/market/zones.ts — clear the hub, split off the zone that breaks its limit by the most, again
 * until none does, then clear each split-off zone on its own — with every auction on shares.
 *
 * Public, as the procedure needs them: which order is in which zone (the DSO's map of connections),
 * each auction's figures (p*, V*, bm, sm, R, M, as for the plain auction) and, per pass, only which
 * zone splits off and in which direction. A zone's net flow stays shared until the last hub pass,
 * whose net exports are outputs.
 * @module
 */
import type { PriceBand } from "../../market/auction.ts";
import { add, addPublic, concat, mul, open, type Shared, slice, sub } from "../../mpc/arithmetic.ts";
import { equalsPublic, lessThanZero, MAX_COMPARE_BITS, oneMinus } from "../../mpc/compare.ts";
import type { Party } from "../../mpc/party.ts";
import { clearBook, type SharedClearing } from "./auction.ts";
import { assembleSide, limitWord, type PublicOrder, type SharedSide, zeros } from "./book.ts";

/** A zone as the nodes know it. Zones are listed in ascending id order: ties go to the lower index. */
export interface ZoneTerms {
  readonly exportLimitWh: number;
  readonly importLimitWh: number;
  /** How many orders of each side, as the client sent them (in id order), have an id ≤ the zone's id: where its flow order goes. */
  readonly buysBefore: number;
  readonly sellsBefore: number;
}

/** One side of the book: its orders (in id order), each one's zone and its position as the client sent it. */
export interface ZonedSide {
  readonly side: SharedSide;
  readonly zoneOf: readonly number[];
  readonly positions: readonly number[];
}

/** The outcome: fills aligned with the book (buys, then sells), and each zone's price and net export. */
export interface ZonedClearing {
  /** The hub's price: the community clearing price. */
  readonly clearingPrice: number | null;
  /** Volume the real orders traded, equal on both sides. */
  readonly volumeWh: bigint;
  readonly fills: Shared;
  readonly zones: readonly { clearingPrice: number | null; netExportWh: bigint }[];
}

/** A zone split off from the hub, with the direction of the limit it broke and the hub price then. */
interface SplitZone {
  readonly zone: number;
  readonly direction: "export" | "import";
  readonly hubPrice: number;
}

/** Where an order of an auction's side comes from: an order of the book (by index) or a zone's flow. */
type Source = { order: number; zone: number } | { flowOf: number };

/** A zoned book on shares: each side's orders, the zones (in id order) and the slot's tariffs. */
export interface ZonedBook {
  readonly buy: ZonedSide;
  readonly sell: ZonedSide;
  readonly zones: readonly ZoneTerms[];
  readonly band: PriceBand;
}

/** One hub auction: its outcome, where each of its orders came from, and the hub zones' net exports. */
interface HubPass {
  readonly clearing: SharedClearing;
  readonly buySources: readonly Source[];
  readonly sellSources: readonly Source[];
  /** The zones still in the hub, in id order; `nets` follows it. */
  readonly hubZones: readonly number[];
  readonly nets: Shared;
}

/** Clears a zoned book by iterated market splitting; `volumeBits` bounds every volume. */
export async function splitMarketPrivately(
  party: Party,
  book: ZonedBook,
  volumeBits: number,
): Promise<ZonedClearing> {
  const split: SplitZone[] = [];
  for (;;) {
    const pass = await clearHub(party, book, split, volumeBits);
    // Nothing traded: every net export is 0, inside any limit.
    const worst =
      pass.clearing.volumeWh === 0n
        ? null
        : await mostCongested(
            party,
            pass.nets,
            pass.hubZones.map((zone) => book.zones[zone] as ZoneTerms),
          );
    if (worst === null) return finish(party, book, pass, split, volumeBits);
    split.push({
      zone: pass.hubZones[worst.index] as number,
      direction: worst.direction,
      hubPrice: pass.clearing.clearingPrice as number,
    });
  }
}

/**
 * The hub's auction: the orders of every zone not split off, and per split-off zone its flow. An
 * exporting zone sells its export limit into the hub at the hub price it broke it at; an importing
 * zone buys its import limit there.
 */
async function clearHub(
  party: Party,
  book: ZonedBook,
  split: readonly SplitZone[],
  volumeBits: number,
): Promise<HubPass> {
  const inHub = (zone: number) => !split.some((s) => s.zone === zone);
  const flows = [...split].sort((a, b) => a.zone - b.zone);
  const importing = flows.filter((s) => s.direction === "import");
  const exporting = flows.filter((s) => s.direction === "export");
  const buy = hubSide(party, book.buy, inHub, importing, book.zones, "buy");
  const sell = hubSide(party, book.sell, inHub, exporting, book.zones, "sell");
  const clearing = await clearBook(party, buy.side, sell.side, volumeBits, {
    band: book.band,
    limits: book.band,
    anyPriceBuyWh: 0n,
    anyPriceSellWh: 0n,
  });
  const hubZones = book.zones.flatMap((_, zone) => (inHub(zone) ? [zone] : []));
  return {
    clearing,
    buySources: buy.sources,
    sellSources: sell.sources,
    hubZones,
    nets: netExports(clearing, buy.sources, sell.sources, hubZones),
  };
}

/** A hub auction's side: the book's orders of hub zones and the flows, in id order, and where each came from. */
function hubSide(
  party: Party,
  book: ZonedSide,
  inHub: (zone: number) => boolean,
  flows: readonly SplitZone[],
  zones: readonly ZoneTerms[],
  kind: "buy" | "sell",
): { side: SharedSide; sources: Source[] } {
  // Keys interleave both: the order sent at position p has key 2p + 1, a flow placed before
  // position r has key 2r (after an order of equal id, as the reference's stable sort puts it).
  const items: { key: number; entry: number | PublicOrder; source: Source }[] = [];
  book.zoneOf.forEach((zone, order) => {
    if (inHub(zone))
      items.push({ key: 2 * (book.positions[order] as number) + 1, entry: order, source: { order, zone } });
  });
  for (const flow of flows) {
    const terms = zones[flow.zone] as ZoneTerms;
    const before = kind === "buy" ? terms.buysBefore : terms.sellsBefore;
    const volumeWh = BigInt(flow.direction === "export" ? terms.exportLimitWh : terms.importLimitWh);
    items.push({
      key: 2 * before,
      entry: { volumeWh, limitWord: limitWord(kind, flow.hubPrice) },
      source: { flowOf: flow.zone },
    });
  }
  items.sort((a, b) => a.key - b.key);
  return {
    side: assembleSide(
      party,
      book.side,
      items.map((item) => item.entry),
    ),
    sources: items.map((item) => item.source),
  };
}

/** Each hub zone's net export (sells filled less buys filled), shared, in the order of `hubZones`. */
function netExports(
  hub: SharedClearing,
  buys: readonly Source[],
  sells: readonly Source[],
  hubZones: readonly number[],
): Shared {
  const nets = zeros(hubZones.length);
  const place = new Map(hubZones.map((zone, k) => [zone, k]));
  const accumulate = (sources: readonly Source[], offset: number, sign: bigint) => {
    sources.forEach((source, k) => {
      if (!("order" in source)) return;
      const at = place.get(source.zone) as number;
      nets.own[at] = (nets.own[at] as bigint) + sign * (hub.fills.own[offset + k] as bigint);
      nets.next[at] = (nets.next[at] as bigint) + sign * (hub.fills.next[offset + k] as bigint);
    });
  };
  accumulate(buys, 0, -1n);
  accumulate(sells, buys.length, 1n);
  return nets;
}

/**
 * The hub zone whose net export breaks a limit by the most (ties: the lowest index, i.e. id), or null
 * when every one holds; opens only that answer. A zone's excess is e = max(net − export limit,
 * −net − import limit); zone z is the one when it beats every other (e_z ≥ e_w for w after it,
 * e_z > e_w for w before it) and e_z > 0.
 */
async function mostCongested(
  party: Party,
  nets: Shared,
  limits: readonly ZoneTerms[],
): Promise<{ index: number; direction: "export" | "import" } | null> {
  const count = limits.length;
  // Net flows and limits lie well inside 63 bits: a full-width comparison needs no bound of its own.
  const bits = MAX_COMPARE_BITS;
  const overExport = addPublic(
    party.id,
    nets,
    BigUint64Array.from(limits, (l) => BigInt.asUintN(64, -BigInt(l.exportLimitWh))),
  );
  const overImport = sub(
    addPublic(
      party.id,
      zeros(count),
      BigUint64Array.from(limits, (l) => BigInt.asUintN(64, -BigInt(l.importLimitWh))),
    ),
    nets,
  );
  const exporting = await lessThanZero(party, sub(overImport, overExport), bits);
  const excess = add(overImport, await mul(party, exporting, sub(overExport, overImport)));

  // [e_z < e_w] for every pair z < w, then [e_z > 0] for every zone, in one comparison.
  const pairs: [number, number][] = [];
  for (let z = 0; z < count; z++) for (let w = z + 1; w < count; w++) pairs.push([z, w]);
  const at = (z: number) => slice(excess, z, z + 1);
  const signs = await lessThanZero(
    party,
    concat([...pairs.map(([z, w]) => sub(at(z), at(w))), sub(zeros(count), excess)]),
    bits,
  );
  const positive = slice(signs, pairs.length, pairs.length + count);
  const wins = zeros(count);
  pairs.forEach(([z, w], k) => {
    // z wins unless e_z < e_w; w wins exactly then.
    const beaten = slice(signs, k, k + 1);
    const zWins = oneMinus(party, beaten);
    wins.own[z] = (wins.own[z] as bigint) + (zWins.own[0] as bigint);
    wins.next[z] = (wins.next[z] as bigint) + (zWins.next[0] as bigint);
    wins.own[w] = (wins.own[w] as bigint) + (beaten.own[0] as bigint);
    wins.next[w] = (wins.next[w] as bigint) + (beaten.next[0] as bigint);
  });
  const top = await equalsPublic(party, wins, BigInt(count - 1), bitLength(count) + 1);
  const chosen = await mul(party, concat([top, top]), concat([positive, exporting]));
  const opened = await open(party, chosen);
  const index = opened.subarray(0, count).indexOf(1n);
  if (index < 0) return null;
  return { index, direction: opened[count + index] === 1n ? "export" : "import" };
}

/**
 * The last pass: open the hub zones' net exports and the flows' fills (all outputs), clear each
 * split-off zone on its own, and put every fill in its place.
 */
async function finish(
  party: Party,
  book: ZonedBook,
  pass: HubPass,
  split: readonly SplitZone[],
  volumeBits: number,
): Promise<ZonedClearing> {
  const { buy, sell, zones, band } = book;
  const buyCount = buy.zoneOf.length;
  const fills = zeros(buyCount + sell.zoneOf.length);
  const flowFills = new Map<number, Shared>();
  const place = (sources: readonly Source[], offset: number, bookOffset: number) => {
    sources.forEach((source, k) => {
      if ("order" in source) copyValue(fills, bookOffset + source.order, pass.clearing.fills, offset + k);
      else flowFills.set(source.flowOf, slice(pass.clearing.fills, offset + k, offset + k + 1));
    });
  };
  place(pass.buySources, 0, 0);
  place(pass.sellSources, pass.buySources.length, buyCount);

  const opened = await open(party, concat([pass.nets, ...split.map((s) => flowFills.get(s.zone) as Shared)]));
  const hubPrice = pass.clearing.clearingPrice;
  const outcomes = zones.map(() => ({ clearingPrice: hubPrice, netExportWh: 0n }));
  pass.hubZones.forEach((zone, k) => {
    outcomes[zone] = { clearingPrice: hubPrice, netExportWh: BigInt.asIntN(64, opened[k] as bigint) };
  });
  // Real volume: the hub's, less what it bought from importing zones; then each zone's own.
  let volumeWh = pass.clearing.volumeWh;
  for (const [k, s] of split.entries()) {
    const flowWh = opened[pass.hubZones.length + k] as bigint;
    const exporting = s.direction === "export";
    if (!exporting) volumeWh -= flowWh;
    const inZone = (side: ZonedSide) =>
      side.zoneOf.flatMap((zone, order) => (zone === s.zone ? [order] : []));
    const [zoneBuys, zoneSells] = [inZone(buy), inZone(sell)];
    // The zone's flow trades at any price; its own price lies on its side of the hub price.
    const own = await clearBook(
      party,
      assembleSide(party, buy.side, zoneBuys),
      assembleSide(party, sell.side, zoneSells),
      volumeBits,
      {
        band: exporting
          ? { feedIn: band.feedIn, retail: s.hubPrice }
          : { feedIn: s.hubPrice, retail: band.retail },
        limits: band,
        anyPriceBuyWh: exporting ? flowWh : 0n,
        anyPriceSellWh: exporting ? 0n : flowWh,
      },
    );
    volumeWh += own.volumeWh - own.anyPriceBuyFillWh;
    for (const [k, order] of zoneBuys.entries()) copyValue(fills, order, own.fills, k);
    for (const [k, order] of zoneSells.entries())
      copyValue(fills, buyCount + order, own.fills, zoneBuys.length + k);
    outcomes[s.zone] = { clearingPrice: own.clearingPrice, netExportWh: exporting ? flowWh : -flowWh };
  }
  return { clearingPrice: hubPrice, volumeWh, fills, zones: outcomes };
}

/** to[at] = from[k], both components. */
function copyValue(to: Shared, at: number, from: Shared, k: number): void {
  to.own[at] = from.own[k] as bigint;
  to.next[at] = from.next[k] as bigint;
}

function bitLength(value: number): number {
  return Math.max(1, Math.ceil(Math.log2(value + 1)));
}

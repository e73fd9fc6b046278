import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { deal, openShares, runParties } from "../../../test/support/mpc.ts";
import { checkProperty, propertyOptions } from "../../../test/support/property.ts";
import {
  type BilateralPosition,
  matchBilateral,
  type PartnerAcceptance,
  type PartnerOffer,
} from "../../market/bilateral.ts";
import type { Side } from "../../market/types.ts";
import { type Shared, slice } from "../../mpc/arithmetic.ts";
import { MAX_ENERGY_WH } from "../../units/index.ts";
import {
  ANY_PRICE,
  type BilateralInputs,
  type BilateralPair,
  bilateralLayers,
  matchBilateralPrivately,
  type PairGraph,
} from "./bilateral.ts";

/** One registered pair's terms this slot: an offer and an acceptance, each possibly missing. */
interface PairTerms {
  readonly offer: { readonly price: number; readonly capWh: number } | null;
  readonly accept: { readonly capWh: number; readonly maxPrice?: number } | null;
}

/** A community for one slot: households in id order, the registry's pairs in processing order. */
interface Community {
  readonly households: readonly { readonly side: Side; readonly volumeWh: number }[];
  readonly pairs: readonly (BilateralPair & PairTerms)[];
}

// Padded so that string order (the reference's) is index order.
const idOf = (h: number) => `h${String(h).padStart(4, "0")}`;

/** The reference's positions: offers in the graph's priority order, only the present ones. */
function positionsOf(community: Community): BilateralPosition[] {
  return community.households.map(({ side, volumeWh }, h) => {
    const offers: PartnerOffer[] = [];
    const accepts: PartnerAcceptance[] = [];
    for (const { seller, buyer, offer, accept } of community.pairs) {
      if (seller === h && offer !== null) offers.push({ partner: idOf(buyer), ...offer });
      if (buyer === h && accept !== null) accepts.push({ partner: idOf(seller), ...accept });
    }
    return { id: idOf(h), side, volumeWh, offers, accepts };
  });
}

/** The encoding the private stage takes, as plain numbers in input order. */
function encode(community: Community): { graph: PairGraph; values: Record<keyof BilateralInputs, number[]> } {
  const { households, pairs } = community;
  return {
    graph: { households: households.length, pairs: pairs.map(({ seller, buyer }) => ({ seller, buyer })) },
    values: {
      sellWh: households.map((h) => (h.side === "sell" ? h.volumeWh : 0)),
      buyWh: households.map((h) => (h.side === "buy" ? h.volumeWh : 0)),
      offerCapWh: pairs.map((p) => p.offer?.capWh ?? 0),
      price: pairs.map((p) => p.offer?.price ?? 0),
      acceptCapWh: pairs.map((p) => p.accept?.capWh ?? 0),
      maxPrice: pairs.map((p) => (p.accept === null ? 0 : (p.accept.maxPrice ?? ANY_PRICE))),
    },
  };
}

const INPUT_ORDER = ["sellWh", "buyWh", "offerCapWh", "price", "acceptCapWh", "maxPrice"] as const;

/** Runs the private stage on three in-memory parties from dealt shares and opens every output. */
async function runPrivately(community: Community, seed = 1) {
  const { graph, values } = encode(community);
  const dealt = deal(BigUint64Array.from(INPUT_ORDER.flatMap((name) => values[name]).map(BigInt)), seed);
  const inputsOf = (shares: Shared): BilateralInputs => {
    let at = 0;
    const part = (length: number) => {
      at += length;
      return slice(shares, at - length, at);
    };
    const h = graph.households;
    const k = graph.pairs.length;
    return {
      sellWh: part(h),
      buyWh: part(h),
      offerCapWh: part(k),
      price: part(k),
      acceptCapWh: part(k),
      maxPrice: part(k),
    };
  };
  const results = await runParties(async (party) => {
    party.recordDisclosures = true;
    const shares = await matchBilateralPrivately(party, graph, inputsOf(dealt[party.id]));
    return { shares, counters: { ...party.counters }, disclosed: party.disclosed.length };
  });
  const opened = (pick: (s: (typeof results)[0]["shares"]) => Shared) =>
    [...openShares(results.map((r) => pick(r.shares)))].map(Number);
  return {
    volumeWh: opened((s) => s.volumeWh),
    moneyBuyer: opened((s) => s.moneyBuyer),
    sellLeftWh: opened((s) => s.sellLeftWh),
    buyLeftWh: opened((s) => s.buyLeftWh),
    counters: results.map((r) => r.counters),
    disclosed: results.map((r) => r.disclosed),
    layers: bilateralLayers(graph).length,
  };
}

/** What the reference says, in the private stage's shape: per pair and per household. */
function expected(community: Community) {
  const trades = matchBilateral(positionsOf(community));
  const { values } = encode(community);
  const volumeWh = community.pairs.map(({ seller, buyer }) =>
    trades
      .filter((t) => t.seller === idOf(seller) && t.buyer === idOf(buyer))
      .reduce((sum, t) => sum + t.volumeWh, 0),
  );
  const tradedBy = (role: "seller" | "buyer", h: number) =>
    trades.filter((t) => t[role] === idOf(h)).reduce((sum, t) => sum + t.volumeWh, 0);
  return {
    volumeWh,
    moneyBuyer: volumeWh.map((v, k) => v * (values.price[k] as number)),
    sellLeftWh: values.sellWh.map((v, h) => v - tradedBy("seller", h)),
    buyLeftWh: values.buyWh.map((v, h) => v - tradedBy("buyer", h)),
  };
}

async function assertMatchesReference(community: Community, seed = 1) {
  const { volumeWh, moneyBuyer, sellLeftWh, buyLeftWh, counters, disclosed, layers } = await runPrivately(
    community,
    seed,
  );
  assert.deepEqual({ volumeWh, moneyBuyer, sellLeftWh, buyLeftWh }, expected(community));
  assert.deepEqual(disclosed, [0, 0, 0], "nothing is opened");
  const rounds = community.pairs.length === 0 ? 0 : 8 + 7 * layers;
  for (const c of counters) assert.equal(c.rounds, rounds);
  return { volumeWh, sellLeftWh, buyLeftWh };
}

/**
 * Random communities: sides, volumes, a registry of up to three partners per seller (one for a
 * household that buys this slot, so that some pairs' seller does not sell), and each pair's terms:
 * offers and acceptances mostly present, prices often equal or near each other.
 */
function communities(
  volumeWh: fc.Arbitrary<number>,
  households = { min: 2, max: 12 },
): fc.Arbitrary<Community> {
  const price = fc.oneof(
    fc.constantFrom(0, 1, 900, 901, ANY_PRICE),
    fc.integer({ min: 0, max: 1000 }),
    fc.integer({ min: 0, max: ANY_PRICE }),
  );
  const terms: fc.Arbitrary<PairTerms> = fc.record({
    offer: fc.option(fc.record({ price, capWh: volumeWh }), { freq: 5 }),
    accept: fc.option(
      fc.oneof(fc.record({ capWh: volumeWh }), fc.record({ capWh: volumeWh, maxPrice: price })),
      { freq: 5 },
    ),
  });
  return fc.integer(households).chain((n) =>
    fc
      .record({
        households: fc.array(fc.record({ side: fc.constantFrom<Side>("buy", "sell"), volumeWh }), {
          minLength: n,
          maxLength: n,
        }),
        partners: fc.array(fc.uniqueArray(fc.integer({ min: 0, max: n - 1 }), { maxLength: 3 }), {
          minLength: n,
          maxLength: n,
        }),
        terms: fc.array(terms, { minLength: 3 * n, maxLength: 3 * n }),
      })
      .map(({ households, partners, terms: drawn }) => ({
        households,
        pairs: partners
          .flatMap((list, seller) =>
            list
              .filter((buyer) => buyer !== seller)
              .slice(0, households[seller]?.side === "sell" ? 3 : 1)
              .map((buyer) => ({ seller, buyer })),
          )
          .map((pair, k) => ({ ...pair, ...(drawn[k] as PairTerms) })),
      })),
  );
}

describe("bilateral trades on secret shares", () => {
  it("equals matchBilateral on random communities, volumes, leftovers and money alike", async () => {
    // Zero (no volume, a missing cap) now and then, not so often that little trades.
    const volumeWh = fc.oneof(
      { arbitrary: fc.constantFrom(0, 1, 500, 5000), weight: 1 },
      { arbitrary: fc.integer({ min: 1, max: 5000 }), weight: 4 },
    );
    let seed = 0;
    // checkProperty asserts synchronously; an async property takes the same options through fc.assert.
    await fc.assert(
      fc.asyncProperty(communities(volumeWh), async (community) => {
        await assertMatchesReference(community, ++seed);
      }),
      propertyOptions(1),
    );
  });

  it("equals matchBilateral at the edges of the volume range (comparisons of 33 signed bits)", async () => {
    const volumeWh = fc.constantFrom(0, 1, 2, MAX_ENERGY_WH - 1, MAX_ENERGY_WH);
    await fc.assert(
      fc.asyncProperty(communities(volumeWh), async (community) => {
        await assertMatchesReference(community);
      }),
      propertyOptions(0.25),
    );
  });

  it("equals matchBilateral on communities of hundreds, whose layers span several words and chunks", async () => {
    // A few samples, not a property: shrinking a community of hundreds would take minutes.
    const { seed = 0 } = propertyOptions();
    const samples = fc.sample(communities(fc.integer({ min: 0, max: 5000 }), { min: 200, max: 400 }), {
      seed,
      numRuns: 3,
    });
    for (const community of samples) await assertMatchesReference(community);
  });

  it("gives a donation (price 0) to the hospital, and charges nothing for it", async () => {
    const community: Community = {
      households: [
        { side: "sell", volumeWh: 2000 },
        { side: "buy", volumeWh: 5000 },
      ],
      pairs: [{ seller: 0, buyer: 1, offer: { price: 0, capWh: 1500 }, accept: { capWh: 10_000 } }],
    };
    assert.deepEqual(matchBilateral(positionsOf(community)), [
      { seller: "h0000", buyer: "h0001", volumeWh: 1500, price: 0 },
    ]);
    const result = await runPrivately(community);
    assert.deepEqual(result.volumeWh, [1500]);
    assert.deepEqual(result.moneyBuyer, [0]);
    assert.deepEqual(result.sellLeftWh, [500, 0]);
    assert.deepEqual(result.buyLeftWh, [0, 3500]);
  });

  it("trades nothing when the buyer's highest price is below the offer, and trades at exactly its highest price", async () => {
    const community = (maxPrice: number): Community => ({
      households: [
        { side: "sell", volumeWh: 3000 },
        { side: "buy", volumeWh: 3000 },
      ],
      pairs: [{ seller: 0, buyer: 1, offer: { price: 900, capWh: 3000 }, accept: { capWh: 3000, maxPrice } }],
    });
    assert.deepEqual((await assertMatchesReference(community(899))).volumeWh, [0]);
    const atLimit = await runPrivately(community(900));
    assert.deepEqual(atLimit.volumeWh, [3000]);
    assert.deepEqual(atLimit.moneyBuyer, [2_700_000]);
  });

  it("serves a seller's partners in priority order until its surplus runs out", async () => {
    const accept = { capWh: 10_000 };
    const community: Community = {
      households: [
        { side: "buy", volumeWh: 5000 },
        { side: "buy", volumeWh: 5000 },
        { side: "sell", volumeWh: 3000 },
        { side: "buy", volumeWh: 5000 },
      ],
      // h02's priority: h03, h00, h01.
      pairs: [
        { seller: 2, buyer: 3, offer: { price: 1000, capWh: 2000 }, accept },
        { seller: 2, buyer: 0, offer: { price: 1200, capWh: 2000 }, accept },
        { seller: 2, buyer: 1, offer: { price: 0, capWh: 2000 }, accept },
      ],
    };
    const result = await assertMatchesReference(community);
    assert.deepEqual(result.volumeWh, [2000, 1000, 0]);
    assert.deepEqual(result.sellLeftWh, [0, 0, 0, 0]);
  });

  it("stops a buyer taking from its second seller once its need is met", async () => {
    const community: Community = {
      households: [
        { side: "sell", volumeWh: 1000 },
        { side: "sell", volumeWh: 1000 },
        { side: "buy", volumeWh: 1500 },
      ],
      pairs: [
        { seller: 0, buyer: 2, offer: { price: 800, capWh: 1000 }, accept: { capWh: 1000, maxPrice: 900 } },
        { seller: 1, buyer: 2, offer: { price: 700, capWh: 1000 }, accept: { capWh: 1000 } },
      ],
    };
    const result = await assertMatchesReference(community);
    assert.deepEqual(result.volumeWh, [1000, 500]);
    assert.deepEqual(result.sellLeftWh, [0, 500, 0]);
    assert.deepEqual(result.buyLeftWh, [0, 0, 0]);
  });

  it("opens nothing, and runs the same rounds and bytes whatever the secret inputs", async () => {
    const graphOnly = (volumeWh: number, offer: PairTerms["offer"]): Community => ({
      households: [
        { side: "sell", volumeWh },
        { side: "buy", volumeWh },
        { side: "sell", volumeWh },
      ],
      pairs: [
        { seller: 0, buyer: 1, offer, accept: { capWh: 700 } },
        { seller: 0, buyer: 2, offer, accept: null },
        { seller: 2, buyer: 1, offer, accept: { capWh: 300, maxPrice: 10 } },
      ],
    });
    const busy = await runPrivately(graphOnly(4000, { price: 5, capWh: 900 }));
    const idle = await runPrivately(graphOnly(0, null));
    assert.deepEqual(busy.disclosed, [0, 0, 0]);
    assert.deepEqual(idle.disclosed, [0, 0, 0]);
    assert.deepEqual(busy.volumeWh, [700, 0, 300]);
    assert.deepEqual(busy.counters, idle.counters);
  });

  it("needs no rounds without pairs, and hands the sides on unchanged", async () => {
    const result = await assertMatchesReference({
      households: [
        { side: "sell", volumeWh: 10 },
        { side: "buy", volumeWh: 20 },
      ],
      pairs: [],
    });
    assert.deepEqual(result.sellLeftWh, [10, 0]);
    assert.deepEqual(result.buyLeftWh, [0, 20]);
  });
});

describe("layers of bilateral pairs", () => {
  const graph = (households: number, pairs: [number, number][]): PairGraph => ({
    households,
    pairs: pairs.map(([seller, buyer]) => ({ seller, buyer })),
  });

  it("puts disjoint pairs in one layer, and one seller's partners in a layer each", () => {
    assert.deepEqual(
      bilateralLayers(
        graph(6, [
          [0, 1],
          [2, 3],
          [4, 5],
        ]),
      ),
      [[0, 1, 2]],
    );
    assert.deepEqual(
      bilateralLayers(
        graph(4, [
          [0, 1],
          [0, 2],
          [0, 3],
        ]),
      ),
      [[0], [1], [2]],
    );
  });

  it("keeps a household's surplus and need apart: A → B and C → A share a layer", () => {
    assert.deepEqual(
      bilateralLayers(
        graph(3, [
          [0, 1],
          [2, 0],
        ]),
      ),
      [[0, 1]],
    );
    // Two sellers feeding one buyer queue behind each other.
    assert.deepEqual(
      bilateralLayers(
        graph(3, [
          [0, 2],
          [1, 2],
        ]),
      ),
      [[0], [1]],
    );
  });

  it("is a valid schedule, as early as the conflicts allow, on random graphs", () => {
    const graphs = fc.integer({ min: 2, max: 40 }).chain((n) =>
      fc
        .array(fc.uniqueArray(fc.integer({ min: 0, max: n - 1 }), { maxLength: 3 }), {
          minLength: n,
          maxLength: n,
        })
        .map((partners) =>
          graph(
            n,
            partners.flatMap((list, seller) =>
              list.filter((buyer) => buyer !== seller).map((buyer): [number, number] => [seller, buyer]),
            ),
          ),
        ),
    );
    checkProperty(
      fc.property(graphs, (g) => {
        const layers = bilateralLayers(g);
        const layerOf = new Map<number, number>();
        layers.forEach((layer, l) => {
          assert.ok(layer.length > 0);
          for (const k of layer) layerOf.set(k, l);
        });
        assert.equal(layerOf.size, g.pairs.length, "every pair in exactly one layer");
        const conflict = (k: number, j: number) =>
          g.pairs[k]?.seller === g.pairs[j]?.seller || g.pairs[k]?.buyer === g.pairs[j]?.buyer;
        g.pairs.forEach((_, k) => {
          const layer = layerOf.get(k) as number;
          const earlier = g.pairs.map((__, j) => j).filter((j) => j < k && conflict(j, k));
          // Earlier conflicting pairs run in earlier layers (so none shares k's layer), and k goes
          // right after the latest of them.
          for (const j of earlier) assert.ok((layerOf.get(j) as number) < layer);
          assert.equal(layer, Math.max(-1, ...earlier.map((j) => layerOf.get(j) as number)) + 1);
        });
      }),
    );
  });

  it("refuses malformed graphs, naming the pair", () => {
    assert.throws(() => bilateralLayers(graph(2, [[0, 0]])), /pair 0: household 0 cannot trade with itself/);
    assert.throws(() => bilateralLayers(graph(2, [[0, 2]])), /pair 0: buyer 2 is not a household index/);
    assert.throws(
      () =>
        bilateralLayers(
          graph(3, [
            [0, 1],
            [0, 1],
          ]),
        ),
      /pair 1: \(0, 1\) is listed twice/,
    );
    assert.throws(
      () =>
        bilateralLayers(
          graph(3, [
            [1, 0],
            [0, 2],
          ]),
        ),
      /pair 1: seller 0 comes after seller 1/,
    );
  });
});

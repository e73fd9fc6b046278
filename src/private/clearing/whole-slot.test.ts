import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { openShares, runParties, seededWords } from "../../../test/support/mpc.ts";
import { propertyOptions } from "../../../test/support/property.ts";
import { clearSlot, type HouseholdIntent, type SlotOutcome } from "../../market/slot.ts";
import type { Zone } from "../../market/types.ts";
import { concat, type Shared } from "../../mpc/arithmetic.ts";
import { shareBitWords, shareInputs } from "../../mpc/client.ts";
import { COMMITMENT_COLUMNS } from "../billing/layout.ts";
import type { BilateralPair } from "./bilateral.ts";
import {
  encodeIntent,
  intentColumns,
  intentLayouts,
  nullIntent,
  type SlotHousehold,
  type SlotTerms,
} from "./intent.ts";
import { clearSlotOnShares } from "./whole-slot.ts";

// Padded so that string order (the reference's) is index order.
const idOf = (h: number) => `h${String(h).padStart(3, "0")}`;
const PRICES = { feedIn: 500, retail: 2000 };

/** A random community for one slot: registry (zones, caps, pair graph) and every household's intent. */
interface Community {
  readonly terms: SlotTerms;
  readonly intents: readonly HouseholdIntent[];
}

const communityArbitrary = (options: { zoned: boolean }): fc.Arbitrary<Community> =>
  fc
    .record({
      count: fc.integer({ min: 2, max: 10 }),
      seed: fc.integer({ min: 0, max: 2 ** 30 }),
    })
    .chain(({ count }) =>
      fc.record({
        households: fc.array(
          fc.record({
            side: fc.constantFrom("buy" as const, "sell" as const),
            volumeWh: fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 3000 })),
            limitPrice: fc.integer({ min: PRICES.feedIn, max: PRICES.retail }),
            community: fc.boolean(),
            connectionCapWh: fc.option(fc.integer({ min: 0, max: 2500 }), { nil: undefined }),
            zone: fc.constantFrom("north", "south"),
            isNull: fc.boolean(),
          }),
          { minLength: count, maxLength: count },
        ),
        // Up to three partners per seller: registered pairs with the terms of this slot.
        partners: fc.array(
          fc.array(
            fc.record({
              buyer: fc.integer({ min: 0, max: count - 1 }),
              offer: fc.option(
                fc.record({
                  capWh: fc.integer({ min: 0, max: 2000 }),
                  price: fc.oneof(fc.constant(0), fc.integer({ min: 0, max: 3000 })),
                }),
                { nil: null },
              ),
              accept: fc.option(
                fc.record({
                  capWh: fc.integer({ min: 0, max: 2000 }),
                  maxPrice: fc.option(fc.integer({ min: 0, max: 3000 }), { nil: undefined }),
                }),
                { nil: null },
              ),
            }),
            { maxLength: 3 },
          ),
          { minLength: count, maxLength: count },
        ),
        zoneLimits: fc.array(fc.integer({ min: 0, max: 4000 }), { minLength: 4, maxLength: 4 }),
      }),
    )
    .map(({ households, partners, zoneLimits }) => {
      const pairs: (BilateralPair & (typeof partners)[number][number])[] = [];
      partners.forEach((list, seller) => {
        const seen = new Set<number>();
        for (const entry of list) {
          if (entry.buyer === seller || seen.has(entry.buyer)) continue;
          seen.add(entry.buyer);
          pairs.push({ ...entry, seller });
        }
      });
      const slotHouseholds: SlotHousehold[] = households.map((h, index) => ({
        id: idOf(index),
        ...(options.zoned ? { zone: h.zone } : {}),
        ...(h.connectionCapWh === undefined ? {} : { connectionCapWh: h.connectionCapWh }),
      }));
      const zones: Zone[] | undefined = options.zoned
        ? [
            { id: "north", exportLimitWh: zoneLimits[0] as number, importLimitWh: zoneLimits[1] as number },
            { id: "south", exportLimitWh: zoneLimits[2] as number, importLimitWh: zoneLimits[3] as number },
          ]
        : undefined;
      const intents = households.map((h, index): HouseholdIntent => {
        const id = idOf(index);
        const home = slotHouseholds[index] as SlotHousehold;
        const registry = {
          ...(home.zone === undefined ? {} : { zone: home.zone }),
          ...(home.connectionCapWh === undefined ? {} : { connectionCapWh: home.connectionCapWh }),
        };
        if (h.isNull) return { ...nullIntent(id, PRICES), ...registry };
        const offers = pairs
          .filter((p) => p.seller === index && p.offer !== null)
          .map((p) => ({ partner: idOf(p.buyer), ...(p.offer as { capWh: number; price: number }) }));
        const accepts = pairs
          .filter((p) => p.buyer === index && p.accept !== null)
          .map((p) => {
            const accept = p.accept as { capWh: number; maxPrice?: number };
            return {
              partner: idOf(p.seller),
              capWh: accept.capWh,
              ...(accept.maxPrice === undefined ? {} : { maxPrice: accept.maxPrice }),
            };
          });
        return {
          id,
          side: h.side,
          volumeWh: h.volumeWh,
          limitPrice: h.limitPrice,
          community: h.community,
          ...registry,
          ...(offers.length > 0 ? { offers } : {}),
          ...(accepts.length > 0 ? { accepts } : {}),
        };
      });
      return {
        terms: {
          households: slotHouseholds,
          graph: {
            households: households.length,
            pairs: pairs.map(({ seller, buyer }) => ({ seller, buyer })),
          },
          prices: PRICES,
          ...(zones === undefined ? {} : { zones }),
        },
        intents,
      };
    });

/** Every household shares its own intent; the three parties clear the slot; everything is opened for the test. */
async function clearPrivately(
  community: Community,
  seed: number,
  tamper: (h: number, words: BigUint64Array, limitWords: BigUint64Array) => void = () => {},
) {
  const { terms } = community;
  const layouts = intentLayouts(terms.graph);
  const random = seededWords(seed);
  const perHousehold = community.intents.map((intent, h) => {
    const { words, limitWords } = encodeIntent(terms, h, intent, layouts[h]);
    tamper(h, words, limitWords);
    const ring = shareInputs(words, random);
    const bits = shareBitWords(limitWords, random);
    return [0, 1, 2].map((party) => concat([ring[party] as Shared, bits[party] as Shared]));
  });
  const results = await runParties(async (party) => {
    party.recordDisclosures = true;
    const inputs = intentColumns(
      terms,
      perHousehold.map((shares) => shares[party.id] as Shared),
    );
    const outcome = await clearSlotOnShares(party, terms, inputs);
    return { ...outcome, disclosed: party.disclosed.map((values) => [...values]) };
  });
  const opened = (pick: (shares: (typeof results)[0]["shares"]) => Shared) =>
    [...openShares(results.map((r) => pick(r.shares)))].map(Number);
  return {
    public: results[0].public,
    communityFillWh: opened((s) => s.communityFillWh),
    pairVolumeWh: opened((s) => s.pairVolumeWh),
    pairMoney: opened((s) => s.pairMoney),
    columns: columnsByHousehold(
      [...openShares(results.map((r) => r.columns))].map((word) => Number(BigInt.asIntN(64, word))),
      terms.households.length,
    ),
    samePublic: results.every((r) => JSON.stringify(r.public) === JSON.stringify(results[0].public)),
    disclosed: results.map((r) => r.disclosed),
  };
}

/** Column-major words (COMMITMENT_COLUMNS) as one record per household. */
function columnsByHousehold(words: readonly number[], n: number): Record<string, number>[] {
  return Array.from({ length: n }, (_, h) =>
    Object.fromEntries(COMMITMENT_COLUMNS.map((name, k) => [name, words[k * n + h] as number])),
  );
}

/** Each household's billing columns from the reference's outcome: its commitments and its community order. */
function referenceColumns(outcome: SlotOutcome): Record<string, number>[] {
  return outcome.commitments.map(({ id, committed }) => {
    let bilateralBuyWh = 0;
    let bilateralSellWh = 0;
    let bilateralMoney = 0;
    for (const trade of committed.bilateral) {
      if (trade.side === "buy") bilateralBuyWh += trade.volumeWh;
      else bilateralSellWh += trade.volumeWh;
      bilateralMoney += (trade.side === "buy" ? 1 : -1) * trade.volumeWh * trade.price;
    }
    const order = outcome.orders.find((candidate) => candidate.id === id);
    return {
      communityBuyWh: committed.communityBuyWh,
      communitySellWh: committed.communitySellWh,
      supplierBuyWh: committed.supplierBuyWh,
      supplierSellWh: committed.supplierSellWh,
      bilateralBuyWh,
      bilateralSellWh,
      bilateralMoney,
      orderWh: order === undefined ? 0 : order.side === "buy" ? order.volumeWh : -order.volumeWh,
      limitPrice: order?.limitPrice ?? 0,
    };
  });
}

/** The reference's outcome in the private shapes. */
function reference(community: Community) {
  const { terms } = community;
  const outcome = clearSlot({
    slot: "2026-06-01T12:00:00Z",
    prices: terms.prices,
    households: community.intents,
    ...(terms.zones === undefined ? {} : { zones: terms.zones }),
  });
  const pairVolumeWh = terms.graph.pairs.map(({ seller, buyer }) =>
    outcome.bilateral
      .filter((t) => t.seller === idOf(seller) && t.buyer === idOf(buyer))
      .reduce((sum, t) => sum + t.volumeWh, 0),
  );
  const priceOf = (k: number) => {
    const { seller, buyer } = terms.graph.pairs[k] as BilateralPair;
    return outcome.bilateral.find((t) => t.seller === idOf(seller) && t.buyer === idOf(buyer))?.price ?? 0;
  };
  return {
    clearingPrice: outcome.community.clearingPrice,
    volumeWh: String(outcome.community.volumeWh),
    zones: outcome.community.zones?.map((zone) => ({
      clearingPrice: zone.clearingPrice,
      netExportWh: String(zone.netExportWh),
    })),
    communityFillWh: outcome.commitments.map((c) => c.committed.communityBuyWh + c.committed.communitySellWh),
    pairVolumeWh,
    pairMoney: pairVolumeWh.map((volume, k) => volume * priceOf(k)),
    columns: referenceColumns(outcome),
  };
}

async function assertEqualsReference(
  community: Community,
  seed: number,
  mine?: Awaited<ReturnType<typeof clearPrivately>>,
  refused: readonly number[] = [],
): Promise<void> {
  mine ??= await clearPrivately(community, seed);
  const theirs = reference(community);
  assert.ok(mine.samePublic, "the three nodes publish the same figures");
  assert.deepEqual(mine.public.refused, refused, "refused intents");
  assert.equal(mine.public.clearingPrice, theirs.clearingPrice, "clearing price");
  assert.equal(mine.public.volumeWh, theirs.volumeWh, "community volume");
  assert.deepEqual(mine.public.zones, theirs.zones, "zones");
  assert.deepEqual(mine.communityFillWh, theirs.communityFillWh, "community fills");
  assert.deepEqual(mine.pairVolumeWh, theirs.pairVolumeWh, "bilateral volumes");
  assert.deepEqual(mine.pairMoney, theirs.pairMoney, "bilateral money");
  const others = (columns: readonly Record<string, number>[]) =>
    columns.filter((_, h) => !refused.includes(h));
  assert.deepEqual(others(mine.columns), others(theirs.columns), "billing columns");
}

describe("a whole slot on shares", () => {
  it("equals clearSlot on random communities with partners, donations, caps and null intents", async () => {
    await fc.assert(
      fc.asyncProperty(
        communityArbitrary({ zoned: false }),
        fc.integer({ min: 1, max: 1000 }),
        (community, seed) => assertEqualsReference(community, seed),
      ),
      propertyOptions(0.5),
    );
  });

  it("equals clearSlot with feeder zones (market splitting)", async () => {
    await fc.assert(
      fc.asyncProperty(
        communityArbitrary({ zoned: true }),
        fc.integer({ min: 1, max: 1000 }),
        (community, seed) => assertEqualsReference(community, seed),
      ),
      propertyOptions(0.25),
    );
  });

  it("refuses each malformed intent alone, naming its household, and clears the slot for the others", async () => {
    const [community] = fc.sample(communityArbitrary({ zoned: false }), { seed: 7, numRuns: 1 }) as [
      Community,
    ];
    const victim = 1;
    const ring = (k: number, value: bigint) => (_h: number, words: BigUint64Array) => {
      words[k] = value;
    };
    const limit =
      (k: number, value: bigint) => (_h: number, _words: BigUint64Array, limits: BigUint64Array) => {
        limits[k] = value;
      };
    const cases: [string, (h: number, words: BigUint64Array, limits: BigUint64Array) => void][] = [
      ["a volume above 2^32 − 1 Wh", ring(0, 2n ** 32n)],
      ["a negative volume", ring(1, 2n ** 64n - 5n)],
      ["a buy and a sell at once", (h, words) => ring(0, 10n)(h, words) ?? ring(1, 10n)(h, words)],
      ["a community flag of 2", ring(2, 2n)],
      ["a buy limit below the feed-in tariff", limit(0, 499n)],
      ["a sell limit above the retail price", limit(1, 2000n)],
      [
        "a real purchase with a limit below the feed-in tariff",
        (h, words, limits) =>
          ring(0, 700n)(h, words) ?? ring(1, 0n)(h, words) ?? limit(0, 499n)(h, words, limits),
      ],
    ];
    // Where the victim's pair terms are, if it has any: an out-of-range price and cap.
    const layout = intentLayouts(community.terms.graph)[victim];
    if (layout !== undefined && layout.offers.length + layout.accepts.length > 0) {
      cases.push(
        ["a pair price above the grid", ring(4, 70_000n)],
        ["a pair cap above 2^32 − 1", ring(3, 2n ** 40n)],
      );
    }
    for (const [what, tamper] of cases) {
      let volumes = [0n, 0n];
      const mine = await clearPrivately(community, 3, (h, words, limits) => {
        if (h !== victim) return;
        tamper(h, words, limits);
        volumes = [words[0] as bigint, words[1] as bigint];
      });
      // The victim deals with its supplier for its capped volume, unless a volume word is out of range.
      const cap = BigInt(community.terms.households[victim]?.connectionCapWh ?? 2 ** 32);
      const inRange = volumes.every((word) => word < 2n ** 32n);
      const supplier = volumes.map((word) => (inRange ? Number(word < cap ? word : cap) : 0));
      assert.deepEqual(
        mine.columns[victim],
        {
          ...Object.fromEntries(COMMITMENT_COLUMNS.map((name) => [name, 0])),
          supplierBuyWh: supplier[0],
          supplierSellWh: supplier[1],
        },
        `${what}: the refused household's columns`,
      );
      // The reference without the victim: it deals with its supplier alone.
      const withoutVictim: Community = {
        ...community,
        intents: community.intents.map((intent, h) =>
          h === victim
            ? {
                ...nullIntent(intent.id, PRICES),
                ...(intent.zone === undefined ? {} : { zone: intent.zone }),
              }
            : intent,
        ),
      };
      await assertEqualsReference(withoutVictim, 3, mine, [victim]).catch((error: unknown) => {
        throw new Error(`${what}: ${error instanceof Error ? error.message : String(error)}`);
      });
    }
  });

  it("opens only which intents are valid and the auction's public figures; a null intent has the layout of any other", async () => {
    const communities = fc.sample(communityArbitrary({ zoned: false }), { seed: 11, numRuns: 12 });
    for (const community of communities) {
      const mine = await clearPrivately(community, 5);
      const theirs = reference(community);
      const n = community.terms.households.length;
      for (const view of mine.disclosed) {
        // Validity first: one bit per household, all valid.
        assert.deepEqual(view[0], new Array(n).fill(1n), "validity of each intent");
        assert.deepEqual(view[1], [BigInt(theirs.volumeWh)], "then V*");
        if (theirs.volumeWh === "0") {
          assert.equal(view.length, 2, "nothing more when nothing trades");
          continue;
        }
        // Then the margins' search outcomes, 8 steps of bits, and R and M of the rationed sides (as the
        // community stage alone discloses): never a vector per household.
        assert.equal(view.length, 1 + 1 + 8 + 1, `${view.length} disclosures`);
        assert.ok(
          view.slice(2, 10).every((step) => step.every((bit) => bit === 0n || bit === 1n)),
          "search outcomes are bits",
        );
        assert.ok((view[10]?.length ?? 0) <= 4, "R and M of each side");
      }
      // Every household's words have the length its registered pairs give it, whatever it intends.
      const layouts = intentLayouts(community.terms.graph);
      community.intents.forEach((intent, h) => {
        const real = encodeIntent(community.terms, h, intent, layouts[h]);
        const none = encodeIntent(community.terms, h, nullIntent(intent.id, PRICES), layouts[h]);
        assert.equal(real.words.length, none.words.length);
        assert.equal(real.limitWords.length, none.limitWords.length);
      });
    }
  });

  it("refuses to encode an offer or acceptance to a partner the registry does not list", () => {
    const terms: SlotTerms = {
      households: [{ id: "alice" }, { id: "bob" }, { id: "carol" }],
      graph: { households: 3, pairs: [{ seller: 0, buyer: 1 }] },
      prices: PRICES,
    };
    const alice: HouseholdIntent = {
      id: "alice",
      side: "sell",
      volumeWh: 100,
      limitPrice: 600,
      offers: [{ partner: "carol", price: 0, capWh: 50 }],
    };
    assert.throws(
      () => encodeIntent(terms, 0, alice),
      /alice offers to carol, which is not a registered partner/,
    );
    const carol: HouseholdIntent = {
      id: "carol",
      side: "buy",
      volumeWh: 100,
      limitPrice: 600,
      accepts: [{ partner: "alice", capWh: 50 }],
    };
    assert.throws(
      () => encodeIntent(terms, 2, carol),
      /carol accepts alice, which is not a registered partner/,
    );
  });
});

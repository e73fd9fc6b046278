/**
 * Representatives (aggregators, home-energy providers; SNIPPET scenarios S2 and S3) trade for their
 * passive clients with aggregate orders only: one buy and one sell per zone, so the market never sees
 * a client's own position. Fills come back to the clients pro rata, by the auction's rationing rule.
 * @module
 */
import { type HouseholdIntent, type Side, shareProRata } from "../market/index.ts";

/** An aggregate order of a representative and the clients it stands for. */
export interface AggregateIntent {
  readonly intent: HouseholdIntent;
  /** The clients' own intents, already capped by their connections. */
  readonly clients: readonly HouseholdIntent[];
}

/**
 * Aggregates the clients' intents of one representative into at most one buy and one sell per zone.
 * The aggregate's limit is the clients' volume-weighted mean limit; clients outside their trading
 * window stay with their supplier.
 */
export function aggregateIntents(
  representativeId: string,
  clients: readonly HouseholdIntent[],
): AggregateIntent[] {
  const groups = new Map<string, HouseholdIntent[]>();
  for (const client of clients) {
    const volumeWh = Math.min(client.volumeWh, client.connectionCapWh ?? client.volumeWh);
    if (volumeWh === 0 || client.community === false) continue;
    const key = JSON.stringify([client.zone ?? null, client.side]);
    groups.set(key, [...(groups.get(key) ?? []), { ...client, volumeWh }]);
  }
  return [...groups.values()].map((members): AggregateIntent => {
    const first = members[0] as HouseholdIntent;
    let volumeWh = 0;
    let weightedLimit = 0;
    for (const member of members) {
      volumeWh += member.volumeWh;
      weightedLimit += member.volumeWh * member.limitPrice;
    }
    return {
      intent: {
        id: aggregateIdOf(representativeId, first.zone, first.side),
        side: first.side,
        volumeWh,
        limitPrice: Math.round(weightedLimit / volumeWh),
        ...(first.zone === undefined ? {} : { zone: first.zone }),
      },
      clients: members,
    };
  });
}

/** Splits an aggregate's community fill among its clients (aligned with `aggregate.clients`). */
export function splitAggregateFill(aggregate: AggregateIntent, filledWh: number): number[] {
  return shareProRata(filledWh, aggregate.clients);
}

/** The id of a representative's aggregate order of one side in one zone (or in the one community). */
export function aggregateIdOf(representativeId: string, zone: string | undefined, side: Side): string {
  return `${representativeId}/${zone === undefined ? "" : `${zone}/`}${side}`;
}

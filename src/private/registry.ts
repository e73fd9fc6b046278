/**
 * The registry the nodes serve from: every meter (its key, household, feeder zone, supplier, the
 * DSO's trading cap on its connection and what the connection can physically carry), every party
 * that may ask the nodes for something (the operator, the DSO, suppliers, households) with its role
 * and signing key, and the DSO's map of the market: the registered partnerships (each seller's
 * partners in its priority order) and the feeder zones' limits. A JSON file named by the node
 * configuration; public data (in a deployment it mirrors the ledger's registry). Also a development
 * generator of a registry with fresh keys.
 * @module
 */
import type { KeyObject } from "node:crypto";
import { readFileSync } from "node:fs";
import { writeFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { join } from "node:path";
import { z } from "zod";
import {
  energyField,
  idField,
  integerField,
  oneOfField,
  parseJsonText,
  parseWith,
  ValidationError,
} from "../validation/index.ts";
import { generateRawKeyPair, privateKeyFromHex, publicKeyFromHex, type Signer } from "./keys.ts";

/** What a party may ask the nodes for (see each program's access rule). */
export const PARTY_ROLES = ["operator", "dso", "supplier", "household"] as const;
export type PartyRole = (typeof PARTY_ROLES)[number];

/** A party the nodes answer, and the key it signs its requests with. */
export interface RegisteredParty {
  readonly id: string;
  readonly role: PartyRole;
  readonly signingKey: KeyObject;
  /** The feeder zone of a household that trades without a meter of its own (a representative's aggregate). */
  readonly zone?: string;
  /** A household's address on the ledger (secp256k1): its slot lines' leaves name it. */
  readonly ledgerAddress?: `0x${string}`;
}

/** A registered meter: its key, and where it belongs (public: the DSO's map, the supplier's portfolio). */
export interface RegisteredMeter {
  readonly id: string;
  readonly household: string;
  readonly zone: string;
  readonly supplier: string;
  readonly publicKey: KeyObject;
  /** The DSO's cap on this connection per slot, Wh: import cap when the household buys, export cap when it sells. */
  readonly connectionCapWh?: number;
  /**
   * What the connection can physically carry per slot, Wh, in either direction (its fuse rating over
   * the slot): a reading above it is refused as implausible. Absent: only the formats' per-slot range.
   */
  readonly physicalCapacityWh?: number;
}

/** A registered partnership: the seller may offer to the buyer (price 0: a donation). */
export interface RegisteredPair {
  readonly seller: string;
  readonly buyer: string;
}

/** A feeder zone with the DSO's limits on its net flow to (export) and from (import) the rest of the community. */
export interface RegisteredZone {
  readonly id: string;
  readonly exportLimitWh: number;
  readonly importLimitWh: number;
}

export interface Registry {
  /** A group total (a zone's, a portfolio's) covers at least this many meters, or is withheld. */
  readonly minGroupMeters: number;
  readonly parties: ReadonlyMap<string, RegisteredParty>;
  /** In file order: the order of meter shares in every closed slot. */
  readonly meters: ReadonlyMap<string, RegisteredMeter>;
  /** Each household's meter. */
  readonly meterOf: ReadonlyMap<string, string>;
  /** Every registered partnership, sellers in ascending id order, each seller's buyers in its priority order. */
  readonly pairs: readonly RegisteredPair[];
  /** The feeder zones with limits; absent: the community clears as one zone. */
  readonly zones?: readonly RegisteredZone[];
}

const MAX_ENTRIES = 1_000_000;
/** Partners one seller may register: a household's neighbours and causes, not a market of its own. */
const MAX_PARTNERS = 16;
/** Feeder zones of one community (the clearing compares them pairwise). */
const MAX_ZONES = 256;
const rawKey = z.string().regex(/^[0-9a-f]{64}$/, { error: () => "is not a 32-byte key in hex" });
const ledgerAddressField = z
  .string()
  .regex(/^0x[0-9a-fA-F]{40}$/, { error: () => "is not a ledger address (0x and 40 hex digits)" });
const ledgerKeyField = z
  .string()
  .regex(/^0x[0-9a-f]{64}$/, { error: () => "is not a ledger key (0x and 64 hex digits)" });

const registryFileSchema = z.strictObject({
  minGroupMeters: integerField(1, 1_000_000, "not a positive meter count", "above 10^6").default(3),
  parties: z
    .array(
      z.strictObject({
        id: idField,
        role: oneOfField(PARTY_ROLES),
        signingKey: rawKey,
        zone: idField.optional(),
        ledgerAddress: ledgerAddressField.optional(),
      }),
    )
    .max(MAX_ENTRIES),
  meters: z
    .array(
      z.strictObject({
        id: idField,
        household: idField,
        zone: idField,
        supplier: idField,
        signingKey: rawKey,
        connectionCapWh: energyField.optional(),
        physicalCapacityWh: energyField.optional(),
      }),
    )
    .max(MAX_ENTRIES),
  /** Each seller's registered partners, in its priority order. */
  partners: z
    .array(z.strictObject({ seller: idField, buyers: z.array(idField).max(MAX_PARTNERS) }))
    .max(MAX_ENTRIES)
    .default([]),
  zones: z
    .array(z.strictObject({ id: idField, exportLimitWh: energyField, importLimitWh: energyField }))
    .min(1, { error: () => "lists no zone" })
    .max(MAX_ZONES)
    .optional(),
});
export type RegistryFile = z.input<typeof registryFileSchema>;

/**
 * Checks a registry file's content and builds its keys.
 * @throws {@link ValidationError} naming each bad entry, such as `meters[3].supplier: "s9" is not a registered supplier`.
 */
export function parseRegistry(value: unknown): Registry {
  const file = parseWith(registryFileSchema, value);
  const issues: { path: string; message: string }[] = [];
  const key = (hex: string, path: string): KeyObject | undefined => {
    try {
      return publicKeyFromHex(hex);
    } catch {
      issues.push({ path, message: "is not a valid Ed25519 public key" });
      return undefined;
    }
  };
  const parties = new Map<string, RegisteredParty>();
  const ledgerAddresses = new Map<string, string>();
  file.parties.forEach((entry, p) => {
    const path = `parties[${p}]`;
    if (parties.has(entry.id)) issues.push({ path: `${path}.id`, message: `"${entry.id}" is listed twice` });
    const signingKey = key(entry.signingKey, `${path}.signingKey`);
    if (entry.ledgerAddress !== undefined && entry.role !== "household")
      issues.push({ path: `${path}.ledgerAddress`, message: "only a household has a ledger address here" });
    const address = entry.ledgerAddress?.toLowerCase();
    if (address !== undefined) {
      const holder = ledgerAddresses.get(address);
      if (holder !== undefined)
        issues.push({
          path: `${path}.ledgerAddress`,
          message: `is also ${holder}'s: every household needs its own`,
        });
      ledgerAddresses.set(address, entry.id);
    }
    if (signingKey !== undefined)
      parties.set(entry.id, {
        id: entry.id,
        role: entry.role,
        signingKey,
        ...(entry.zone === undefined ? {} : { zone: entry.zone }),
        ...(entry.ledgerAddress === undefined ? {} : { ledgerAddress: entry.ledgerAddress as `0x${string}` }),
      });
  });
  const meters = new Map<string, RegisteredMeter>();
  const meterOf = new Map<string, string>();
  file.meters.forEach((entry, m) => {
    const path = `meters[${m}]`;
    if (meters.has(entry.id)) issues.push({ path: `${path}.id`, message: `"${entry.id}" is listed twice` });
    if (parties.get(entry.household)?.role !== "household")
      issues.push({
        path: `${path}.household`,
        message: `"${entry.household}" is not a registered household`,
      });
    else if (meterOf.has(entry.household))
      issues.push({
        path: `${path}.household`,
        message: `"${entry.household}" already has meter ${meterOf.get(entry.household)}`,
      });
    if (parties.get(entry.supplier)?.role !== "supplier")
      issues.push({ path: `${path}.supplier`, message: `"${entry.supplier}" is not a registered supplier` });
    const publicKey = key(entry.signingKey, `${path}.signingKey`);
    if (publicKey === undefined) return;
    meters.set(entry.id, {
      id: entry.id,
      household: entry.household,
      zone: entry.zone,
      supplier: entry.supplier,
      publicKey,
      ...(entry.connectionCapWh === undefined ? {} : { connectionCapWh: entry.connectionCapWh }),
      ...(entry.physicalCapacityWh === undefined ? {} : { physicalCapacityWh: entry.physicalCapacityWh }),
    });
    meterOf.set(entry.household, entry.id);
  });
  const isHousehold = (id: string) => parties.get(id)?.role === "household";
  const sellers = new Set<string>();
  const pairs: RegisteredPair[] = [];
  file.partners.forEach((entry, e) => {
    const path = `partners[${e}]`;
    if (!isHousehold(entry.seller))
      issues.push({ path: `${path}.seller`, message: `"${entry.seller}" is not a registered household` });
    if (sellers.has(entry.seller))
      issues.push({
        path: `${path}.seller`,
        message: `"${entry.seller}" is listed twice: one list per seller`,
      });
    sellers.add(entry.seller);
    const seen = new Set<string>();
    entry.buyers.forEach((buyer, b) => {
      const at = `${path}.buyers[${b}]`;
      if (!isHousehold(buyer)) issues.push({ path: at, message: `"${buyer}" is not a registered household` });
      else if (buyer === entry.seller)
        issues.push({ path: at, message: "a household cannot be its own partner" });
      else if (seen.has(buyer)) issues.push({ path: at, message: `"${buyer}" is listed twice` });
      seen.add(buyer);
      pairs.push({ seller: entry.seller, buyer });
    });
  });
  // The reference's processing order: sellers in ascending id order, each in its own priority order.
  pairs.sort((a, b) => (a.seller < b.seller ? -1 : a.seller > b.seller ? 1 : 0));
  if (file.zones !== undefined) {
    const zoneIds = new Set<string>();
    file.zones.forEach((zone, z) => {
      if (zoneIds.has(zone.id))
        issues.push({ path: `zones[${z}].id`, message: `"${zone.id}" is listed twice` });
      zoneIds.add(zone.id);
    });
    file.meters.forEach((meter, m) => {
      if (!zoneIds.has(meter.zone))
        issues.push({
          path: `meters[${m}].zone`,
          message: `"${meter.zone}" is not one of the registry's zones`,
        });
    });
    file.parties.forEach((entry, p) => {
      if (entry.zone !== undefined && !zoneIds.has(entry.zone))
        issues.push({
          path: `parties[${p}].zone`,
          message: `"${entry.zone}" is not one of the registry's zones`,
        });
    });
  }
  if (issues.length > 0) throw new ValidationError(issues);
  return {
    minGroupMeters: file.minGroupMeters,
    parties,
    meters,
    meterOf,
    pairs,
    ...(file.zones === undefined ? {} : { zones: file.zones }),
  };
}

/** Reads and checks a registry file. @throws {@link ValidationError} naming the file or the bad entries. */
export function loadRegistry(path: string): Registry {
  return parseRegistry(readJsonFile(path, "registry"));
}

/**
 * The private keys a development registry was generated with, by party and meter id (hex), and each
 * household's ledger key (secp256k1, 0x-hex; absent in files written before households had one).
 */
const registryKeysSchema = z.strictObject({
  parties: z.record(idField, rawKey),
  meters: z.record(idField, rawKey),
  ledger: z.record(idField, ledgerKeyField).optional(),
});
export type RegistryKeys = z.infer<typeof registryKeysSchema>;

/** The signing key of a party or a meter in {@link RegistryKeys}. */
export function privateKeyOf(keys: RegistryKeys, kind: "parties" | "meters", id: string): KeyObject {
  const hex = keys[kind][id];
  if (hex === undefined)
    throw new Error(`no private key for ${kind === "parties" ? "party" : "meter"} ${id}`);
  return privateKeyFromHex(hex);
}

/** A party of a development registry as the signer of its requests. */
export function signerOf(keys: RegistryKeys, party: string): Signer {
  return { party, key: privateKeyOf(keys, "parties", party) };
}

/** Who a development registry lists: its households with their zone, and the suppliers. */
export interface RegistryPlan {
  readonly households: readonly {
    readonly id: string;
    readonly zone: string;
    readonly supplier: string;
    readonly connectionCapWh?: number;
    readonly physicalCapacityWh?: number;
  }[];
  /** Parties that trade as households without a meter of their own: a representative's aggregate orders. */
  readonly traders?: readonly { readonly id: string; readonly zone?: string }[];
  /** Each seller's partners, in its priority order. */
  readonly partners?: RegistryFile["partners"];
  readonly zones?: readonly RegisteredZone[];
  readonly minGroupMeters?: number;
}

/** The operator's, the DSO's and a household's meter's ids in a generated registry. */
export const OPERATOR_ID = "operator";
export const DSO_ID = "dso";
export const meterIdOf = (household: string): string => `meter-${household}`;

/**
 * A fresh secp256k1 ledger key and its address, from viem — loaded here, on the first call, and only
 * by whoever generates a development registry: every client of the nodes reads registries, and
 * importing viem costs it a third of a second.
 */
function freshLedgerAccount(): { key: `0x${string}`; address: `0x${string}` } {
  const accounts = createRequire(import.meta.url)("viem/accounts") as typeof import("viem/accounts");
  const key = accounts.generatePrivateKey();
  return { key, address: accounts.privateKeyToAddress(key) };
}

/**
 * For development and tests: a registry of an operator, a DSO, the plan's suppliers, households (one
 * meter and one ledger address each) and traders, all with fresh keys, with the plan's partnerships
 * and zones; the file's content and the private keys.
 */
export function generateRegistry(plan: RegistryPlan): GeneratedRegistry {
  const keys: Record<keyof RegistryKeys, Record<string, string>> = { parties: {}, meters: {}, ledger: {} };
  const party = (id: string, role: PartyRole): RegistryFile["parties"][number] => {
    const { publicHex, privateHex } = generateRawKeyPair();
    keys.parties[id] = privateHex;
    return { id, role, signingKey: publicHex };
  };
  const household = (id: string): RegistryFile["parties"][number] => {
    const account = freshLedgerAccount();
    keys.ledger[id] = account.key;
    return { ...party(id, "household"), ledgerAddress: account.address };
  };
  const suppliers = [...new Set(plan.households.map((household) => household.supplier))];
  const file: RegistryFile = {
    minGroupMeters: plan.minGroupMeters ?? 3,
    parties: [
      party(OPERATOR_ID, "operator"),
      party(DSO_ID, "dso"),
      ...suppliers.map((id) => party(id, "supplier")),
      ...plan.households.map(({ id }) => household(id)),
      ...(plan.traders ?? []).map((trader) => ({
        ...party(trader.id, "household"),
        ...(trader.zone === undefined ? {} : { zone: trader.zone }),
      })),
    ],
    meters: plan.households.map((household) => {
      const id = meterIdOf(household.id);
      const signing = generateRawKeyPair();
      keys.meters[id] = signing.privateHex;
      return {
        id,
        household: household.id,
        zone: household.zone,
        supplier: household.supplier,
        signingKey: signing.publicHex,
        ...(household.connectionCapWh === undefined ? {} : { connectionCapWh: household.connectionCapWh }),
        ...(household.physicalCapacityWh === undefined
          ? {}
          : { physicalCapacityWh: household.physicalCapacityWh }),
      };
    }),
    ...(plan.partners === undefined ? {} : { partners: [...plan.partners] }),
    ...(plan.zones === undefined ? {} : { zones: [...plan.zones] }),
  };
  return { file, keys };
}

/** A development registry: the file's content and its private keys. */
export interface GeneratedRegistry {
  readonly file: RegistryFile;
  readonly keys: RegistryKeys;
}

/**
 * Writes a generated registry as `registry.json` and its keys as `registry.keys.json` (owner-only) in
 * `folder`. @returns the registry file's name, relative to `folder`.
 */
export async function writeRegistry(folder: string, generated: GeneratedRegistry): Promise<string> {
  const name = "registry.json";
  const path = join(folder, name);
  await writeFile(path, `${JSON.stringify(generated.file, null, 2)}\n`);
  await writeFile(registryKeysPath(path), `${JSON.stringify(generated.keys)}\n`, { mode: 0o600 });
  return name;
}

/** Where a development registry's private keys live: beside it. */
export function registryKeysPath(registryPath: string): string {
  return `${registryPath.replace(/\.json$/, "")}.keys.json`;
}

/** Reads a development registry's private keys. */
export function loadRegistryKeys(path: string): RegistryKeys {
  return parseWith(registryKeysSchema, readJsonFile(path, "registry keys"));
}

function readJsonFile(path: string, what: string): unknown {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (error) {
    throw new ValidationError([
      { path: "(input)", message: `cannot read ${what} ${path} (${String(error)})` },
    ]);
  }
  return parseJsonText(text);
}

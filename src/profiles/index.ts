/**
 * The profiles domain's public surface: synthetic, seeded household energy profiles (BDEW H0 load,
 * PV, EV charging, heat pumps under a shared weather) and CSV import of real meter series, both as a
 * `ProfileSource` read slot by slot; the seeded random source everything draws from.
 * @module
 */
export { alignedTo, csvProfiles } from "./csv.ts";
export type { Random } from "./random.ts";
export { seededRandom } from "./random.ts";
export { syntheticProfiles } from "./synthetic.ts";
export type {
  BatteryAssets,
  EvAssets,
  EvSession,
  HeatPumpAssets,
  HouseholdAssets,
  ProfileSource,
  PvAssets,
  Site,
  SlotConditions,
  SlotEnergy,
  TimeGrid,
} from "./types.ts";

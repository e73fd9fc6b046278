import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { seededRandom } from "./random.ts";
import type { Site } from "./types.ts";
import { siteWeather } from "./weather.ts";

const HOUR_MS = 3_600_000;
const START_MS = Date.UTC(2026, 0, 1);

/** Six years of hourly weather: the clear-sky index's mean and range, and the mean temperature by month. */
const years = (site: Site, seed = 1) => {
  const weather = siteWeather(site, 60, seededRandom(seed));
  const monthlyC = Array.from({ length: 12 }, () => ({ sum: 0, count: 0 }));
  let clearSkySum = 0;
  let [lowest, highest] = [1, 0];
  const hours = 6 * 8766;
  for (let hour = 0; hour < hours; hour++) {
    const midMs = START_MS + (hour + 0.5) * HOUR_MS;
    const sample = weather.next(midMs);
    lowest = Math.min(lowest, sample.clearSkyIndex);
    highest = Math.max(highest, sample.clearSkyIndex);
    clearSkySum += sample.clearSkyIndex;
    const month = monthlyC[new Date(midMs).getUTCMonth()] as { sum: number; count: number };
    month.sum += sample.temperatureC;
    month.count += 1;
  }
  assert.ok(lowest >= 0.1 && highest <= 1, `clear-sky index in [${lowest}, ${highest}]`);
  return { meanClearSky: clearSkySum / hours, monthlyC: monthlyC.map(({ sum, count }) => sum / count) };
};

const europe: Site = { latitudeDeg: 51, longitudeDeg: 10, meanTemperatureC: 9.5, cloudiness: 0.55 };

describe("the community's weather", () => {
  it("lets through 1 − 0.75 × cloudiness of the clear-sky light on average", () => {
    for (const cloudiness of [0.2, 0.55, 0.9]) {
      const { meanClearSky } = years({ ...europe, cloudiness });
      const expected = 1 - 0.75 * cloudiness;
      assert.ok(Math.abs(meanClearSky - expected) < 0.03, `${meanClearSky} for cloudiness ${cloudiness}`);
    }
  });

  it("is coldest in January and warmest in July, around the site's mean", () => {
    const { monthlyC } = years(europe);
    const [january, july] = [monthlyC[0] as number, monthlyC[6] as number];
    assert.ok(Math.abs(january - (9.5 - 8.7)) < 1.5, `January ${january} °C`);
    assert.ok(Math.abs(july - (9.5 + 8.7)) < 1.5, `July ${july} °C`);
    const yearC = monthlyC.reduce((a, b) => a + b, 0) / 12;
    assert.ok(Math.abs(yearC - 9.5) < 0.5, `year ${yearC} °C`);
  });

  it("turns the seasons round south of the equator", () => {
    const { monthlyC } = years({ ...europe, latitudeDeg: -34 });
    assert.ok(
      (monthlyC[0] as number) > (monthlyC[6] as number) + 10,
      `January ${monthlyC[0]} °C, July ${monthlyC[6]} °C`,
    );
  });

  it("repeats for a seed", () => {
    const draw = (seed: number) => {
      const weather = siteWeather(europe, 15, seededRandom(seed));
      return Array.from({ length: 50 }, (_, i) => weather.next(START_MS + i * 900_000));
    };
    assert.deepEqual(draw(4), draw(4));
    assert.notDeepEqual(draw(4), draw(5));
  });
});

import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { checkProperty } from "../../test/support/property.ts";
import {
  clearSkyGlobalWPerM2,
  diffuseFraction,
  irradiance,
  panelNormal,
  planeOfArrayWPerM2,
  sunAt,
} from "./solar.ts";

const LATITUDE_DEG = 51;
const LONGITUDE_DEG = 10;
const sun = (iso: string) => sunAt(Date.parse(iso), LATITUDE_DEG, LONGITUDE_DEG);

describe("the sun's position", () => {
  it("culminates at solar noon with the elevation 90° − latitude + declination", () => {
    const dayMs = Date.parse("2026-06-21T00:00:00Z");
    let noonMinute = 0;
    for (let minute = 0; minute < 1440; minute++) {
      if (
        sunAt(dayMs + minute * 60_000, LATITUDE_DEG, LONGITUDE_DEG).up >
        sunAt(dayMs + noonMinute * 60_000, LATITUDE_DEG, LONGITUDE_DEG).up
      )
        noonMinute = minute;
    }
    // 12:00 local mean time is 40 minutes earlier in UTC at 10° E; the equation of time adds about 2 minutes.
    assert.ok(Math.abs(noonMinute - (12 * 60 - 40 + 2)) <= 3, `solar noon at minute ${noonMinute}`);
    const elevationDeg =
      (Math.asin(sunAt(dayMs + noonMinute * 60_000, LATITUDE_DEG, LONGITUDE_DEG).up) * 180) / Math.PI;
    assert.ok(Math.abs(elevationDeg - (90 - LATITUDE_DEG + 23.44)) < 0.3, `elevation ${elevationDeg}°`);
  });

  it("rises in the east, sets in the west, and is below the horizon at midnight", () => {
    assert.ok(sun("2026-06-21T05:00:00Z").east > 0.5, "east in the morning");
    assert.ok(sun("2026-06-21T17:00:00Z").east < -0.5, "west in the evening");
    assert.ok(sun("2026-06-21T23:00:00Z").up < 0, "down at midnight in June");
    assert.ok(sun("2026-12-21T16:00:00Z").up < 0, "down at 17:00 in December");
    assert.ok(sun("2026-12-21T11:00:00Z").north < 0, "the winter sun is in the south");
  });
});

describe("irradiance", () => {
  it("is zero at night", () => {
    const night = sun("2026-06-21T23:00:00Z");
    assert.equal(clearSkyGlobalWPerM2(night.up), 0);
    assert.deepEqual(irradiance(night, 1), {
      globalHorizontalWPerM2: 0,
      diffuseHorizontalWPerM2: 0,
      beamNormalWPerM2: 0,
    });
    assert.equal(planeOfArrayWPerM2(night, irradiance(night, 1), panelNormal(35, 0)), 0);
  });

  it("gives a horizontal panel exactly the global horizontal irradiance", () => {
    const flat = panelNormal(0, 0);
    checkProperty(
      fc.property(
        fc.integer({ min: Date.parse("2026-01-01T00:00:00Z"), max: Date.parse("2026-12-31T00:00:00Z") }),
        fc.double({ min: 0, max: 1, noNaN: true }),
        (ms, clearSkyIndex) => {
          const position = sunAt(ms, LATITUDE_DEG, LONGITUDE_DEG);
          const light = irradiance(position, clearSkyIndex);
          assert.ok(
            light.diffuseHorizontalWPerM2 <= light.globalHorizontalWPerM2 + 1e-9,
            "diffuse within global",
          );
          const poa = planeOfArrayWPerM2(position, light, flat);
          assert.ok(Math.abs(poa - light.globalHorizontalWPerM2) < 1e-6 * (1 + poa), `${poa} W/m²`);
        },
      ),
    );
  });

  it("favours a south-facing panel over a north-facing one at noon", () => {
    for (const iso of ["2026-12-21T11:20:00Z", "2026-06-21T11:20:00Z"]) {
      const position = sun(iso);
      const light = irradiance(position, 1);
      const south = planeOfArrayWPerM2(position, light, panelNormal(35, 0));
      const north = planeOfArrayWPerM2(position, light, panelNormal(35, 180));
      assert.ok(south > 1.2 * north, `${iso}: south ${south} W/m², north ${north} W/m²`);
    }
  });

  it("splits global into diffuse and beam with the continuous Erbs correlation", () => {
    for (const k of [0.22, 0.8])
      assert.ok(Math.abs(diffuseFraction(k - 1e-9) - diffuseFraction(k + 1e-9)) < 0.01, `continuous at ${k}`);
    for (let k = 0; k <= 1; k += 0.01) {
      const fraction = diffuseFraction(k);
      assert.ok(fraction >= 0.16 && fraction <= 1, `${fraction} at ${k}`);
    }
    assert.ok(clearSkyGlobalWPerM2(1) > 1000 && clearSkyGlobalWPerM2(1) < 1100, "clear sky at the zenith");
  });
});

/**
 * Sunlight on a panel: the sun's position from latitude, longitude and UTC time (Spencer's series for
 * declination and equation of time), Haurwitz clear-sky irradiance, the Erbs split into beam and
 * diffuse, and the isotropic-sky irradiance on a tilted plane.
 * @module
 */

const DEG = Math.PI / 180;
const MS_PER_DAY = 86_400_000;
/** The solar constant, W/m². */
const SOLAR_CONSTANT_W_PER_M2 = 1361;
/** Ground reflectance seen by a tilted panel. */
const GROUND_ALBEDO = 0.2;
/** Below this cosine of the zenith angle (sun under 1° elevation) the beam is not resolved. */
const MIN_COS_ZENITH_FOR_BEAM = 0.0175;

/** The sun seen from a site: a unit vector in (east, north, up) and the extraterrestrial irradiance. */
export interface Sun {
  readonly east: number;
  readonly north: number;
  /** Cosine of the zenith angle; negative at night. */
  readonly up: number;
  /** Irradiance at the top of the atmosphere, normal to the beam, W/m². */
  readonly extraterrestrialWPerM2: number;
}

/** A unit vector normal to a surface, in (east, north, up). */
export interface Normal {
  readonly east: number;
  readonly north: number;
  readonly up: number;
}

/** Irradiance components: global and diffuse on the horizontal, beam normal to the sun, W/m². */
export interface Irradiance {
  readonly globalHorizontalWPerM2: number;
  readonly diffuseHorizontalWPerM2: number;
  readonly beamNormalWPerM2: number;
}

/** The sun at `utcMs` seen from a site (accurate to a fraction of a degree, ample for energy per slot). */
export function sunAt(utcMs: number, latitudeDeg: number, longitudeDeg: number): Sun {
  const date = new Date(utcMs);
  const dayOfYear = (utcMs - Date.UTC(date.getUTCFullYear(), 0, 1)) / MS_PER_DAY;
  const utcHours = (utcMs - Math.floor(utcMs / MS_PER_DAY) * MS_PER_DAY) / 3_600_000;
  // Spencer (1971): the year angle, declination and equation of time as Fourier series.
  const gamma = ((2 * Math.PI) / 365) * dayOfYear;
  const declination =
    0.006918 -
    0.399912 * Math.cos(gamma) +
    0.070257 * Math.sin(gamma) -
    0.006758 * Math.cos(2 * gamma) +
    0.000907 * Math.sin(2 * gamma) -
    0.002697 * Math.cos(3 * gamma) +
    0.00148 * Math.sin(3 * gamma);
  const equationOfTimeMinutes =
    229.18 *
    (0.000075 +
      0.001868 * Math.cos(gamma) -
      0.032077 * Math.sin(gamma) -
      0.014615 * Math.cos(2 * gamma) -
      0.040849 * Math.sin(2 * gamma));
  const solarTimeMinutes = utcHours * 60 + 4 * longitudeDeg + equationOfTimeMinutes;
  const hourAngle = (solarTimeMinutes / 4 - 180) * DEG;
  const latitude = latitudeDeg * DEG;
  const sinDeclination = Math.sin(declination);
  const cosDeclination = Math.cos(declination);
  return {
    east: -cosDeclination * Math.sin(hourAngle),
    north: Math.cos(latitude) * sinDeclination - Math.sin(latitude) * cosDeclination * Math.cos(hourAngle),
    up: Math.sin(latitude) * sinDeclination + Math.cos(latitude) * cosDeclination * Math.cos(hourAngle),
    extraterrestrialWPerM2: SOLAR_CONSTANT_W_PER_M2 * (1 + 0.033 * Math.cos(gamma)),
  };
}

/** Haurwitz (1945) clear-sky global horizontal irradiance, W/m²; 0 with the sun below the horizon. */
export function clearSkyGlobalWPerM2(cosZenith: number): number {
  return cosZenith <= 0 ? 0 : 1098 * cosZenith * Math.exp(-0.057 / cosZenith);
}

/** Erbs, Klein and Duffie (1982): the diffuse share of global horizontal irradiance from the clearness index. */
export function diffuseFraction(clearnessIndex: number): number {
  const k = clearnessIndex;
  if (k <= 0.22) return 1 - 0.09 * k;
  if (k <= 0.8) return 0.9511 - 0.1604 * k + 4.388 * k ** 2 - 16.638 * k ** 3 + 12.336 * k ** 4;
  return 0.165;
}

/** The irradiance under a sky that lets through `clearSkyIndex` (0..1) of the clear-sky global irradiance. */
export function irradiance(sun: Sun, clearSkyIndex: number): Irradiance {
  const globalWPerM2 = clearSkyIndex * clearSkyGlobalWPerM2(sun.up);
  if (globalWPerM2 === 0)
    return { globalHorizontalWPerM2: 0, diffuseHorizontalWPerM2: 0, beamNormalWPerM2: 0 };
  const clearness = globalWPerM2 / (sun.extraterrestrialWPerM2 * sun.up);
  const diffuseWPerM2 =
    sun.up < MIN_COS_ZENITH_FOR_BEAM ? globalWPerM2 : globalWPerM2 * diffuseFraction(clearness);
  return {
    globalHorizontalWPerM2: globalWPerM2,
    diffuseHorizontalWPerM2: diffuseWPerM2,
    beamNormalWPerM2: (globalWPerM2 - diffuseWPerM2) / Math.max(sun.up, MIN_COS_ZENITH_FOR_BEAM),
  };
}

/** The normal of a panel tilted `tiltDeg` from horizontal, facing `azimuthDeg` (0 south, −90 east, +90 west). */
export function panelNormal(tiltDeg: number, azimuthDeg: number): Normal {
  const tilt = tiltDeg * DEG;
  const azimuth = azimuthDeg * DEG;
  return {
    east: -Math.sin(tilt) * Math.sin(azimuth),
    north: -Math.sin(tilt) * Math.cos(azimuth),
    up: Math.cos(tilt),
  };
}

/** Irradiance on a plane (isotropic sky): the beam on the panel, the sky it sees and the ground it sees, W/m². */
export function planeOfArrayWPerM2(sun: Sun, light: Irradiance, normal: Normal): number {
  const cosIncidence = sun.east * normal.east + sun.north * normal.north + sun.up * normal.up;
  const beam = light.beamNormalWPerM2 * Math.max(0, cosIncidence);
  const sky = (light.diffuseHorizontalWPerM2 * (1 + normal.up)) / 2;
  const ground = (light.globalHorizontalWPerM2 * GROUND_ALBEDO * (1 - normal.up)) / 2;
  return beam + sky + ground;
}

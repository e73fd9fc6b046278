/**
 * The calendar of the BDEW standard load profile: German civil time (CET/CEST), Easter and the
 * nationwide public holidays, the three H0 seasons, the three day types and the daily dynamisation
 * factor.
 * @module
 */
import { MS_PER_MINUTE } from "../units/index.ts";

/** The H0 seasons: winter 1 Nov–20 Mar, summer 15 May–14 Sep, transition otherwise. */
export type Season = "winter" | "transition" | "summer";

/** The H0 day types; public holidays count as Sundays, Dec 24 and 31 as Saturdays. */
export type DayType = "workday" | "saturday" | "sunday";

/** A civil date. */
export interface CivilDate {
  readonly year: number;
  /** 1 (January) to 12. */
  readonly month: number;
  /** Day of the month, from 1. */
  readonly day: number;
  /** 0 Sunday … 6 Saturday. */
  readonly weekday: number;
  /** Day of the year, from 1 (1 January). */
  readonly dayOfYear: number;
}

const MS_PER_HOUR = 3_600_000;
const MS_PER_DAY = 86_400_000;

/**
 * Minutes German civil time is ahead of UTC at `utcMs`: 60 (CET), or 120 (CEST) from 01:00 UTC on the
 * last Sunday of March to 01:00 UTC on the last Sunday of October (the EU rule since 1996). The
 * standard load profile is read on this clock, which households live by.
 */
export function germanUtcOffsetMinutes(utcMs: number): number {
  const year = new Date(utcMs).getUTCFullYear();
  const summerStartMs = lastSundayUtcMs(year, 3) + MS_PER_HOUR;
  const summerEndMs = lastSundayUtcMs(year, 10) + MS_PER_HOUR;
  return utcMs >= summerStartMs && utcMs < summerEndMs ? 120 : 60;
}

/** Midnight UTC of the last Sunday of `month` (1–12). */
function lastSundayUtcMs(year: number, month: number): number {
  const lastDayMs = Date.UTC(year, month, 0);
  return lastDayMs - new Date(lastDayMs).getUTCDay() * MS_PER_DAY;
}

/** German civil time at `utcMs`: the day number (days since 1970-01-01) and the minute of that day. */
export function germanLocalTime(utcMs: number): { readonly dayNumber: number; readonly minuteOfDay: number } {
  const localMs = utcMs + germanUtcOffsetMinutes(utcMs) * MS_PER_MINUTE;
  const dayNumber = Math.floor(localMs / MS_PER_DAY);
  return { dayNumber, minuteOfDay: Math.floor((localMs - dayNumber * MS_PER_DAY) / MS_PER_MINUTE) };
}

/**
 * The UTC instant of `hours` after local midnight of day `dayNumber` in German civil time. In the hour
 * skipped in spring the result is an hour late, in the hour repeated in autumn it is the first pass:
 * both are fine for the jittered times that use it.
 */
export function germanLocalToUtcMs(dayNumber: number, hours: number): number {
  const localMs = dayNumber * MS_PER_DAY + hours * MS_PER_HOUR;
  const guessMs = localMs - germanUtcOffsetMinutes(localMs - MS_PER_HOUR) * MS_PER_MINUTE;
  return localMs - germanUtcOffsetMinutes(guessMs) * MS_PER_MINUTE;
}

/** The civil date of a day number (days since 1970-01-01). */
export function civilDate(dayNumber: number): CivilDate {
  const date = new Date(dayNumber * MS_PER_DAY);
  const year = date.getUTCFullYear();
  return {
    year,
    month: date.getUTCMonth() + 1,
    day: date.getUTCDate(),
    weekday: date.getUTCDay(),
    dayOfYear: dayNumber - Date.UTC(year, 0, 1) / MS_PER_DAY + 1,
  };
}

/** Easter Sunday of a Gregorian year (the anonymous Gregorian computus of Meeus/Jones/Butcher). */
export function easterSunday(year: number): { readonly month: number; readonly day: number } {
  const goldenNumber = year % 19;
  const century = Math.floor(year / 100);
  const yearOfCentury = year % 100;
  const skippedLeapDays = Math.floor(century / 4);
  const centuryRemainder = century % 4;
  const moonCorrection = Math.floor((century + 8) / 25);
  const solarCorrection = Math.floor((century - moonCorrection + 1) / 3);
  const epact = (19 * goldenNumber + century - skippedLeapDays - solarCorrection + 15) % 30;
  const weekdayCorrection =
    (32 + 2 * centuryRemainder + 2 * Math.floor(yearOfCentury / 4) - epact - (yearOfCentury % 4)) % 7;
  const lateMarchShift = Math.floor((goldenNumber + 11 * epact + 22 * weekdayCorrection) / 451);
  const daysAfterMarch22 = epact + weekdayCorrection - 7 * lateMarchShift + 114;
  return { month: Math.floor(daysAfterMarch22 / 31), day: (daysAfterMarch22 % 31) + 1 };
}

/** Fixed-date nationwide holidays, as month * 100 + day: New Year, 1 May, 3 October, 25 and 26 December. */
const FIXED_HOLIDAYS = new Set([101, 501, 1003, 1225, 1226]);

/** Movable nationwide holidays, in days after Easter Sunday: Good Friday, Easter Monday, Ascension, Whit Monday. */
const EASTER_OFFSETS_DAYS = [-2, 1, 39, 50];

/** Whether a date is a public holiday in all of Germany (state holidays are not). */
export function isGermanPublicHoliday(date: CivilDate): boolean {
  if (FIXED_HOLIDAYS.has(date.month * 100 + date.day)) return true;
  const easter = easterSunday(date.year);
  const daysAfterEaster =
    (Date.UTC(date.year, date.month - 1, date.day) - Date.UTC(date.year, easter.month - 1, easter.day)) /
    MS_PER_DAY;
  return EASTER_OFFSETS_DAYS.includes(daysAfterEaster);
}

/** The H0 season of a date. */
export function h0Season(date: CivilDate): Season {
  const monthDay = date.month * 100 + date.day;
  if (monthDay >= 1101 || monthDay <= 320) return "winter";
  if (monthDay >= 515 && monthDay <= 914) return "summer";
  return "transition";
}

/** The H0 day type of a date. */
export function h0DayType(date: CivilDate): DayType {
  if (date.weekday === 0 || isGermanPublicHoliday(date)) return "sunday";
  if (date.weekday === 6 || (date.month === 12 && (date.day === 24 || date.day === 31))) return "saturday";
  return "workday";
}

/**
 * BDEW's daily dynamisation factor of H0 for day of the year `dayOfYear` (from 1), rounded to 4
 * decimals as the BDEW application guide asks: above 1 in winter, below 1 in summer.
 */
export function dynamisationFactor(dayOfYear: number): number {
  const t = dayOfYear;
  const factor = -3.92e-10 * t ** 4 + 3.2e-7 * t ** 3 - 7.02e-5 * t ** 2 + 2.1e-3 * t + 1.24;
  return Math.round(factor * 10_000) / 10_000;
}

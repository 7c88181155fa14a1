import { runsPerDay } from './interval.js';

/**
 * Fires per day of a cron in a time zone, remembered: computing it walks up
 * to a year of fire times (tens of milliseconds and more), and the rate of
 * a cron does not change within hours (only DST and month lengths move it).
 * Every caller (schedule lists, the usage ledger's pricing) reads it here,
 * so the CLI, the dashboard and billing agree.
 */
const REMEMBER_MS = 6 * 3600_000;
const MAX_ENTRIES = 5_000;
const remembered = new Map<string, { rate: number; at: number }>();

export function cachedRunsPerDay(cron: string, timezone: string, at: Date = new Date()): number {
  const key = `${cron}|${timezone}`;
  const hit = remembered.get(key);
  if (hit && Math.abs(hit.at - at.getTime()) < REMEMBER_MS) return hit.rate;
  const rate = runsPerDay(cron, timezone, at);
  if (remembered.size >= MAX_ENTRIES) remembered.clear();
  remembered.set(key, { rate, at: at.getTime() });
  return rate;
}

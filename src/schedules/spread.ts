import { createHash } from 'node:crypto';
import type { Deployment, Schedule } from '../generated/prisma/client.js';

/** Schedules of a deployment with `spreadSchedules` start up to this long after their tick. */
export const SPREAD_WINDOW_SECONDS = 420;

/**
 * A schedule's offset: up to seven minutes, stable per deployment and
 * schedule name, so midnight crowds spread out (Meltano Cloud did the same).
 * Stored on the schedule when it is first synced.
 */
export const scheduleOffsetSeconds = (deploymentId: string, name: string): number =>
  createHash('sha256').update(`${deploymentId}/${name}`).digest().readUInt32BE(0) %
  SPREAD_WINDOW_SECONDS;

/** How long after its tick the schedule starts: its offset when the deployment spreads schedules, else 0. */
export const effectiveOffsetSeconds = (
  schedule: Pick<Schedule, 'offsetSeconds'>,
  deployment: Pick<Deployment, 'spreadSchedules'>,
): number => (deployment.spreadSchedules ? schedule.offsetSeconds : 0);

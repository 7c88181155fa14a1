import { Injectable } from '@nestjs/common';
import type { OrgId } from '../database/org-id.js';
import { DeploymentsService } from '../deployments/deployments.service.js';
import { presentScheduleHealth } from './schedule-health.presenter.js';
import { ScheduleHealthRepository, type RecentRun } from './schedule-health.repository.js';

/** Per schedule of a deployment: its latest runs, success rate, last and next run (two queries). */
@Injectable()
export class ScheduleHealthService {
  constructor(
    private readonly deployments: DeploymentsService,
    private readonly health: ScheduleHealthRepository,
  ) {}

  async forDeployment(orgId: OrgId, projectRef: string, deploymentRef: string, runs: number) {
    const { deployment } = await this.deployments.get(orgId, projectRef, deploymentRef);
    const schedules = await this.health.activeSchedules(orgId, deployment.id);
    const latest = await this.health.latestRuns(
      orgId,
      schedules.map((s) => s.id),
      runs,
    );
    const bySchedule = new Map<string, RecentRun[]>();
    for (const run of latest) {
      const list = bySchedule.get(run.scheduleId) ?? [];
      list.push(run);
      bySchedule.set(run.scheduleId, list);
    }
    const now = new Date();
    return schedules.map((s) =>
      presentScheduleHealth(s, deployment, bySchedule.get(s.id) ?? [], now),
    );
  }
}

import { HttpStatus, Injectable } from '@nestjs/common';
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { ProblemException } from '../common/problem.js';
import { orgIdFromRunCredential, type OrgId } from '../database/org-id.js';
import { SystemRepository } from '../database/system.repository.js';
import { RunsRepository } from './runs.repository.js';
import { isFinal } from './runs.schemas.js';

const PREFIX = 'mcrs_';

export const hashStateToken = (token: string): string =>
  createHash('sha256').update(token, 'utf8').digest('hex');

/** What a verified credential may touch: one run, its organization and deployment. */
export interface RunStateGrant {
  orgId: OrgId;
  runId: string;
  deploymentId: string;
}

const unauthorized = (detail: string): ProblemException =>
  new ProblemException(HttpStatus.UNAUTHORIZED, 'unauthorized', detail);

/**
 * Run-scoped credentials for Meltano state: a random token given to the
 * run's Pod (through the run's Kubernetes Secret), stored only as its
 * SHA-256 on the run. It reads and writes the state of that run's deployment
 * only, and stops working when the run ends (the hash is cleared with the
 * final status, and a finished run is refused whatever the hash).
 */
@Injectable()
export class RunStateCredentials {
  constructor(
    private readonly runs: RunsRepository,
    private readonly system: SystemRepository,
  ) {}

  /** A new token for the run (replacing any earlier one); only the hash is stored. */
  async mint(orgId: OrgId, runId: string): Promise<string> {
    const token = `${PREFIX}${randomBytes(32).toString('base64url')}`;
    await this.runs.setStateTokenHash(orgId, runId, hashStateToken(token));
    return token;
  }

  async revoke(orgId: OrgId, runId: string): Promise<void> {
    await this.runs.clearStateTokenHash(orgId, runId);
  }

  /** The grant of `Authorization: Bearer <token>` for `runId`; 401 otherwise (unknown runs too: nothing is told). */
  async verify(runId: string, authorization: string | undefined): Promise<RunStateGrant> {
    const token = /^Bearer (\S+)$/.exec(authorization ?? '')?.[1];
    if (!token?.startsWith(PREFIX)) throw unauthorized('A run state credential is required.');
    const run = await this.system.runStateCredentialAcrossTenants(runId);
    const presented = Buffer.from(hashStateToken(token), 'hex');
    const stored = run?.stateTokenHash ? Buffer.from(run.stateTokenHash, 'hex') : null;
    if (
      !run ||
      !stored ||
      stored.length !== presented.length ||
      !timingSafeEqual(stored, presented)
    )
      throw unauthorized('The run state credential is not valid for this run.');
    if (isFinal(run.status)) throw unauthorized('The run state credential expired with its run.');
    return { orgId: orgIdFromRunCredential(run), runId: run.id, deploymentId: run.deploymentId };
  }
}

import { Injectable, Logger } from '@nestjs/common';
import type { OrganizationDataKey } from '../generated/prisma/client.js';
import type { OrgId } from '../database/org-id.js';
import { SystemRepository } from '../database/system.repository.js';
import { KeyWrapper, newDataKey, toBytes } from './crypto.js';
import { DataKeysRepository } from './data-keys.repository.js';

export interface RotationResult {
  /** Data keys re-wrapped under the current master key. */
  rewrapped: number;
  /** Data keys already under the current master key. */
  alreadyCurrent: number;
  /** Organizations whose data key could not be re-wrapped (unknown master key id, concurrent change). */
  failed: { organizationId: string; reason: string }[];
}

const CACHE_LIMIT = 1000;

/**
 * Per-organization data keys: 32 random bytes created on first use, stored
 * wrapped by the master key. Unwrapped keys are cached in memory by their
 * wrapped form, so a KMS would be called once per key and process.
 */
@Injectable()
export class DataKeyService {
  private readonly logger = new Logger('secrets');
  private readonly cache = new Map<string, Buffer>();

  constructor(
    private readonly dataKeys: DataKeysRepository,
    private readonly wrapper: KeyWrapper,
    private readonly system: SystemRepository,
  ) {}

  /** The organization's data key, created (race-safe: the first insert wins) when missing. */
  async forOrganization(orgId: OrgId): Promise<Buffer> {
    let row = await this.dataKeys.find(orgId);
    if (!row) {
      const { wrapped, keyId } = await this.wrapper.wrap(newDataKey());
      row = await this.dataKeys.createOrGet(orgId, {
        encryptedKey: toBytes(wrapped),
        masterKeyId: keyId,
      });
    }
    return this.unwrap(row);
  }

  private async unwrap(row: OrganizationDataKey): Promise<Buffer> {
    const cacheKey = `${row.organizationId}:${row.masterKeyId}:${Buffer.from(row.encryptedKey).toString('base64')}`;
    const cached = this.cache.get(cacheKey);
    if (cached) return cached;
    const key = await this.wrapper.unwrap(Buffer.from(row.encryptedKey), row.masterKeyId);
    if (this.cache.size >= CACHE_LIMIT) this.cache.clear();
    this.cache.set(cacheKey, key);
    return key;
  }

  /**
   * Re-wraps every data key not yet under the current master key (keys named
   * in PREVIOUS_MASTER_KEYS still unwrap). Secret values are not touched:
   * they stay encrypted under the same data keys. Safe to run again.
   */
  async rotateMasterKey(batchSize = 100): Promise<RotationResult> {
    const current = this.wrapper.currentKeyId;
    const result: RotationResult = { rewrapped: 0, alreadyCurrent: 0, failed: [] };
    let after: string | undefined;
    for (;;) {
      const rows = await this.system.dataKeysAcrossTenants(after, batchSize);
      if (!rows.length) break;
      after = rows.at(-1)?.organizationId;
      for (const row of rows) {
        if (row.masterKeyId === current) {
          result.alreadyCurrent++;
          continue;
        }
        try {
          const dataKey = await this.wrapper.unwrap(Buffer.from(row.encryptedKey), row.masterKeyId);
          const { wrapped, keyId } = await this.wrapper.wrap(dataKey);
          // Only if nobody changed the row meanwhile.
          const rewrapped = await this.dataKeys.rewrap(row.orgId, row, {
            encryptedKey: toBytes(wrapped),
            masterKeyId: keyId,
          });
          if (rewrapped) result.rewrapped++;
          else
            result.failed.push({
              organizationId: row.organizationId,
              reason: 'changed concurrently; run again',
            });
        } catch (err) {
          const reason = err instanceof Error ? err.message : String(err);
          this.logger.error({ organization_id: row.organizationId, err: reason }, 'rewrap failed');
          result.failed.push({ organizationId: row.organizationId, reason });
        }
      }
    }
    return result;
  }
}

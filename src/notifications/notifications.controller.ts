import { Controller, Delete, Get, HttpCode, Patch, Post } from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import { z } from 'zod';
import { Origin, type RequestOrigin } from '../auth/actor.js';
import { decodeCursor, toPage } from '../common/pagination.js';
import { refParam } from '../common/slug.js';
import { ZodBody, ZodParam, ZodQuery, ZodResponse, paginated } from '../common/zod.js';
import type { NotificationChannel } from '../generated/prisma/client.js';
import { CurrentOrg, RequirePermission, type OrgScope } from '../organizations/org-access.js';
import {
  channelOut,
  createChannelBody,
  createdChannelOut,
  deliveryOut,
  listChannelsQuery,
  listDeliveriesQuery,
  testSendOut,
  updateChannelBody,
} from './notifications.schemas.js';
import { NotificationSettings } from './notification-settings.js';
import { presentChannel, presentDelivery } from './notifications.presenter.js';
import { NotificationsService } from './notifications.service.js';

const example = {
  id: '0b6f3a9e-4a1d-4f0e-9a53-6c2d7e8f9a10',
  kind: 'webhook',
  target: 'https://hooks.slack.com/services/T000/B000/XXXX',
  active: true,
  project_id: null,
  filters: [{ events: ['run.failed', 'run.timed_out'], deployment: 'prod' }],
  slack: true,
  created_at: '2026-11-21T09:00:00.000Z',
  updated_at: '2026-11-21T09:00:00.000Z',
};

@ApiTags('notifications')
@Controller('orgs/:org/notifications')
export class NotificationsController {
  constructor(
    private readonly notifications: NotificationsService,
    private readonly settings: NotificationSettings,
  ) {}

  private present(channel: NotificationChannel, scope: OrgScope) {
    return presentChannel(channel, scope.membership.role, this.settings.slackHosts);
  }

  @Get()
  @ApiOperation({ summary: 'Notification channels (webhooks and email recipients) with filters' })
  @ZodResponse(200, paginated(channelOut), 'A page of channels', {
    results: [example],
    pagination: { next_page_token: null, page_size: 50 },
  })
  async list(
    @ZodParam('org', refParam) _org: string,
    @CurrentOrg() scope: OrgScope,
    @ZodQuery(listChannelsQuery) query: z.infer<typeof listChannelsQuery>,
  ) {
    const rows = await this.notifications.list(
      scope.orgId,
      query.page_size + 1,
      query.project,
      decodeCursor(query.page_token),
    );
    return toPage(
      rows,
      query.page_size,
      (c) => ({ k: c.createdAt.toISOString(), id: c.id }),
      (c) => this.present(c, scope),
    );
  }

  @Post()
  @RequirePermission('notification:write')
  @ApiOperation({
    summary:
      'Add a webhook or email channel (admin). Webhooks get a signing secret, shown only in this response',
  })
  @ZodResponse(201, createdChannelOut, 'Created', {
    ...example,
    signing_secret: 'whsec_9d0c…',
  })
  async create(
    @ZodParam('org', refParam) _org: string,
    @CurrentOrg() scope: OrgScope,
    @Origin() origin: RequestOrigin,
    @ZodBody(createChannelBody, {
      kind: 'webhook',
      target: 'https://example.com/hooks/meltano',
      filters: [{ events: ['run.failed'] }],
    })
    body: z.infer<typeof createChannelBody>,
  ) {
    const { channel, signingSecret } = await this.notifications.create(scope, origin, body);
    return { ...this.present(channel, scope), signing_secret: signingSecret };
  }

  @Get(':id')
  @ApiOperation({ summary: 'One notification channel' })
  @ZodResponse(200, channelOut, 'The channel', example)
  async get(
    @ZodParam('org', refParam) _org: string,
    @ZodParam('id', z.uuid()) id: string,
    @CurrentOrg() scope: OrgScope,
  ) {
    return this.present(await this.notifications.get(scope.orgId, id), scope);
  }

  @Patch(':id')
  @RequirePermission('notification:write')
  @ApiOperation({ summary: 'Change a channel’s target, filters, project or active status (admin)' })
  @ZodResponse(200, channelOut, 'Updated', example)
  async update(
    @ZodParam('org', refParam) _org: string,
    @ZodParam('id', z.uuid()) id: string,
    @CurrentOrg() scope: OrgScope,
    @Origin() origin: RequestOrigin,
    @ZodBody(updateChannelBody, { active: false }) body: z.infer<typeof updateChannelBody>,
  ) {
    return this.present(await this.notifications.update(scope, origin, id, body), scope);
  }

  @Delete(':id')
  @HttpCode(204)
  @RequirePermission('notification:write')
  @ApiOperation({ summary: 'Delete a channel and its delivery history (admin)' })
  async remove(
    @ZodParam('org', refParam) _org: string,
    @ZodParam('id', z.uuid()) id: string,
    @CurrentOrg() scope: OrgScope,
    @Origin() origin: RequestOrigin,
  ): Promise<void> {
    await this.notifications.delete(scope, origin, id);
  }

  @Post(':id/test')
  @HttpCode(202)
  @RequirePermission('notification:write')
  @ApiOperation({
    summary: 'Send a test event to the channel (admin); follow it in the channel’s deliveries',
  })
  @ZodResponse(202, testSendOut, 'Queued')
  async test(
    @ZodParam('org', refParam) _org: string,
    @ZodParam('id', z.uuid()) id: string,
    @CurrentOrg() scope: OrgScope,
    @Origin() origin: RequestOrigin,
  ) {
    const deliveryId = await this.notifications.sendTest(scope, origin, id);
    return { delivery_id: deliveryId, status: 'pending' as const };
  }

  @Get(':id/deliveries')
  @ApiOperation({
    summary: 'Deliveries to the channel, newest first, with every attempt (status, error, timing)',
  })
  @ZodResponse(200, paginated(deliveryOut), 'A page of deliveries')
  async deliveries(
    @ZodParam('org', refParam) _org: string,
    @ZodParam('id', z.uuid()) id: string,
    @CurrentOrg() scope: OrgScope,
    @ZodQuery(listDeliveriesQuery) query: z.infer<typeof listDeliveriesQuery>,
  ) {
    const rows = await this.notifications.deliveries(
      scope.orgId,
      id,
      query.page_size + 1,
      query.status,
      decodeCursor(query.page_token),
    );
    return toPage(
      rows,
      query.page_size,
      (d) => ({ k: d.createdAt.toISOString(), id: d.id }),
      presentDelivery,
    );
  }
}

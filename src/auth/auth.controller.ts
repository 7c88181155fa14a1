import {
  Controller,
  Delete,
  Get,
  HttpCode,
  Post,
  Query,
  Req,
  Res,
  UseGuards,
} from '@nestjs/common';
import { ApiExcludeEndpoint, ApiOperation, ApiTags } from '@nestjs/swagger';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { AppConfig } from '../config/app-config.js';
import { Public } from '../common/public.decorator.js';
import { ProblemException, conflict, notFound } from '../common/problem.js';
import { ZodBody, ZodParam, ZodQuery, ZodResponse, ZodValidationPipe } from '../common/zod.js';
import { safeEqual } from '../common/signing.js';
import { CurrentActor, type Actor, type AuthenticatedRequest } from './actor.js';
import { AuthService, type GithubIdentity } from './auth.service.js';
import { SESSION_COOKIE } from './credentials.js';
import { GithubAuthGuard } from './github-auth.guard.js';
import { SignedStateStore } from './github.strategy.js';
import {
  cliLoginQuery,
  createTokenBody,
  createdTokenOut,
  devLoginBody,
  tokenOut,
  userOut,
} from './auth.schemas.js';
import { presentToken, presentUser } from './auth.presenter.js';
import { HttpStatus } from '@nestjs/common';
import { escapeHtml, htmlPage } from '../common/html.js';
import { AcceptsFormBody } from '../common/form-body.js';
import { safeReturnTo } from '../common/safe-redirect.js';

@ApiTags('auth')
@Controller()
export class AuthController {
  constructor(
    private readonly config: AppConfig,
    private readonly auth: AuthService,
    private readonly stateStore: SignedStateStore,
  ) {}

  @Public()
  @Get('auth/github')
  @UseGuards(GithubAuthGuard)
  @ApiOperation({ summary: 'Start GitHub sign-in (redirects to GitHub)' })
  githubStart(): void {
    // GithubAuthGuard has already answered with the redirect.
  }

  @Public()
  @Get('auth/github/callback')
  @UseGuards(GithubAuthGuard)
  @ApiExcludeEndpoint()
  async githubCallback(
    @Req() req: FastifyRequest & { user?: GithubIdentity },
    @Res() reply: FastifyReply,
  ): Promise<void> {
    if (!req.user)
      throw new ProblemException(HttpStatus.UNAUTHORIZED, 'sign-in-failed', 'Sign-in failed');
    const user = await this.auth.upsertGithubUser(req.user);
    const intent = this.stateStore.intentOf((req.query as Record<string, unknown>).state);
    await this.startSession(reply, user.id);
    await reply.redirect(safeReturnTo(intent.returnTo), 302);
  }

  @Public()
  @Get('login')
  @ApiExcludeEndpoint()
  async loginPage(
    @Query('return_to') returnTo: unknown,
    @Res() reply: FastifyReply,
  ): Promise<void> {
    const target = safeReturnTo(returnTo);
    const github = this.config.auth.githubOAuth
      ? `<p><a class="button" href="/auth/github?return_to=${encodeURIComponent(target)}">Sign in with GitHub</a></p>`
      : '';
    const dev = this.config.auth.devLoginEnabled
      ? `<form method="post" action="/auth/dev-login"><input type="hidden" name="return_to" value="${escapeHtml(target)}">
         <label>Development sign-in, as GitHub login <input name="login" required pattern="[A-Za-z0-9\\-]+"></label>
         <button type="submit">Sign in</button></form>`
      : '';
    await reply
      .type('text/html')
      .send(htmlPage('Sign in', `<h1>Sign in to meltano-cloud</h1>${github}${dev}`));
  }

  @Public()
  @Post('auth/dev-login')
  @AcceptsFormBody()
  @HttpCode(200)
  @ApiOperation({ summary: 'Development sign-in (refused when NODE_ENV=production)' })
  @ZodResponse(
    200,
    z.object({ user: userOut, csrf_token: z.string() }),
    'Signed in; session cookie set',
  )
  async devLogin(
    @ZodBody(devLoginBody, { login: 'octocat' }) body: z.infer<typeof devLoginBody>,
    @Req() req: FastifyRequest,
    @Res() reply: FastifyReply,
  ): Promise<void> {
    if (!this.config.auth.devLoginEnabled) throw notFound('Development sign-in');
    const user = await this.auth.upsertDevUser(body.login);
    const session = await this.startSession(reply, user.id);
    // HTML forms get a redirect; API clients get JSON with the CSRF token.
    if (String(req.headers['content-type']).startsWith('application/x-www-form-urlencoded')) {
      await reply.redirect(safeReturnTo(body.return_to), 303);
      return;
    }
    await reply.send({ user: presentUser(user), csrf_token: session.csrfToken });
  }

  @Post('auth/logout')
  @HttpCode(204)
  @ApiOperation({ summary: 'End the browser session' })
  async logout(@CurrentActor() actor: Actor, @Res() reply: FastifyReply): Promise<void> {
    if (actor.sessionId) await this.auth.endSession(actor.sessionId);
    await reply.clearCookie(SESSION_COOKIE, { path: '/' }).status(204).send();
  }

  /**
   * Browser sign-in for the CLI: the CLI listens on localhost and opens this
   * page; once the user approves, a fresh token is handed to the CLI's
   * callback together with the CLI's own `state`, which it checks.
   */
  @Public()
  @Get('auth/cli')
  @ApiOperation({ summary: 'CLI browser sign-in: approval page (redirects to sign-in first)' })
  async cliLoginPage(
    @ZodQuery(cliLoginQuery) query: z.infer<typeof cliLoginQuery>,
    @Req() req: FastifyRequest & AuthenticatedRequest,
    @Res() reply: FastifyReply,
  ): Promise<void> {
    const here = `/auth/cli?${new URLSearchParams({ callback: query.callback, state: query.state }).toString()}`;
    if (!req.actor || req.actor.via !== 'session') {
      await reply.redirect(`/login?return_to=${encodeURIComponent(here)}`, 302);
      return;
    }
    const body = `<h1>Sign in the meltano-cloud CLI?</h1>
      <p>The command line on this computer asks to act as <b>${escapeHtml(req.actor.user.login)}</b>.
      A new API token will be created and sent to <code>${escapeHtml(query.callback)}</code>.</p>
      <form method="post" action="/auth/cli">
        <input type="hidden" name="callback" value="${escapeHtml(query.callback)}">
        <input type="hidden" name="state" value="${escapeHtml(query.state)}">
        <input type="hidden" name="csrf_token" value="${escapeHtml(req.actor.csrfToken ?? '')}">
        <button type="submit">Authorize</button></form>`;
    await reply.type('text/html').send(htmlPage('Authorize the CLI', body));
  }

  @Public()
  @Post('auth/cli')
  @AcceptsFormBody()
  @ApiExcludeEndpoint()
  async cliLoginApprove(
    @Req() req: FastifyRequest & AuthenticatedRequest,
    @Res() reply: FastifyReply,
  ): Promise<void> {
    const form = new ZodValidationPipe(
      cliLoginQuery.extend({ csrf_token: z.string() }),
      'body',
    ).transform(req.body);
    const actor = req.actor;
    if (
      !actor ||
      actor.via !== 'session' ||
      !actor.csrfToken ||
      !safeEqual(form.csrf_token, actor.csrfToken)
    ) {
      throw new ProblemException(
        HttpStatus.FORBIDDEN,
        'csrf',
        'Open the authorization page again from the CLI.',
      );
    }
    const ua = req.headers['user-agent'];
    const { token } = await this.auth.createApiToken(
      actor.user.id,
      `CLI sign-in (${String(ua ?? 'browser').slice(0, 60)})`,
      90,
    );
    const target = new URL(form.callback);
    target.searchParams.set('token', token);
    target.searchParams.set('state', form.state);
    await reply.redirect(target.toString(), 303);
  }

  @Get('me')
  @ApiTags('me')
  @ApiOperation({
    summary: 'The signed-in user, their organizations and (for browser sessions) the CSRF token',
  })
  async me(@CurrentActor() actor: Actor) {
    return {
      user: presentUser(actor.user),
      authenticated_by: actor.via,
      ...(actor.csrfToken ? { csrf_token: actor.csrfToken } : {}),
    };
  }

  @Get('me/tokens')
  @ApiTags('me')
  @ApiOperation({ summary: 'My personal API tokens (never their values)' })
  @ZodResponse(200, z.object({ results: z.array(tokenOut) }), 'Tokens')
  async listTokens(@CurrentActor() actor: Actor) {
    return { results: (await this.auth.listApiTokens(actor.user.id)).map(presentToken) };
  }

  @Post('me/tokens')
  @ApiTags('me')
  @ApiOperation({
    summary: 'Create a personal API token; its value is shown only in this response',
  })
  @ZodResponse(201, createdTokenOut, 'Created')
  async createToken(
    @CurrentActor() actor: Actor,
    @ZodBody(createTokenBody, { name: 'ci', expires_in_days: 90 })
    body: z.infer<typeof createTokenBody>,
  ) {
    const { token, row } = await this.auth.createApiToken(
      actor.user.id,
      body.name,
      body.expires_in_days,
    );
    return { ...presentToken(row), token };
  }

  @Delete('me/token')
  @ApiTags('me')
  @HttpCode(204)
  @ApiOperation({
    summary:
      'Revoke the API token making this request (the CLI’s logout); 409 for a browser session',
  })
  async revokeCurrentToken(@CurrentActor() actor: Actor): Promise<void> {
    if (!actor.tokenId)
      throw conflict('This request is not authenticated by an API token; sign out instead.');
    await this.auth.revokeApiToken(actor.user.id, actor.tokenId);
  }

  @Delete('me/tokens/:tokenId')
  @ApiTags('me')
  @HttpCode(204)
  @ApiOperation({ summary: 'Revoke a token' })
  async revokeToken(
    @CurrentActor() actor: Actor,
    @ZodParam('tokenId', z.uuid()) tokenId: string,
  ): Promise<void> {
    await this.auth.revokeApiToken(actor.user.id, tokenId);
  }

  private async startSession(reply: FastifyReply, userId: string) {
    const session = await this.auth.createSession(userId);
    void reply.setCookie(SESSION_COOKIE, session.token, {
      httpOnly: true,
      sameSite: 'lax',
      secure: this.config.isProduction,
      path: '/',
      expires: session.expiresAt,
    });
    return session;
  }
}

// The Express app: request ids and logs (credentials redacted), security headers, input no route
// could take refused once for all, JSON parsing with a size limit, auth, shared rate limits, the
// routes, 405s and one error mapper. Routes translate HTTP to services; no business rule lives here.
import { randomUUID } from 'node:crypto';
import { createRequire } from 'node:module';
import type { Client } from '@temporalio/client';
import cookieParser from 'cookie-parser';
import express from 'express';
import { pinoHttp } from 'pino-http';
import { sql, type DatabasePool } from 'slonik';
import type { Config } from '../platform/env.ts';
import { redactRequest, redactResponse, type Logger } from '../platform/logger.ts';
import { checkTemporal } from '../platform/temporal.ts';
import { createAuthenticator, purposeKey, type Authenticator } from './auth.ts';
import { errorHandler, notFoundRoute } from './errors.ts';
import { openApiDocument, REFERENCE_INIT, REFERENCE_PAGE } from './openapi.ts';
import { mountRoutes, type RouteDef } from './route.ts';
import { activationRoutes } from './routes/activations.ts';
import { edgeRoutes } from './routes/edges.ts';
import { fraudRoutes } from './routes/fraud.ts';
import { paymentRoutes } from './routes/payments.ts';
import { cancellationRoutes } from './routes/cancellations.ts';
import { payoutRoutes } from './routes/payouts.ts';
import { createStripe } from '../platform/stripe.ts';
import { healthRoutes } from './routes/health.ts';
import { signupRoutes } from './routes/signups.ts';
import { inviteCodeRoutes } from './routes/invite-codes.ts';
import { partnerRoutes } from './routes/partners.ts';
import { referralRoutes } from './routes/referrals.ts';
import { listingRoutes } from './routes/listings.ts';
import { tenantRoutes } from './routes/tenants.ts';
import { userRoutes } from './routes/users.ts';
import { waitlistRoutes } from './routes/waitlist.ts';
import { creditRoutes } from './routes/credits.ts';
import { waveRoutes } from './routes/waves.ts';
import { launchRoutes } from './routes/launch.ts';
import { shareRoutes } from './routes/share.ts';
import { statsRoutes } from './routes/stats.ts';
import { createRateLimiter } from './rate-limit.ts';
import { referrerFromQuery, SECURE_COOKIES_SETTING } from './referrer-cookie.ts';
import { methodNotAllowed, refuseNulInBody, refuseUnreadablePath, securityHeaders } from './request-guards.ts';
import { sessionRoutes } from './routes/sessions.ts';
import { whopRoutes } from './routes/whop.ts';
import { createWhop } from '../platform/whop.ts';

export type AppDeps = { config: Config; db: DatabasePool; temporal: Client; log: Logger };

export const BODY_LIMIT = '100kb';
const REQUEST_ID = /^[\w.:-]{1,128}$/;

/** The authenticator of the app: API keys, and user tokens checked against PostgreSQL. */
export function appAuthenticator({ config, db }: Pick<AppDeps, 'config' | 'db'>): Authenticator {
  return createAuthenticator(config.apiKeys, config.sessionSecret, {
    db,
    publicBaseUrl: config.publicBaseUrl,
    allowedOrigins: config.allowedOrigins,
  });
}

export function apiRoutes({ config, db, temporal, log }: AppDeps, auth = appAuthenticator({ config, db })): RouteDef[] {
  const { activationWindowDays, flavors, publicBaseUrl } = config;
  const handoff = { ...config.handoff, key: purposeKey(config.sessionSecret, 'handoff') };
  return [
    ...healthRoutes([
      { name: 'postgres', check: async () => void (await db.oneFirst(sql.unsafe`SELECT 1`)) },
      { name: 'temporal', check: () => checkTemporal(temporal) },
    ]),
    ...signupRoutes(
      {
        db,
        activationWindowDays,
        flavors,
        fraud: config.fraud,
        links: config.linkGrants,
        seatInvitesPerUser: config.seatInvitesPerUser,
        publicBaseUrl,
        handoff,
      },
      auth,
    ),
    ...sessionRoutes(auth),
    ...activationRoutes({ db, temporal, taskQueue: config.temporal.taskQueue, fraud: config.fraud }),
    ...paymentRoutes({ db, fraud: config.fraud }),
    ...cancellationRoutes({ db }),
    ...edgeRoutes({ db, temporal, log }),
    ...payoutRoutes({
      db,
      temporal,
      taskQueue: config.temporal.taskQueue,
      stripe: createStripe(config.stripe),
      webhookSecret: config.stripe.webhookSecret,
    }),
    ...inviteCodeRoutes({
      db,
      activationWindowDays,
      flavors,
      publicBaseUrl,
      personalCodes: config.personalCodes,
      seatInvitesPerUser: config.seatInvitesPerUser,
    }),
    ...partnerRoutes({ db, publicBaseUrl, maxTotalRewardBps: config.commission.maxTotalRewardBps }),
    ...referralRoutes({
      db,
      activationWindowDays,
      trackWindowMinutes: config.trackWindowMinutes,
      landingPage: `${publicBaseUrl.replace(/\/+$/, '')}/`,
      handoff,
    }),
    ...listingRoutes({ db, publicBaseUrl }),
    ...tenantRoutes({ db, subAccountCap: config.subAccountCap }),
    ...userRoutes({ db }),
    ...waitlistRoutes({ db }),
    ...creditRoutes({ db }),
    ...waveRoutes({ db, waves: config.waves, release: { temporal, taskQueue: config.temporal.taskQueue, log } }),
    ...launchRoutes({ db, taskQueue: config.temporal.taskQueue }),
    ...fraudRoutes({ db }),
    ...shareRoutes({ db, publicBaseUrl }),
    ...statsRoutes({ db }),
    ...whopRoutes({ db, whop: createWhop(config.whop), commission: config.commission }),
  ];
}

export function createApp(deps: AppDeps): express.Express {
  const { config } = deps;
  const auth = appAuthenticator(deps);
  const routes = apiRoutes(deps, auth);
  const document = openApiDocument(routes, { title: 'Referral graph API', version: '1' });
  const app = express();
  app.disable('x-powered-by');
  // Forwarded addresses count only from the proxies TRUST_PROXY names (off by default): req.ip is
  // what rate limits and fraud signals key on, and a client must not choose it.
  app.set('trust proxy', config.trustProxy);
  app.set(SECURE_COOKIES_SETTING, config.publicBaseUrl.startsWith('https:'));
  app.use(
    pinoHttp({
      logger: deps.log,
      serializers: { req: redactRequest, res: redactResponse },
      genReqId: (req, res) => {
        const incoming = req.headers['x-request-id'];
        const id = typeof incoming === 'string' && REQUEST_ID.test(incoming) ? incoming : randomUUID();
        res.setHeader('X-Request-Id', id);
        return id;
      },
      autoLogging: { ignore: (req) => req.url === '/healthz' || req.url === '/readyz' },
    }),
  );
  app.use(securityHeaders(config.publicBaseUrl));
  app.use(refuseUnreadablePath);
  // Webhook signatures are over the exact bytes received: keep them for the webhook routes.
  app.use(
    express.json({
      limit: BODY_LIMIT,
      strict: true,
      verify: (req, _res, buf) => {
        if (req.url?.startsWith('/webhooks/'))
          (req as express.Request & { rawBody?: Buffer }).rawBody = Buffer.from(buf);
      },
    }),
  );
  app.use(refuseNulInBody);
  // Signed cookies get a key of their own: the referrer cookie signs text the visitor chooses.
  app.use(cookieParser(purposeKey(config.sessionSecret, 'signed-cookie').toString('base64')));
  app.use(referrerFromQuery);

  app.get('/openapi.json', (_req, res) => void res.json(document));
  const swaggerUiDir = createRequire(import.meta.url)('swagger-ui-dist').getAbsoluteFSPath() as string;
  app.use('/docs/assets', express.static(swaggerUiDir, { index: false }));
  app.get('/docs/init.js', (_req, res) => void res.type('application/javascript').send(REFERENCE_INIT));
  app.get('/docs', (_req, res) => void res.type('html').send(REFERENCE_PAGE));

  const router = express.Router();
  mountRoutes(router, routes, {
    auth,
    db: deps.db,
    limiter: createRateLimiter(deps.db),
    limits: {
      perAddress: config.rateLimitPerMinute,
      perUser: config.rateLimitUserPerMinute,
      perKey: config.rateLimitKeyPerMinute,
    },
  });
  app.use(router);
  app.use(
    methodNotAllowed([
      ...routes.map((r) => ({ path: r.path, methods: [r.method] })),
      ...['/openapi.json', '/docs', '/docs/init.js', '/docs/assets/*'].map((path) => ({ path, methods: ['get'] })),
    ]),
  );
  app.use(notFoundRoute);
  app.use(errorHandler);
  return app;
}

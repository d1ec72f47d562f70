/**
 * The example app: @auth/express with @auth/pg-adapter, wrapped in withTokenSync (TOKEN_SYNC=off runs the
 * bare adapter, as a control that shows the stale token and the 401).
 *
 *   GET /               the signed-in user's accounts: shortened tokens, expiry, last refresh
 *   GET /api/userinfo   calls the provider's userinfo with the access token (getAccessToken refreshes it)
 *   /auth/*             Auth.js (sign-in, callback, sign-out)
 */
import { ExpressAuth, getSession, type ExpressAuthConfig } from "@auth/express"
import PostgresAdapter from "@auth/pg-adapter"
import { RefreshTokenError, withTokenSync } from "authjs-adapter-refresh"
import express, { type Express, type Request } from "express"
import pg from "pg"

import { chooseProvider } from "./config.js"
import {
  ACCOUNT_TABLE_HEAD,
  PAGE_STYLE,
  accountRows,
  escapeHtml,
  recordActivity,
  shorten,
  type StoredAccount,
} from "./token-state.js"

export interface ExampleApp {
  app: Express
  /** true: withTokenSync; false: the bare adapter (control). */
  tokenSync: boolean
  close(): Promise<void>
}

export function createApp(env: NodeJS.ProcessEnv = process.env): ExampleApp {
  const databaseUrl = env.DATABASE_URL?.trim()
  if (!databaseUrl) throw new Error("DATABASE_URL is not set (pnpm dev starts an embedded database and sets it)")
  const pool = new pg.Pool({ connectionString: databaseUrl })
  const { provider, userinfoUrl } = chooseProvider(env)
  const tokenSync = env.TOKEN_SYNC !== "off"

  const bare = PostgresAdapter(pool)
  // The one change this library asks for: wrap the adapter, hand Auth.js its events.
  const adapter = withTokenSync(bare, pool, {
    refresh: { providers: [provider], skewSeconds: Number(env.TOKEN_REFRESH_SKEW_SECONDS) || 60 },
  })
  const authConfig: ExpressAuthConfig = {
    ...(tokenSync ? { adapter, events: adapter.events } : { adapter: bare }),
    providers: [provider],
    trustHost: true,
    callbacks: {
      // Database sessions: put the user id into the session so the routes can look the account up.
      session: ({ session, user }) => ({ ...session, user: { ...session.user, id: user.id } }),
    },
  }

  const storedAccounts = async (userId: string): Promise<StoredAccount[]> => {
    const { rows } = await pool.query<StoredAccount>(
      `SELECT provider, "providerAccountId", access_token, refresh_token, expires_at FROM accounts
        WHERE "userId" = $1 AND provider = $2 ORDER BY id`,
      [userId, provider.id],
    )
    return rows
  }

  const sessionUserId = async (req: Request): Promise<string | undefined> => {
    const session = await getSession(req, authConfig)
    const id = (session?.user as { id?: unknown } | undefined)?.id
    return id === undefined || id === null ? undefined : String(id)
  }

  const app = express()
  app.set("trust proxy", true)
  app.use("/auth", ExpressAuth(authConfig))

  app.get("/api/userinfo", async (req, res, next) => {
    try {
      const userId = await sessionUserId(req)
      if (!userId) {
        res.status(401).json({ error: "not signed in" })
        return
      }
      let accessToken: string | null | undefined
      let refreshed = false
      let providerAccountId: string | undefined
      if (tokenSync) {
        try {
          const result = await adapter.getAccessToken({ userId, provider: provider.id })
          accessToken = result.accessToken
          refreshed = result.refreshed
          providerAccountId = result.account.providerAccountId
        } catch (error) {
          if (error instanceof RefreshTokenError) {
            res.status(401).json({ error: "the provider refused the refresh token: sign in again", code: error.code })
            return
          }
          throw error
        }
      } else {
        // Control: what an app without the wrapper does, use the stored token as it is.
        const [account] = await storedAccounts(userId)
        accessToken = account?.access_token
        providerAccountId = account?.providerAccountId
      }
      if (!accessToken || !providerAccountId) {
        res.status(404).json({ error: "no access token stored for this account" })
        return
      }
      const upstream = await fetch(await userinfoUrl(), {
        headers: {
          authorization: `Bearer ${accessToken}`,
          accept: "application/json",
          "user-agent": "authjs-adapter-refresh-example",
        },
        signal: AbortSignal.timeout(10_000),
      })
      const body = (await upstream.json().catch(() => ({}))) as Record<string, unknown>
      recordActivity(provider.id, providerAccountId, {
        ...(refreshed ? { lastRefreshAt: new Date() } : {}),
        lastUserinfo: { status: upstream.status, at: new Date() },
      })
      res.status(upstream.status).json({
        status: upstream.status,
        tokenSync,
        refreshed,
        accessToken: shorten(accessToken),
        userinfo: upstream.ok ? body : { error: body.error ?? upstream.statusText },
      })
    } catch (error) {
      next(error)
    }
  })

  app.get("/", async (req, res, next) => {
    try {
      const session = await getSession(req, authConfig)
      const userId = await sessionUserId(req)
      const mode = tokenSync
        ? `<span class="mode" id="mode">withTokenSync</span>`
        : `<span class="mode control" id="mode">control: bare adapter (TOKEN_SYNC=off)</span>`
      let body: string
      if (!session?.user || !userId) {
        body =
          `<p id="signed-out">Not signed in.</p><p><a class="button" ` +
          `id="signin" href="/auth/signin">Sign in</a></p>`
      } else {
        const accounts = await storedAccounts(userId)
        body =
          `<p id="user">Signed in as <b>${escapeHtml(session.user.name ?? "")}</b> ` +
          `(${escapeHtml(session.user.email ?? "")}), user id ${escapeHtml(userId)}</p>` +
          `<table id="accounts">${ACCOUNT_TABLE_HEAD}\n${accountRows(accounts)}</table>` +
          `<p><a class="button" id="call-userinfo" href="/api/userinfo">GET /api/userinfo</a>` +
          `<a class="button" id="signout" href="/auth/signout">Sign out</a></p>`
      }
      res
        .type("html")
        .send(
          `<!DOCTYPE html><html><head><meta charset="utf-8"><title>@auth/express ` +
            `+ withTokenSync</title><style>${PAGE_STYLE}</style></head>` +
            `<body><h1>@auth/express example</h1><p>Adapter: ${mode} &middot; ` +
            `provider: ${escapeHtml(provider.name)}</p>${body}</body></html>`,
        )
    } catch (error) {
      next(error)
    }
  })

  return { app, tokenSync, close: () => pool.end() }
}

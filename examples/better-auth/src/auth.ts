/**
 * The Better Auth instance: Better Auth 1.7 with its built-in Kysely adapter on a pg Pool, `genericOAuth` for
 * an OpenID provider (the repository's local one under `pnpm dev`), and this library's `tokenSync` plugin
 * (lease mode). TOKEN_SYNC=off leaves the plugin out: plain Better Auth, as a control.
 */
import { readFile } from "node:fs/promises"
import { betterAuth, type BetterAuthOptions } from "better-auth"
import { getMigrations } from "better-auth/db/migration"
import { genericOAuth } from "better-auth/plugins/generic-oauth"
import { tokenSync } from "authjs-adapter-refresh/better-auth"
import pg from "pg"

/** The provider's id: Better Auth's `providerId`, and the callback `/api/auth/callback/oidc`. */
export const PROVIDER_ID = "oidc"

function required(env: NodeJS.ProcessEnv, name: string): string {
  const value = env[name]?.trim()
  if (!value) throw new Error(`${name} is not set (pnpm dev starts the local services and sets it)`)
  return value
}

export interface ExampleSettings {
  databaseUrl: string
  issuer: string
  clientId: string
  clientSecret: string
  /** The token endpoint, when not the discovered one (OIDC_TOKEN_URL, e.g. a proxy in front of it). */
  tokenUrl: string | undefined
  secret: string
  baseURL: string
  /** false: TOKEN_SYNC=off, plain Better Auth. */
  tokenSync: boolean
  skewSeconds: number
}

export function settingsFrom(env: NodeJS.ProcessEnv = process.env): ExampleSettings {
  const port = Number(env.PORT) || 3000
  return {
    databaseUrl: required(env, "DATABASE_URL"),
    issuer: required(env, "OIDC_ISSUER").replace(/\/$/, ""),
    clientId: required(env, "OIDC_CLIENT_ID"),
    clientSecret: required(env, "OIDC_CLIENT_SECRET"),
    tokenUrl: env.OIDC_TOKEN_URL?.trim() || undefined,
    secret: env.BETTER_AUTH_SECRET?.trim() || required(env, "AUTH_SECRET"),
    baseURL: env.BETTER_AUTH_URL?.trim() || `http://127.0.0.1:${port}`,
    tokenSync: env.TOKEN_SYNC !== "off",
    skewSeconds: Number(env.TOKEN_REFRESH_SKEW_SECONDS) || 60,
  }
}

function authOptions(pool: pg.Pool, settings: ExampleSettings) {
  const { issuer, clientId, clientSecret, tokenUrl } = settings
  return {
    database: pool,
    secret: settings.secret,
    baseURL: settings.baseURL,
    telemetry: { enabled: false },
    plugins: [
      genericOAuth({
        config: [
          {
            providerId: PROVIDER_ID,
            discoveryUrl: `${issuer}/.well-known/openid-configuration`,
            clientId,
            clientSecret,
            ...(tokenUrl ? { tokenUrl } : {}),
            authentication: "basic",
            // offline_access with prompt=consent: the provider issues a refresh token.
            scopes: ["openid", "email", "profile", "offline_access"],
            prompt: "consent",
          },
        ],
      }),
      // The one addition this library asks for: the provider again, as the refresh engine reads it.
      ...(settings.tokenSync
        ? [
            tokenSync({
              refresh: {
                providers: [
                  {
                    id: PROVIDER_ID,
                    type: "oidc",
                    issuer,
                    clientId,
                    clientSecret,
                    ...(tokenUrl ? { token: tokenUrl } : {}),
                  },
                ],
                skewSeconds: settings.skewSeconds,
              },
            }),
          ]
        : []),
    ],
  } satisfies BetterAuthOptions
}

export function createAuth(pool: pg.Pool, settings: ExampleSettings) {
  return betterAuth(authOptions(pool, settings))
}

export type ExampleAuth = ReturnType<typeof createAuth>

/**
 * The schema: Better Auth's tables through Better Auth's own migration API (what `npx @better-auth/cli
 * migrate` runs), then the library's lease table (schema.sql, idempotent).
 */
export async function migrate(pool: pg.Pool, settings: ExampleSettings): Promise<void> {
  const { runMigrations } = await getMigrations(authOptions(pool, settings))
  await runMigrations()
  await pool.query(await readFile(new URL("../schema.sql", import.meta.url), "utf8"))
}

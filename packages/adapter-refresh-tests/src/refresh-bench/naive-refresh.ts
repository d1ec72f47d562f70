/**
 * The naive refresh every known implementation does (the Auth.js refresh-token-rotation guide, Better
 * Auth's getAccessToken): read the account, if expired POST the refresh grant, write the result back.
 * No lock, no single-flight. Kept here only as the CONTROL of the storm test and the benchmark.
 */
import type pg from "pg"
import { SCHEMA_TABLES, type PgCell } from "../fixtures/databases.js"
import type { StormProviderSettings } from "./storm-protocol.js"

export class NaiveRefreshError extends Error {
  constructor(
    readonly oauthError: string,
    readonly status: number,
  ) {
    super(`naive refresh failed: HTTP ${status} ${oauthError}`)
    this.name = "NaiveRefreshError"
  }
}

export async function naiveGetAccessToken(
  pool: pg.Pool,
  cell: PgCell,
  provider: StormProviderSettings,
  key: { provider: string; providerAccountId: string },
  skewSeconds: number,
): Promise<string> {
  const { accounts } = SCHEMA_TABLES[cell]
  const where = `"provider" = $1 AND "providerAccountId" = $2`
  const { rows } = await pool.query(`SELECT access_token, refresh_token, expires_at FROM ${accounts} WHERE ${where}`, [
    key.provider,
    key.providerAccountId,
  ])
  const row = rows[0] as { access_token: string; refresh_token: string; expires_at: string | number } | undefined
  if (!row) throw new Error("naive refresh: no account")
  if (Number(row.expires_at) * 1000 - skewSeconds * 1000 > Date.now()) return row.access_token

  const credentials = `${encodeURIComponent(provider.clientId)}:${encodeURIComponent(provider.clientSecret)}`
  const response = await fetch(provider.tokenEndpoint, {
    method: "POST",
    headers: {
      "content-type": "application/x-www-form-urlencoded",
      authorization: `Basic ${Buffer.from(credentials).toString("base64")}`,
    },
    body: new URLSearchParams({ grant_type: "refresh_token", refresh_token: row.refresh_token }),
  })
  const body = (await response.json()) as {
    access_token?: string
    refresh_token?: string
    expires_in?: number
    error?: string
  }
  if (!response.ok || !body.access_token) throw new NaiveRefreshError(body.error ?? "unknown", response.status)
  await pool.query(`UPDATE ${accounts} SET access_token = $3, refresh_token = $4, expires_at = $5 WHERE ${where}`, [
    key.provider,
    key.providerAccountId,
    body.access_token,
    body.refresh_token ?? row.refresh_token,
    Math.floor(Date.now() / 1000) + (body.expires_in ?? 0),
  ])
  return body.access_token
}

/**
 * Helpers for the encryption-at-rest tests: everything the database holds, as text, read two ways (a
 * COPY of every table, and `pg_dump` when a pg_dump binary of the server's major version is present),
 * and a random key list in the environment-variable form the README shows.
 */
import { execFile } from "node:child_process"
import { randomBytes } from "node:crypto"
import { existsSync } from "node:fs"
import pg from "pg"

/** `"<id>:<base64>,..."` with fresh random 32-byte keys, current first. */
export function randomKeyString(...ids: string[]): string {
  return ids.map((id) => `${id}:${randomBytes(32).toString("base64")}`).join(",")
}

/** Every row of every table of the public schema, as PostgreSQL's text form of the row. */
export async function copyEveryTable(pool: pg.Pool): Promise<string> {
  const tables = await pool.query<{ name: string }>(
    `SELECT quote_ident(tablename) AS name FROM pg_tables WHERE schemaname = 'public' ORDER BY 1`,
  )
  const parts: string[] = []
  for (const { name } of tables.rows) {
    const rows = await pool.query<{ row: string }>(`SELECT t::text AS row FROM ${name} t`)
    parts.push(`-- ${name}`, ...rows.rows.map((r) => r.row))
  }
  return parts.join("\n")
}

/** A pg_dump binary whose major version matches the server's, or undefined. */
export async function findPgDump(pool: pg.Pool): Promise<string | undefined> {
  const major = Math.floor(Number((await pool.query<{ v: string }>("SHOW server_version_num")).rows[0]!.v) / 10_000)
  const candidate = `/usr/lib/postgresql/${major}/bin/pg_dump`
  return existsSync(candidate) ? candidate : undefined
}

/** `pg_dump` of the whole database (schema and data), bounded to 60 s. */
export function pgDump(binary: string, databaseUrl: string): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(
      binary,
      ["--no-owner", `--dbname=${databaseUrl}`],
      { timeout: 60_000, maxBuffer: 64 * 1024 * 1024 },
      (error, stdout) => (error ? reject(new Error(`pg_dump failed: ${error.message}`)) : resolve(stdout)),
    )
  })
}

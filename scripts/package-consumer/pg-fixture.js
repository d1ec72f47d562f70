// A conformance-kit fixture for @auth/pg-adapter, in plain JavaScript: the kit's workers run it with no loader.
import { readFile } from "node:fs/promises"
import PostgresAdapter from "@auth/pg-adapter"
import pg from "pg"

export async function prepareDatabase(url) {
  const client = new pg.Client({ connectionString: url })
  await client.connect()
  try {
    await client.query(await readFile(new URL("./pg.sql", import.meta.url), "utf8"))
  } finally {
    await client.end()
  }
}

export async function createFixture(url) {
  const pool = new pg.Pool({ connectionString: url })
  pool.on("error", () => {})
  return {
    adapter: PostgresAdapter(pool),
    db: pool,
    async accountRows(key) {
      const result = await pool.query(`SELECT * FROM accounts WHERE provider = $1 AND "providerAccountId" = $2`, [
        key.provider,
        key.providerAccountId,
      ])
      return result.rows
    },
    async orphanAccountsOf(userId) {
      await pool.query(`DELETE FROM users WHERE id = $1`, [userId]) // the documented schema has no foreign keys
    },
    close: () => pool.end(),
  }
}

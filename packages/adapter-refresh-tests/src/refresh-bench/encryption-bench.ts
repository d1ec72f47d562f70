/**
 * `pnpm bench` section: what encryption at rest (tokenEncryption, AES-256-GCM) adds per sign-in sync and
 * per fresh getAccessToken, measured in the same run, on the same database and pg Pool, with and
 * without the codec, calls interleaved so that drift hits both sides alike. The pg store is the
 * fastest path, so the ratio there is the largest it gets. Fresh reads are measured with the codec's
 * decrypted-value cache (the steady state of a process calling getAccessToken for a row) and without it.
 */
import { randomBytes, randomUUID } from "node:crypto"
import type { AdapterAccount } from "@auth/core/adapters"
import { tokenEncryption, withTokenSync } from "authjs-adapter-refresh"
import { createDatabase } from "../harness/postgres.js"
import { applySchema, createFixture } from "../fixtures/databases.js"
import { percentile } from "./run-storm.js"

const fmt = (n: number, digits = 3) => (Number.isFinite(n) ? n.toFixed(digits) : "n/a")
/** Token shapes of a real OIDC sign-in: opaque access and refresh tokens, a ~1 kB signed id token. */
const tokens = () => ({
  access_token: randomBytes(32).toString("base64url"),
  refresh_token: randomBytes(32).toString("base64url"),
  id_token: `eyJ${randomBytes(760).toString("base64url")}`,
  expires_at: Math.floor(Date.now() / 1000) + 3600,
})

interface Pair {
  plain: number
  encrypted: number
}

async function interleaved(n: number, plain: () => Promise<unknown>, encrypted: () => Promise<unknown>): Promise<Pair> {
  const times: { plain: number[]; encrypted: number[] } = { plain: [], encrypted: [] }
  const sides: Array<[keyof typeof times, () => Promise<unknown>]> = [
    ["plain", plain],
    ["encrypted", encrypted],
  ]
  for (let i = 0; i < n; i++) {
    for (const [side, run] of i % 2 === 0 ? sides : [...sides].reverse()) {
      const t = performance.now()
      await run()
      times[side].push(performance.now() - t)
    }
  }
  return { plain: percentile(times.plain, 50), encrypted: percentile(times.encrypted, 50) }
}

/** Returns the section's lines (a markdown table). */
export async function encryptionOverhead(adminUrl: string): Promise<string[]> {
  const db = await createDatabase(adminUrl, "bench_encryption")
  await applySchema("pg", db.url)
  const fixture = await createFixture("pg", db.url)
  try {
    const keyString = `bench:${randomBytes(32).toString("base64")}`
    const codec = tokenEncryption({ keys: keyString })
    const provider = {
      id: "bench-oidc",
      type: "oidc" as const,
      issuer: "http://127.0.0.1:9",
      clientId: "c",
      clientSecret: "s",
    }
    const plain = withTokenSync(fixture.adapter, fixture.db as object, { refresh: { providers: [provider] } })
    const encrypted = withTokenSync(fixture.adapter, fixture.db as object, {
      codec,
      refresh: { providers: [provider] },
    })
    // The same keys without the decrypted-value cache: every read decrypts (a row another process wrote).
    const uncached = tokenEncryption({ keys: keyString, cacheSize: 0 })
    const encryptedCold = withTokenSync(fixture.adapter, fixture.db as object, {
      codec: uncached,
      refresh: { providers: [provider] },
    })
    const link = async (adapter: typeof plain) => {
      const userId = await fixture.insertUser(`${randomUUID()}@example.test`)
      const key = { provider: provider.id, providerAccountId: randomUUID() }
      await adapter.linkAccount({ ...key, userId, type: "oidc", ...tokens() } as AdapterAccount)
      return { userId, key }
    }
    const a = await link(plain)
    const b = await link(encrypted)

    // A returning sign-in's sync: new access, refresh and id tokens written through the lock.
    const warm = 200
    await interleaved(
      warm,
      () => plain.syncAccount({ ...a.key, ...tokens() }),
      () => encrypted.syncAccount({ ...b.key, ...tokens() }),
    )
    const N = 1500
    const signIn = await interleaved(
      N,
      () => plain.syncAccount({ ...a.key, ...tokens() }),
      () => encrypted.syncAccount({ ...b.key, ...tokens() }),
    )
    // getAccessToken on a fresh token: one SELECT, then (with the codec) three decryptions.
    const askA = { userId: a.userId, provider: provider.id }
    const askB = { userId: b.userId, provider: provider.id }
    await interleaved(
      warm,
      () => plain.getAccessToken(askA),
      () => encrypted.getAccessToken(askB),
    )
    const fresh = await interleaved(
      N * 2,
      () => plain.getAccessToken(askA),
      () => encrypted.getAccessToken(askB),
    )
    await interleaved(
      warm,
      () => plain.getAccessToken(askA),
      () => encryptedCold.getAccessToken(askB),
    )
    const freshCold = await interleaved(
      N * 2,
      () => plain.getAccessToken(askA),
      () => encryptedCold.getAccessToken(askB),
    )

    // The codec alone, per call (3 fields), to show where the difference comes from.
    const sample = tokens()
    const key = b.key
    const M = 20_000
    let t = performance.now()
    for (let i = 0; i < M; i++) for (const f of uncached.fields) uncached.encode(sample[f as "access_token"], f, key)
    const encodeUs = ((performance.now() - t) / M) * 1000
    const sealed = uncached.fields.map((f) => [f, uncached.encode(sample[f as "access_token"], f, key)] as const)
    t = performance.now()
    for (let i = 0; i < M; i++) for (const [f, v] of sealed) uncached.decode(v, f, key)
    const decodeUs = ((performance.now() - t) / M) * 1000

    const row = (name: string, p: Pair) =>
      `| ${name} | ${fmt(p.plain)} ms | ${fmt(p.encrypted)} ms | ` +
      `${fmt((p.encrypted - p.plain) * 1000, 0)} µs | ${fmt((p.encrypted / p.plain - 1) * 100, 1)}% |`
    return [
      `Encryption at rest (tokenEncryption, AES-256-GCM, 3 fields incl. a ~1 kB id ` +
        `token), pg store, medians of ${N} (sign-in) / ${N * 2} (fresh) interleaved calls`,
      "| operation | without codec | with codec | difference | overhead |",
      "|-----------|--------------:|-----------:|-----------:|---------:|",
      row("sign-in sync (syncAccount, all 3 tokens new)", signIn),
      row("getAccessToken, fresh token (row seen before by this process: decrypted-value cache)", fresh),
      row("getAccessToken, fresh token, cacheSize: 0 (every read decrypts)", freshCold),
      `codec alone (no cache): encrypt 3 fields ${fmt(encodeUs, 1)} ` +
        `µs, decrypt 3 fields ${fmt(decodeUs, 1)} µs per call`,
    ]
  } finally {
    await fixture.close()
    await db.drop()
  }
}

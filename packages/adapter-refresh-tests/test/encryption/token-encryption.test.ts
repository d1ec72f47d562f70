import { describe, expect, test } from "@jest/globals"
import { randomBytes } from "node:crypto"
import { inspect } from "node:util"
import {
  EncryptionConfigError,
  TokenDecryptionError,
  tokenEncryption,
  type TokenDecryptionFailure,
} from "authjs-adapter-refresh"
import { ENVELOPE_MARK } from "authjs-adapter-refresh/internal"

// Pure unit tests of the codec (no database): envelope, associated data, rotation, key parsing.

const keyOld = randomBytes(32)
const keyNew = randomBytes(32)
const b64 = (key: Buffer) => key.toString("base64")
const account = { provider: "oidc", providerAccountId: "user-1" }
const token = `rt-${randomBytes(12).toString("hex")}`

function decryptionFailure(run: () => unknown): TokenDecryptionError {
  try {
    run()
  } catch (error) {
    expect(error).toBeInstanceOf(TokenDecryptionError)
    return error as TokenDecryptionError
  }
  throw new Error("expected a TokenDecryptionError")
}

function expectNoSecrets(error: unknown, secrets: string[]) {
  const text = `${inspect(error, { depth: 5 })} ${JSON.stringify(error)} ${String(error)}`
  for (const secret of secrets) expect(text).not.toContain(secret)
}

describe("tokenEncryption: AES-256-GCM envelope bound to its row and column", () => {
  const codec = tokenEncryption({ keys: [{ id: "2026-12", key: b64(keyNew) }] })

  test("encrypts into a versioned envelope naming the key, with a fresh nonce each time, and decrypts back", () => {
    const first = codec.encode(token, "refresh_token", account) as string
    const second = codec.encode(token, "refresh_token", account) as string
    expect(first.startsWith(`${ENVELOPE_MARK}v1:2026-12:`)).toBe(true)
    expect(first).not.toContain(token)
    expect(first).not.toBe(second)
    expect(codec.decode(first, "refresh_token", account)).toBe(token)
    expect(codec.keyIdOf(first)).toBe("2026-12")
    expect(codec.isCurrent(first)).toBe(true)
    expect(codec.fields).toEqual(["access_token", "refresh_token", "id_token"])
  })

  test.each([
    ["another providerAccountId", { ...account, providerAccountId: "user-2" }, "refresh_token"],
    ["another provider", { ...account, provider: "other" }, "refresh_token"],
    ["another column", account, "access_token"],
    // Length-prefixed associated data: moving characters between provider and id is another row.
    ["a shifted key boundary", { provider: "oidcu", providerAccountId: "ser-1" }, "refresh_token"],
  ])("a value copied to %s fails authentication", (_, otherAccount, otherField) => {
    const stored = codec.encode(token, "refresh_token", account) as string
    const error = decryptionFailure(() => codec.decode(stored, otherField, otherAccount))
    expect(error).toMatchObject({ code: "TOKEN_DECRYPTION_FAILED", reason: "authentication_failed", keyId: "2026-12" })
    expectNoSecrets(error, [token, stored, b64(keyNew)])
  })
  test("tampered, truncated, relabelled, wrong-key and unknown-key values fail with typed errors that leak nothing", () => {
    const stored = codec.encode(token, "refresh_token", account) as string
    const payloadAt = stored.lastIndexOf(":") + 1
    const flip = (text: string, at: number) => text.slice(0, at) + (text[at] === "A" ? "B" : "A") + text.slice(at + 1)
    const sameIdOtherKey = tokenEncryption({ keys: [{ id: "2026-12", key: randomBytes(32) }] })
    const otherKeys = tokenEncryption({ keys: [{ id: "2027-01", key: randomBytes(32) }] })
    const cases: [string, () => unknown, TokenDecryptionFailure][] = [
      [
        "ciphertext byte flipped",
        () => codec.decode(flip(stored, payloadAt + 20), "refresh_token", account),
        "authentication_failed",
      ],
      [
        "tag byte flipped",
        () => codec.decode(flip(stored, stored.length - 2), "refresh_token", account),
        "authentication_failed",
      ],
      [
        "truncated payload",
        () => codec.decode(stored.slice(0, stored.length - 6), "refresh_token", account),
        "authentication_failed",
      ],
      [
        "truncated to the header",
        () => codec.decode(stored.slice(0, payloadAt + 4), "refresh_token", account),
        "malformed",
      ],
      [
        "truncated inside the key id",
        () => codec.decode(stored.slice(0, payloadAt - 3), "refresh_token", account),
        "malformed",
      ],
      [
        "bad base64",
        () => codec.decode(`${stored.slice(0, payloadAt)}!!${stored.slice(payloadAt)}`, "refresh_token", account),
        "malformed",
      ],
      ["unknown version", () => codec.decode(stored.replace(":v1:", ":v9:"), "refresh_token", account), "malformed"],
      [
        "key id relabelled",
        () =>
          tokenEncryption({
            keys: [
              { id: "2026-12", key: keyNew },
              { id: "x", key: keyNew },
            ],
          }).decode(stored.replace(":2026-12:", ":x:"), "refresh_token", account),
        "authentication_failed",
      ],
      [
        "a different key under the same id",
        () => sameIdOtherKey.decode(stored, "refresh_token", account),
        "authentication_failed",
      ],
      ["a key id that is not configured", () => otherKeys.decode(stored, "refresh_token", account), "unknown_key"],
      ["no account given", () => codec.decode(stored, "refresh_token"), "missing_account"],
    ]
    for (const [name, run, reason] of cases) {
      const error = decryptionFailure(run)
      expect({ name, reason: error.reason, field: error.field }).toEqual({ name, reason, field: "refresh_token" })
      expectNoSecrets(error, [token, stored.slice(payloadAt), b64(keyNew)])
    }
  })

  test("a value without the envelope mark is a plaintext token from before encryption and is returned as is", () => {
    const legacy = "plain-refresh-token"
    expect(codec.decode(legacy, "refresh_token", account)).toBe(legacy)
    expect(codec.keyIdOf(legacy)).toBeNull()
    expect(codec.isCurrent(legacy)).toBe(false)
    // An ASCII token that merely looks like an envelope without the mark is plaintext too.
    expect(codec.decode("enc:v1:2026-12:abc", "refresh_token", account)).toBe("enc:v1:2026-12:abc")
  })

  test("non-ASCII and long values round-trip", () => {
    const value = `ünï-${"x".repeat(5000)}-😀`
    expect(codec.decode(codec.encode(value, "id_token", account) as string, "id_token", account)).toBe(value)
  })
})

describe("tokenEncryption: the decrypted-value cache never bypasses authentication", () => {
  test("a cached value read under another row or column, or altered, still fails; cacheSize 0 and bad sizes", () => {
    const cached = tokenEncryption({ keys: [{ id: "k1", key: keyNew }] })
    const stored = cached.encode(token, "refresh_token", account) // encode fills the cache
    expect(cached.decode(stored, "refresh_token", account)).toBe(token)
    expect(
      decryptionFailure(() => cached.decode(stored, "refresh_token", { ...account, providerAccountId: "user-2" }))
        .reason,
    ).toBe("authentication_failed")
    expect(decryptionFailure(() => cached.decode(stored, "access_token", account)).reason).toBe("authentication_failed")
    const altered = stored.slice(0, -3) + (stored.at(-3) === "A" ? "B" : "A") + stored.slice(-2)
    expect(decryptionFailure(() => cached.decode(altered, "refresh_token", account)).reason).toBe(
      "authentication_failed",
    )
    const uncached = tokenEncryption({ keys: [{ id: "k1", key: keyNew }], cacheSize: 0 })
    expect(uncached.decode(stored, "refresh_token", account)).toBe(token)
    for (const cacheSize of [-1, 1.5, Number.NaN]) {
      expect(() => tokenEncryption({ keys: [{ id: "k1", key: keyNew }], cacheSize })).toThrow(EncryptionConfigError)
    }
  })
})

describe("tokenEncryption: key rotation", () => {
  const before = tokenEncryption({ keys: `2026-06:${b64(keyOld)}` })
  const after = tokenEncryption({ keys: ` 2026-12:${b64(keyNew)} , 2026-06:${keyOld.toString("base64url")} ` })

  test("encrypts with the first key and decrypts with any listed key", () => {
    const old = before.encode(token, "access_token", account) as string
    expect(after.decode(old, "access_token", account)).toBe(token)
    expect(after.isCurrent(old)).toBe(false)
    const fresh = after.encode(token, "access_token", account) as string
    expect(after.keyIdOf(fresh)).toBe("2026-12")
    expect(after.currentKeyId).toBe("2026-12")
    // A process still on the old key list cannot read the new key's values: a typed error, not garbage.
    expect(decryptionFailure(() => before.decode(fresh, "access_token", account)).reason).toBe("unknown_key")
  })
})

describe("tokenEncryption: malformed configuration is refused at construction", () => {
  const secretKey = randomBytes(32)
  test.each([
    ["an unset environment variable", undefined, "keys", /no key is given/],
    ["an empty string", " , ", "keys", /no key is given/],
    ["an empty list", [], "keys", /non-empty/],
    [
      "a key of 16 bytes",
      [{ id: "k1", key: randomBytes(16).toString("base64") }],
      "keys",
      /16 bytes; AES-256 needs exactly 32/,
    ],
    ["a key of 33 bytes", `k1:${randomBytes(33).toString("base64")}`, "keys", /33 bytes/],
    [
      "a key that is not base64",
      [{ id: "k1", key: `${b64(secretKey).slice(0, 20)} %$${b64(secretKey).slice(20)}` }],
      "keys",
      /neither bytes nor a base64 string/,
    ],
    [
      "a duplicate key id",
      [
        { id: "k1", key: secretKey },
        { id: "k1", key: randomBytes(32) },
      ],
      "keys",
      /repeats a key id/,
    ],
    ["a key id with a colon", [{ id: "k:1", key: secretKey }], "keys", /invalid id/],
    ["an empty key id", `:${b64(secretKey)}`, "keys", /invalid id/],
    ["an entry without a colon", b64(secretKey), "keys", /not of the form/],
    ["an empty fields list", { fields: [] }, "fields", /non-empty/],
    ["expires_at as a field", { fields: ["expires_at"] }, "fields", /number column/],
    ["a field that is not a column name", { fields: ["access token"] }, "fields", /plain column name/],
  ])("%s", (_, input, option, message) => {
    const options =
      typeof input === "object" && input !== null && !Array.isArray(input)
        ? { keys: [{ id: "k1", key: secretKey }], ...(input as { fields: string[] }) }
        : { keys: input as never }
    let caught: unknown
    try {
      tokenEncryption(options)
    } catch (error) {
      caught = error
    }
    expect(caught).toBeInstanceOf(EncryptionConfigError)
    expect(caught).toMatchObject({ code: "INVALID_ENCRYPTION_CONFIG", option })
    expect((caught as Error).message).toMatch(message)
    expectNoSecrets(caught, [b64(secretKey), b64(secretKey).slice(0, 20), b64(secretKey).slice(20)])
  })
})

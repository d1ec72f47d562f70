import { describe, expect, it } from "@jest/globals"
import { InvalidAccountInputError } from "../src/errors.js"
import {
  accountKeyOf,
  incomingTokens,
  mergeTokens,
  requiredField,
  storedTokens,
  tokenColumns,
  unstorableStringReason,
  type TokenSet,
} from "../src/policy/merge.js"

const NOW_MS = Date.UTC(2026, 10, 27, 12, 0, 0)
const NOW_S = NOW_MS / 1000
const STANDARD = tokenColumns()

/** A raw Auth.js account as `events.signIn` and the `signIn` callback see it (token response + keys). */
const rawAccount = {
  provider: "keycloak",
  providerAccountId: "sub-1",
  type: "oidc",
  access_token: "at-2",
  refresh_token: "rt-2",
  id_token: "idt-2",
  expires_in: 300,
  expires_at: NOW_S + 300,
  refresh_expires_in: 1800,
  "not-before-policy": 0,
  scope: "openid email",
  token_type: "Bearer",
  session_state: "ss-2",
}

describe("tokenColumns", () => {
  it("lists the seven standard token columns by default", () => {
    expect(STANDARD).toEqual([
      "access_token",
      "refresh_token",
      "expires_at",
      "id_token",
      "scope",
      "token_type",
      "session_state",
    ])
  })
  it("appends configured extras once", () => {
    expect(tokenColumns(["refresh_token_expires_in", "access_token"])).toEqual([
      ...STANDARD,
      "refresh_token_expires_in",
    ])
  })
  it("refuses a column name that is not a plain identifier", () => {
    expect(() => tokenColumns(['x"; drop table "Account'])).toThrow(InvalidAccountInputError)
  })
})

describe("incomingTokens", () => {
  it("keeps only the token columns, never the raw response's extras", () => {
    const tokens = incomingTokens(rawAccount, STANDARD, NOW_MS)
    expect(tokens).toEqual({
      access_token: "at-2",
      refresh_token: "rt-2",
      id_token: "idt-2",
      expires_at: NOW_S + 300,
      scope: "openid email",
      token_type: "Bearer",
      session_state: "ss-2",
    })
    for (const extra of [
      "expires_in",
      "refresh_expires_in",
      "not-before-policy",
      "provider",
      "type",
      "providerAccountId",
    ]) {
      expect(tokens).not.toHaveProperty(extra)
    }
  })
  it("leaves out undefined, null and empty values so they cannot erase anything", () => {
    const tokens = incomingTokens(
      { access_token: "at", refresh_token: "", id_token: null, scope: undefined },
      STANDARD,
      NOW_MS,
    )
    expect(tokens).toEqual({ access_token: "at" })
  })
  it("normalises milliseconds and expires_in to epoch seconds", () => {
    expect(incomingTokens({ expires_at: NOW_MS + 5000 }, STANDARD, NOW_MS)).toEqual({ expires_at: NOW_S + 5 })
    expect(incomingTokens({ expires_in: 3600 }, STANDARD, NOW_MS)).toEqual({ expires_at: NOW_S + 3600 })
  })
  it("writes configured extra columns, strings or numbers", () => {
    const columns = tokenColumns(["refresh_token_expires_in"])
    expect(incomingTokens({ refresh_token_expires_in: 86400, refresh_expires_in: 5 }, columns, NOW_MS)).toEqual({
      refresh_token_expires_in: 86400,
    })
  })
  it.each([
    ["access_token", 12345],
    ["refresh_token", { token: "x" }],
    ["scope", ["openid", "email"]],
    ["token_type", true],
  ])("refuses a non-string %s with a typed error naming it", (field, value) => {
    try {
      incomingTokens({ [field]: value }, STANDARD, NOW_MS)
      throw new Error("expected a throw")
    } catch (error) {
      expect(error).toBeInstanceOf(InvalidAccountInputError)
      expect((error as InvalidAccountInputError).field).toBe(field)
    }
  })
  it("refuses a non-object", () => {
    expect(() => incomingTokens("access_token=x", STANDARD, NOW_MS)).toThrow(InvalidAccountInputError)
  })
})

describe("accountKeyOf", () => {
  it("returns the key", () => {
    expect(accountKeyOf(rawAccount)).toEqual({ provider: "keycloak", providerAccountId: "sub-1" })
  })
  it.each([
    // The bare adapters take a numeric id (pg and Kysely store its decimal text) and an empty string.
    [
      "a numeric providerAccountId as its decimal text",
      { provider: "github", providerAccountId: 583231 },
      { provider: "github", providerAccountId: "583231" },
    ],
    [
      "a bigint providerAccountId",
      { provider: "github", providerAccountId: 9007199254740993n },
      { provider: "github", providerAccountId: "9007199254740993" },
    ],
    [
      "empty strings (a value of a text column)",
      { provider: "", providerAccountId: "" },
      { provider: "", providerAccountId: "" },
    ],
  ])("takes %s", (_label, input, expected) => {
    expect(accountKeyOf(input)).toEqual(expected)
  })
  it.each([
    [{ providerAccountId: "x" }, "provider"],
    [{ provider: null, providerAccountId: "x" }, "provider"],
    [{ provider: "p" }, "providerAccountId"],
    [{ provider: "p", providerAccountId: Number.NaN }, "providerAccountId"],
    [{ provider: "p", providerAccountId: { id: 1 } }, "providerAccountId"],
    [{ provider: 7, providerAccountId: "x" }, "provider"],
    [{ provider: "p", providerAccountId: "a\u0000b" }, "providerAccountId"],
    [{ provider: "git\ud800hub", providerAccountId: "x" }, "provider"],
  ])("refuses %p naming %s", (input, field) => {
    expect(() => accountKeyOf(input)).toThrow(expect.objectContaining({ field }) as unknown as Error)
  })
})

describe("requiredField", () => {
  it.each([
    ["a string id", "user-1", "user-1"],
    ["a serial id (number)", 42, "42"],
    ["a Prisma BigInt id", 12345678901234567890n, "12345678901234567890"],
  ])("takes %s, returned as a string for comparison", (_label, userId, expected) => {
    expect(requiredField({ userId }, "userId")).toBe(expected)
  })
  it.each([
    ["an empty id", ""],
    ["a fractional number", 1.5],
    ["an unsafe integer", 2 ** 60],
    ["an object", { id: 1 }],
    ["a NUL", "u\u0000"],
  ])("refuses %s", (_label, userId) => {
    expect(() => requiredField({ userId }, "userId")).toThrow(
      expect.objectContaining({ field: "userId" }) as unknown as Error,
    )
  })
})

describe("strings PostgreSQL cannot store as given", () => {
  it.each([
    ["a NUL character (PostgreSQL refuses it: SQLSTATE 22021)", "at\u0000x"],
    ["a lone high surrogate (the driver would store U+FFFD instead)", "at\ud800x"],
    ["a lone low surrogate", "at\udc00x"],
    ["a high surrogate at the very end", "at\ud83d"],
  ])("refuses a token with %s, naming the field", (_label, value) => {
    expect(unstorableStringReason(value)).toBeDefined()
    expect(() => incomingTokens({ refresh_token: value }, STANDARD, NOW_MS)).toThrow(
      expect.objectContaining({ field: "refresh_token", code: "INVALID_ACCOUNT_INPUT" }) as unknown as Error,
    )
  })
  it("takes well-formed text, astral characters included", () => {
    expect(unstorableStringReason("at.\ud83d\ude00.é")).toBeUndefined()
    expect(incomingTokens({ access_token: "at.\ud83d\ude00" }, STANDARD, NOW_MS)).toEqual({
      access_token: "at.\ud83d\ude00",
    })
  })
})

describe("storedTokens", () => {
  it("canonicalises a driver's row: every column present, bigint strings as numbers, empty as null", () => {
    expect(
      storedTokens({ access_token: "a", expires_at: String(NOW_S), scope: "", id_token: undefined }, STANDARD),
    ).toEqual({
      access_token: "a",
      refresh_token: null,
      expires_at: NOW_S,
      id_token: null,
      scope: null,
      token_type: null,
      session_state: null,
    })
  })
})

describe("mergeTokens", () => {
  const stored: TokenSet = storedTokens(
    {
      access_token: "at-1",
      refresh_token: "rt-1",
      expires_at: NOW_S - 10,
      id_token: "idt-1",
      scope: "openid",
      token_type: "Bearer",
      session_state: null,
    },
    STANDARD,
  )

  it("keeps the stored refresh_token when the sign-in brings none (Google's returning sign-in)", () => {
    const { merged, changes } = mergeTokens(
      stored,
      incomingTokens({ access_token: "at-2", expires_in: 3600 }, STANDARD, NOW_MS),
    )
    expect(merged.refresh_token).toBe("rt-1")
    expect(merged.access_token).toBe("at-2")
    expect(merged.expires_at).toBe(NOW_S + 3600)
    expect(changes).toEqual({ access_token: "at-2", expires_at: NOW_S + 3600 })
  })
  it("replaces the refresh_token when a new one is issued (rotation)", () => {
    const { merged } = mergeTokens(stored, { refresh_token: "rt-2" })
    expect(merged.refresh_token).toBe("rt-2")
  })
  it("reports no changes when nothing differs, so the write can be skipped", () => {
    expect(mergeTokens(stored, { access_token: "at-1", scope: "openid" }).changes).toEqual({})
  })
  it("fills columns that were empty", () => {
    expect(mergeTokens(stored, { session_state: "ss" }).changes).toEqual({ session_state: "ss" })
  })
  const neverErasesForRandomTitle =
    "never erases: for random stored/incoming pairs every stored value survives unless replaced by a non-empty one"
  it(neverErasesForRandomTitle, () => {
    let seed = 20261127
    const random = (): number => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31
      return seed / 2 ** 31
    }
    const choices = [undefined, null, "", "value-a", "value-b"] as const
    for (let round = 0; round < 500; round++) {
      const before: TokenSet = {}
      const input: Record<string, unknown> = {}
      for (const column of STANDARD.filter((c) => c !== "expires_at")) {
        before[column] = random() < 0.5 ? null : `stored-${column}`
        input[column] = choices[Math.floor(random() * choices.length)]
      }
      const { merged } = mergeTokens(before, incomingTokens(input, STANDARD, NOW_MS))
      for (const column of Object.keys(before)) {
        const incoming = input[column]
        const expected = typeof incoming === "string" && incoming !== "" ? incoming : before[column]
        expect(merged[column]).toBe(expected)
      }
    }
  })
})

import { describe, expect, test } from "@jest/globals"
import { InsufficientScopeError } from "../../src/errors.js"
import {
  MAX_CHALLENGE_HEADER_LENGTH,
  classifyBearerRefusal,
  insufficientScopeErrorOf,
  parseChallenges,
} from "../../src/refresh/bearer-challenge.js"

describe("parseChallenges: RFC 7235 §4.1 challenges", () => {
  test("one Bearer challenge with token and quoted-string attributes; names case-insensitive", () => {
    expect(
      parseChallenges('Bearer realm="example", ERROR=invalid_token, error_description="The token expired"'),
    ).toEqual([
      {
        scheme: "bearer",
        params: { realm: "example", error: "invalid_token", error_description: "The token expired" },
      },
    ])
  })
  test("quoted strings keep commas, '=' and escaped quotes and backslashes", () => {
    expect(parseChallenges('Bearer error_description="a, b=c \\"d\\" \\\\e", scope="x y"')).toEqual([
      { scheme: "bearer", params: { error_description: 'a, b=c "d" \\e', scope: "x y" } },
    ])
  })
  test("several challenges in one header (and as Headers.get joins several headers)", () => {
    expect(
      parseChallenges('Basic realm="api", Bearer realm="api", error="insufficient_scope", scope="a b", Negotiate'),
    ).toEqual([
      { scheme: "basic", params: { realm: "api" } },
      { scheme: "bearer", params: { realm: "api", error: "insufficient_scope", scope: "a b" } },
      { scheme: "negotiate", params: {} },
    ])
  })
  test("token68, bare schemes, empty list elements and whitespace around '='", () => {
    expect(parseChallenges(",Negotiate abc+/==, , Bearer   error = invalid_token ,")).toEqual([
      { scheme: "negotiate", params: {}, token68: "abc+/==" },
      { scheme: "bearer", params: { error: "invalid_token" } },
    ])
    expect(parseChallenges("Bearer")).toEqual([{ scheme: "bearer", params: {} }])
  })
})

describe("parseChallenges: hostile headers", () => {
  test("over the length bound: refused whole, never trimmed", () => {
    const padded = `Bearer error="invalid_token", error_description="${"x".repeat(MAX_CHALLENGE_HEADER_LENGTH)}"`
    expect(parseChallenges(padded)).toBeUndefined()
    expect(classifyBearerRefusal(401, padded)).toEqual({ kind: "other", status: 401, reason: "unreadable_header" })
    // Control: the same header under the bound is read.
    expect(classifyBearerRefusal(401, 'Bearer error="invalid_token", error_description="x"').kind).toBe("invalid_token")
  })
  test("a repeated attribute drops the challenge (which value counts would be a guess)", () => {
    expect(parseChallenges('Bearer error="insufficient_scope", error="invalid_token"')).toEqual([])
    expect(classifyBearerRefusal(403, 'Bearer error="insufficient_scope", ERROR="invalid_token"')).toMatchObject({
      kind: "other",
      reason: "no_bearer_challenge",
    })
  })
  test("an unterminated quoted string, a control character or a dangling backslash drops the challenge", () => {
    expect(parseChallenges('Bearer error="invalid_token')).toEqual([])
    expect(parseChallenges('Bearer error="invalid\u0000token"')).toEqual([])
    expect(parseChallenges('Bearer error="invalid\ntoken"')).toEqual([])
    expect(parseChallenges('Bearer error="invalid_token\\')).toEqual([])
    expect(parseChallenges('Bearer error="\u2028"')).toEqual([])
  })
  test("junk after an attribute drops that challenge only; the next one is still read", () => {
    expect(parseChallenges('Bearer error="invalid_token" junk junk, Basic realm="r"')).toEqual([
      { scheme: "basic", params: { realm: "r" } },
    ])
  })
  test("garbage with no scheme at all is unreadable", () => {
    expect(parseChallenges('="x"')).toBeUndefined()
    expect(parseChallenges("\u0000\u0001")).toBeUndefined()
  })
  test("bounded work: many challenges or attributes are cut at the bounds, quickly", () => {
    const manyChallenges = Array.from({ length: 200 }, (_, i) => `S${i}`).join(", ")
    expect(parseChallenges(manyChallenges)!.length).toBe(16)
    const manyParams = `Bearer ${Array.from({ length: 40 }, (_, i) => `p${i}=v`).join(", ")}`
    expect(parseChallenges(manyParams)).toEqual([]) // over 32 attributes: not trusted
    const quotes = `Bearer a="${'\\"'.repeat(2000)}"`
    const started = performance.now()
    expect(parseChallenges(quotes)![0]!.params.a).toHaveLength(2000)
    expect(performance.now() - started).toBeLessThan(1_000)
  })
  test("__proto__ as an attribute name is a plain attribute, not a prototype", () => {
    const [challenge] = parseChallenges('Bearer __proto__="x", error="invalid_token"')!
    expect(Object.getPrototypeOf(challenge!.params)).toBe(Object.prototype)
    expect(classifyBearerRefusal(401, 'Bearer __proto__="x", error="invalid_token"').kind).toBe("invalid_token")
  })
})

describe("classifyBearerRefusal: RFC 6750 §3.1", () => {
  test("invalid_token: refresh and retry", () => {
    expect(
      classifyBearerRefusal(
        401,
        'Bearer realm="example", error="invalid_token", error_description="The access token expired"',
      ),
    ).toEqual({ kind: "invalid_token", status: 401, realm: "example", description: "The access token expired" })
  })
  test("insufficient_scope: the scopes the API asked for", () => {
    const header = 'Bearer realm="https://accounts.google.com/", error="insufficient_scope", scope="a  b a"'
    expect(classifyBearerRefusal(403, header)).toEqual({
      kind: "insufficient_scope",
      status: 403,
      scopes: ["a", "b"],
      realm: "https://accounts.google.com/",
    })
    expect(classifyBearerRefusal(403, 'Bearer error="insufficient_scope"')).toEqual({
      kind: "insufficient_scope",
      status: 403,
      scopes: [],
    })
  })
  test("insufficient_scope becomes the InsufficientScopeError of getAccessToken's scopes", () => {
    const refusal = classifyBearerRefusal(403, 'Bearer error="insufficient_scope", scope="calendar openid"')
    if (refusal.kind !== "insufficient_scope") throw new Error(`expected insufficient_scope, got ${refusal.kind}`)
    const error = insufficientScopeErrorOf("google", refusal)
    expect(error).toBeInstanceOf(InsufficientScopeError)
    expect({ code: error.code, provider: error.provider, scopes: error.missingScopes, source: error.source }).toEqual({
      code: "INSUFFICIENT_SCOPE",
      provider: "google",
      scopes: ["calendar", "openid"],
      source: "resource_server",
    })
  })
  test("a scope attribute with anything but scope-tokens is not trusted", () => {
    const refusal = classifyBearerRefusal(403, 'Bearer error="insufficient_scope", scope="ok \\"bad\\""')
    expect(refusal).toEqual({ kind: "insufficient_scope", status: 403, scopes: [] })
  })
  test("either code with either status (SHOULD, not MUST), and the first Bearer challenge decides", () => {
    expect(classifyBearerRefusal(403, 'Bearer error="invalid_token"').kind).toBe("invalid_token")
    expect(classifyBearerRefusal(401, 'Bearer error="insufficient_scope"').kind).toBe("insufficient_scope")
    expect(classifyBearerRefusal(401, 'Bearer error="invalid_token", Bearer error="insufficient_scope"').kind).toBe(
      "invalid_token",
    )
  })
  test("other: the reason says why", () => {
    expect(classifyBearerRefusal(500, 'Bearer error="invalid_token"')).toEqual({
      kind: "other",
      status: 500,
      reason: "not_a_refusal_status",
    })
    expect(classifyBearerRefusal(401, null)).toMatchObject({ reason: "no_header" })
    expect(classifyBearerRefusal(401, "  ")).toMatchObject({ reason: "no_header" })
    expect(classifyBearerRefusal(401, 'Basic realm="x"')).toMatchObject({ reason: "no_bearer_challenge" })
    expect(classifyBearerRefusal(401, 'Bearer realm="x"')).toMatchObject({ reason: "no_error_code" })
    expect(classifyBearerRefusal(400, 'Bearer error="invalid_request"')).toMatchObject({
      reason: "not_a_refusal_status",
    })
    expect(classifyBearerRefusal(401, 'Bearer error="invalid_request"')).toEqual({
      kind: "other",
      status: 401,
      reason: "other_error",
      error: "invalid_request",
    })
    // Case-sensitive codes: INVALID_TOKEN is not invalid_token.
    expect(classifyBearerRefusal(401, "Bearer error=INVALID_TOKEN")).toMatchObject({ reason: "other_error" })
  })
  test("a description outside RFC 6750's characters is left out; the code still counts", () => {
    expect(classifyBearerRefusal(401, 'Bearer error="invalid_token", error_description="caf\u00e9"')).toEqual({
      kind: "invalid_token",
      status: 401,
    })
    expect(classifyBearerRefusal(401, 'Bearer error="inv\u00e1lid"')).toMatchObject({ reason: "unreadable_header" })
  })
})

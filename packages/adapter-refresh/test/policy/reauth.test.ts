import { describe, expect, test } from "@jest/globals"
import { reauthMarkChange, isMarkedForReauth, REAUTH_MARK } from "../../src/policy/reauth.js"

const COL = "refresh_error"
const marked = { access_token: "at-old", refresh_token: "rt-old", [COL]: REAUTH_MARK }

describe("re-authentication mark policy", () => {
  test("a successful refresh clears the mark", () => {
    expect(reauthMarkChange(marked, { access_token: "at-new" }, COL, "refresh")).toEqual({ [COL]: null })
  })
  test("a sign-in with a NEW refresh token clears it", () => {
    expect(reauthMarkChange(marked, { access_token: "at-new", refresh_token: "rt-new" }, COL, "sign-in")).toEqual({
      [COL]: null,
    })
  })
  test("a sign-in without a refresh token (Google's returning sign-ins) or with the same one keeps it", () => {
    expect(reauthMarkChange(marked, { access_token: "at-new" }, COL, "sign-in")).toEqual({})
    expect(reauthMarkChange(marked, { access_token: "at-new", refresh_token: "rt-old" }, COL, "sign-in")).toEqual({})
  })
  test("nothing to clear when unmarked", () => {
    expect(reauthMarkChange({ ...marked, [COL]: null }, { refresh_token: "rt-new" }, COL, "sign-in")).toEqual({})
    expect(reauthMarkChange({ ...marked, [COL]: null }, {}, COL, "refresh")).toEqual({})
  })
  test("isMarkedForReauth", () => {
    expect(isMarkedForReauth(marked, COL)).toBe(true)
    expect(isMarkedForReauth({ ...marked, [COL]: null }, COL)).toBe(false)
    expect(isMarkedForReauth(marked, undefined)).toBe(false)
  })
})

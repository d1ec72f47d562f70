/**
 * The chaos run's bookkeeping (src/chaos/chaos-analysis.ts) on hand-written journals: a loss after a kill in
 * flight is explained; the same reuse with the earlier sender alive is a double send and breaks the run.
 */
import { describe, expect, test } from "@jest/globals"
import { analyse, violations, type Kill, type Presentation } from "../../src/chaos/chaos-analysis.js"
import type { JournalLine } from "../../src/chaos/chaos-protocol.js"

/** Process 1 refreshes account 0 with token "r1" at t=100; process 2 sends "r1" again at t=400. */
function scenario(killFirst: boolean, firstTimedOut = false) {
  const first: JournalLine[] = [
    { t: 90, ev: "ask", a: 0 },
    { t: 100, ev: "taken", a: 0 },
    { t: 110, ev: "sent", a: 0, port: 5001 },
  ]
  // Alive, process 1 would have got its answer and committed it.
  // Or its request timed out (the provider had rotated the token) and it released the account, alive.
  if (firstTimedOut) first.push({ t: 300, ev: "answered", a: 0, status: 0 }, { t: 310, ev: "released", a: 0 })
  else if (!killFirst)
    first.push(
      { t: 250, ev: "answered", a: 0, status: 200 },
      { t: 260, ev: "committed", a: 0 },
      { t: 261, ev: "done", a: 0 },
    )
  const second: JournalLine[] = [
    { t: 150, ev: "ask", a: 0 },
    { t: 390, ev: "taken", a: 0 },
    { t: 400, ev: "sent", a: 0, port: 5002 },
    { t: 420, ev: "answered", a: 0, status: 400 },
    { t: 430, ev: "released", a: 0 },
    { t: 431, ev: "done", a: 0, code: "REFRESH_INVALID_GRANT" },
  ]
  const presentations: Presentation[] = [
    { t: 111, a: 0, token: "r1", port: 5001, status: 200 },
    { t: 401, a: 0, token: "r1", port: 5002, status: 400 },
  ]
  const kills: Kill[] = killFirst ? [{ t: 200, pid: 1 }] : []
  return analyse({
    journals: new Map([
      [1, first],
      [2, second],
    ]),
    kills,
    presentations,
    revokedAccounts: [0],
  })
}

describe("chaos analysis", () => {
  test("a grant lost after a kill while the request was in flight is explained by that kill", () => {
    const report = scenario(true)
    expect(report.killsByPhase["in flight"]).toBe(1)
    expect(report.doubleSendsByLiveHolders).toBe(0)
    expect(report.losses).toEqual([{ a: 0, explainedBy: { pid: 1, phase: "in flight", msFromKillToReuse: 201 } }])
    expect(report.takeover).toMatchObject({ n: 1, max: 190 })
    expect(violations(report)).toEqual([])
  })

  test("a reuse after a live holder's request failed and it released is a loss of its own kind, not a double send", () => {
    const report = scenario(false, true)
    expect(report.doubleSendsByLiveHolders).toBe(0)
    expect(report.resentAfterFailedRequest).toBe(1)
    expect(report.losses).toEqual([{ a: 0, afterFailedRequest: true }])
    expect(violations(report)).toEqual([])
  })

  test("control: the same reuse while the earlier sender lived is a double send, and the run fails", () => {
    const report = scenario(false)
    expect(report.doubleSendsByLiveHolders).toBe(1)
    expect(report.lossesUnexplained).toBe(1)
    expect(report.windowSent).toMatchObject({ n: 1, max: 150 })
    expect(report.windowAnswered).toMatchObject({ n: 1, max: 10 })
    expect(violations(report)).toHaveLength(2)
  })
})

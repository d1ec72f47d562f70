/**
 * The pure parts of the scale bench: who asks for which account, the expiry schedule the workers compute
 * (the bench's SQL uses the same integer division), and the SVG writer.
 */
import { describe, expect, test } from "@jest/globals"
import { accountIdOf, accountNumberOf, asks, expiryOf } from "../../src/refresh-bench/scale-protocol.js"
import { lineCharts } from "../../src/refresh-bench/svg-chart.js"

describe("scale bench schedule", () => {
  test.each([
    [1, 1],
    [2, 2],
    [4, 3],
    [8, 3],
  ])("with %i processes each account is asked by exactly %i of them, and the load is even", (processes, askers) => {
    const accounts = 1_000
    const perProcess = Array.from({ length: processes }, () => 0)
    for (let n = 0; n < accounts; n++) {
      const askingProcesses = Array.from({ length: processes }, (_, index) => index).filter((index) =>
        asks(n, index, processes, askers),
      )
      expect(askingProcesses).toHaveLength(askers)
      for (const index of askingProcesses) perProcess[index]!++
    }
    expect(Math.max(...perProcess) - Math.min(...perProcess)).toBeLessThanOrEqual(askers)
  })

  test("a spread puts the expiries evenly over the window; a cliff puts them all at the start", () => {
    const accounts = 10_000
    const perSecond = new Map<number, number>()
    for (let n = 0; n < accounts; n++) {
      const second = expiryOf(n, accounts, 1_000, 30)
      perSecond.set(second, (perSecond.get(second) ?? 0) + 1)
    }
    expect([...perSecond.keys()].sort((a, b) => a - b)).toEqual(Array.from({ length: 30 }, (_, i) => 1_000 + i))
    for (const count of perSecond.values()) expect(Math.abs(count - accounts / 30)).toBeLessThanOrEqual(1)
    expect(new Set(Array.from({ length: accounts }, (_, n) => expiryOf(n, accounts, 1_000, 0)))).toEqual(
      new Set([1_000]),
    )
  })

  test("account ids round-trip", () => {
    expect(accountNumberOf(accountIdOf(9_999))).toBe(9_999)
  })
})

describe("svg-chart", () => {
  test("one panel per chart, one polyline and one marker per point per series, text escaped", () => {
    const svg = lineCharts(
      [
        {
          title: "a <b>",
          xLabel: "x",
          yLabel: "y",
          series: [
            {
              name: "s & t",
              points: [
                [1, 2],
                [2, 4],
                [4, 8],
              ],
            },
          ],
        },
        {
          title: "c",
          xLabel: "x",
          yLabel: "y",
          series: [
            {
              name: "u",
              points: [
                [1, 0],
                [2, NaN],
              ],
            },
            { name: "v", points: [[1, 1]] },
          ],
        },
      ],
      "caption",
    )
    expect(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg"')).toBe(true)
    expect(svg.match(/<g transform=/g)).toHaveLength(2)
    expect(svg.match(/<polyline /g)).toHaveLength(3)
    // NaN points are left out, not drawn at a bogus position.
    expect(svg.match(/<circle /g)).toHaveLength(5)
    expect(svg).not.toContain("NaN")
    expect(svg).toContain("a &#60;b&#62;")
    expect(svg).toContain("s &#38; t")
  })
})

/**
 * A small line-chart writer for the bench's plots: panels side by side in one SVG, each with its own
 * axes (linear, from zero), one polyline with markers per series, and a legend. Plain SVG 1.1 text, no
 * dependencies, no browser.
 */

export interface Series {
  name: string
  points: ReadonlyArray<readonly [x: number, y: number]>
}

export interface Panel {
  title: string
  xLabel: string
  yLabel: string
  series: readonly Series[]
}

const COLOURS = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e"]
const DASHES = ["", "6 3", "2 3", "8 3 2 3"]
const WIDTH = 340
const HEIGHT = 260
const MARGIN = { left: 58, right: 14, top: 30, bottom: 74 }

const escape = (text: string): string => text.replace(/[&<>"]/g, (c) => `&#${c.charCodeAt(0)};`)

/** A "nice" upper bound and step for an axis from 0 to `max` with about five ticks. */
function axis(max: number): { top: number; step: number } {
  if (!(max > 0)) return { top: 1, step: 0.2 }
  const rough = max / 5
  const magnitude = 10 ** Math.floor(Math.log10(rough))
  const step = [1, 2, 2.5, 5, 10].map((m) => m * magnitude).find((s) => s >= rough)!
  return { top: Math.ceil(max / step) * step, step }
}

const label = (value: number): string =>
  Math.abs(value) >= 1000 ? `${+(value / 1000).toFixed(1)}k` : `${+value.toFixed(2)}`

function panel(p: Panel, offsetX: number): string {
  const plotW = WIDTH - MARGIN.left - MARGIN.right
  const plotH = HEIGHT - MARGIN.top - MARGIN.bottom
  const xs = p.series.flatMap((s) => s.points.map(([x]) => x))
  const ys = p.series.flatMap((s) => s.points.map(([, y]) => y)).filter(Number.isFinite)
  const xAxis = axis(Math.max(...xs, 0))
  const yAxis = axis(Math.max(...ys, 0))
  const px = (x: number) => MARGIN.left + (x / xAxis.top) * plotW
  const py = (y: number) => MARGIN.top + plotH - (y / yAxis.top) * plotH
  const out: string[] = [`<g transform="translate(${offsetX},0)">`]
  out.push(`<text x="${WIDTH / 2}" y="18" text-anchor="middle" font-weight="bold">${escape(p.title)}</text>`)
  for (let y = 0; y <= yAxis.top + yAxis.step / 2; y += yAxis.step) {
    out.push(
      `<line x1="${MARGIN.left}" x2="${MARGIN.left + plotW}" ` +
        `y1="${py(y).toFixed(1)}" y2="${py(y).toFixed(1)}" stroke="#ddd"/>`,
    )
    out.push(`<text x="${MARGIN.left - 5}" y="${(py(y) + 4).toFixed(1)}" text-anchor="end">${label(y)}</text>`)
  }
  for (const x of [...new Set(xs)].sort((a, b) => a - b)) {
    out.push(
      `<line x1="${px(x).toFixed(1)}" x2="${px(x).toFixed(1)}" ` +
        `y1="${MARGIN.top + plotH}" y2="${MARGIN.top + plotH + 4}" stroke="#333"/>`,
    )
    out.push(`<text x="${px(x).toFixed(1)}" y="${MARGIN.top + plotH + 16}" text-anchor="middle">${label(x)}</text>`)
  }
  out.push(`<rect x="${MARGIN.left}" y="${MARGIN.top}" width="${plotW}" height="${plotH}" fill="none" stroke="#333"/>`)
  out.push(
    `<text x="${MARGIN.left + plotW / 2}" y="${MARGIN.top + plotH + 32}" ` +
      `text-anchor="middle">${escape(p.xLabel)}</text>`,
  )
  out.push(
    `<text transform="translate(14,${MARGIN.top + plotH / 2}) ` +
      `rotate(-90)" text-anchor="middle">${escape(p.yLabel)}</text>`,
  )
  p.series.forEach((s, i) => {
    const colour = COLOURS[i % COLOURS.length]!
    const dash = DASHES[i % DASHES.length]!
    const points = s.points.filter(([, y]) => Number.isFinite(y))
    const path = points.map(([x, y]) => `${px(x).toFixed(1)},${py(y).toFixed(1)}`).join(" ")
    out.push(
      `<polyline points="${path}" fill="none" stroke="${colour}" ` +
        `stroke-width="2"${dash ? ` stroke-dasharray="${dash}"` : ""}/>`,
    )
    for (const [x, y] of points)
      out.push(`<circle cx="${px(x).toFixed(1)}" cy="${py(y).toFixed(1)}" r="3" fill="${colour}"/>`)
    const ly = MARGIN.top + plotH + 46 + Math.floor(i / 2) * 14
    const lx = MARGIN.left + (i % 2) * (plotW / 2)
    out.push(
      `<line x1="${lx}" x2="${lx + 18}" y1="${ly - 4}" y2="${ly - 4}" ` +
        `stroke="${colour}" stroke-width="2"${dash ? ` stroke-dasharray="${dash}"` : ""}/>`,
    )
    out.push(`<text x="${lx + 22}" y="${ly}">${escape(s.name)}</text>`)
  })
  out.push("</g>")
  return out.join("\n")
}

/** One SVG document with the panels side by side and a caption under them. */
export function lineCharts(panels: readonly Panel[], caption: string): string {
  const width = WIDTH * panels.length
  const height = HEIGHT + 22
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="11">`,
    `<rect width="${width}" height="${height}" fill="#fff"/>`,
    ...panels.map((p, i) => panel(p, i * WIDTH)),
    `<text x="8" y="${height - 6}" fill="#555">${escape(caption)}</text>`,
    "</svg>",
    "",
  ].join("\n")
}

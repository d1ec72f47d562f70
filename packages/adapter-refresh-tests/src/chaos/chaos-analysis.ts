/**
 * The chaos run's bookkeeping, pure (no process, no database): from the workers' journals, the killer's
 * log and what the provider's proxy saw, it rebuilds every refresh ("flight"), classifies each kill by what
 * the killed process was doing, attributes every refresh token presented at the provider to the flight that
 * sent it, and decides whether each lost grant is explained by a kill inside the grant-loss window.
 */
import type { JournalLine } from "./chaos-protocol.js"

/** One refresh token presented at the token endpoint, as the proxy in front of the provider saw it. */
export interface Presentation {
  /** When the proxy received the request (same clock as the journals). */
  t: number
  /** The account the token belongs to (the provider's records). */
  a: number
  /** An identifier of the token presented (a hash prefix, never the token). */
  token: string
  /** The client's port, as the proxy saw it. */
  port: number
  /** The provider's HTTP status (0 until it answered). */
  status: number
}

/** One SIGKILL the killer sent. */
export interface Kill {
  t: number
  pid: number
}

export type KillPhase = "idle" | "held, not sent" | "in flight" | "answered, not committed"
const PHASES: readonly KillPhase[] = ["idle", "held, not sent", "in flight", "answered, not committed"]

/** One refresh in one process: from taking the account to the statement that ended the hold. */
export interface Flight {
  pid: number
  a: number
  taken: number
  sends: Array<{ t: number; port: number }>
  answers: Array<{ t: number; status: number }>
  committed?: number
  released?: number
  /** The flight was open when its process was killed: the kill's time. */
  killedAt?: number
  phaseAtKill?: KillPhase
}

export interface LossRecord {
  a: number
  /** How the loss is explained: a kill inside the window, or nothing (a failure of the run). */
  explainedBy?: { pid: number; phase: KillPhase; msFromKillToReuse: number }
  /**
   * Not a kill: the earlier holder, alive, gave up on its request (a timeout under load) after the provider
   * had rotated the token, and released; the next holder sent the old token. Inside the same window.
   */
  afterFailedRequest?: true
}

export interface ChaosReport {
  /** getAccessToken calls that returned or threw (every process, killed ones included). */
  calls: number
  /** The calls that threw, by error code. */
  failures: Record<string, number>
  flights: number
  /** Flights whose answer (200) was committed: the window's samples. */
  committedFlights: number
  presentations: number
  /** Presentations no journal line accounts for (must be 0). */
  unattributed: number
  kills: number
  /** Kills by the worst phase any flight of the killed process was in. */
  killsByPhase: Record<KillPhase, number>
  /** Open flights cut by the kills, by phase (a process may run several refreshes at once). */
  flightsCutByPhase: Record<KillPhase, number>
  /**
   * A refresh token presented again while its earlier sender, alive, still held the account or had stored
   * the answer (exclusion broken). Must be 0.
   */
  doubleSendsByLiveHolders: number
  /** Presented again after the earlier holder's request failed (timeout) and it released, alive. */
  resentAfterFailedRequest: number
  /** Presentations of a token already presented (the provider's reuse detection). */
  reuseDetections: number
  grantsRevoked: number
  losses: LossRecord[]
  lossesUnexplained: number
  /** committed - sent, committed - answered, ms, over committed flights. */
  windowSent: Percentiles
  windowAnswered: Percentiles
  /**
   * From a kill that cut a flight to the next take of that account by another process that was already
   * asking for it at the kill, ms.
   */
  takeover: Percentiles
  /** The same, for kills that cut a flight before it sent anything (lease mode: the lease's end). */
  takeoverBeforeSend: Percentiles
}

export interface Percentiles {
  n: number
  p50: number
  p99: number
  max: number
}

export function percentiles(values: readonly number[]): Percentiles {
  if (values.length === 0) return { n: 0, p50: NaN, p99: NaN, max: NaN }
  const sorted = [...values].sort((x, y) => x - y)
  const at = (p: number) => sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!
  return { n: sorted.length, p50: at(50), p99: at(99), max: sorted.at(-1)! }
}

/** Rebuilds the flights of one process from its journal, in order. */
export function flightsOf(pid: number, lines: readonly JournalLine[]): Flight[] {
  const out: Flight[] = []
  const open = new Map<number, Flight>()
  for (const line of lines) {
    if (line.a === undefined) continue
    const flight = open.get(line.a)
    if (line.ev === "taken" || (line.ev === "sent" && !flight)) {
      // A send outside a take still belongs to a flight: one that resumed a lease it kept after a failed
      // write (no new take), or one whose take this journal missed. It starts at its send.
      const next: Flight = { pid, a: line.a, taken: line.t, sends: [], answers: [] }
      out.push(next)
      open.set(line.a, next)
      if (line.ev === "sent") next.sends.push({ t: line.t, port: line.port ?? 0 })
    } else if (!flight) {
      continue
    } else if (line.ev === "sent") {
      flight.sends.push({ t: line.t, port: line.port ?? 0 })
    } else if (line.ev === "answered") {
      flight.answers.push({ t: line.t, status: line.status ?? 0 })
    } else if (line.ev === "committed") {
      flight.committed = line.t
      open.delete(line.a)
    } else if (line.ev === "released") {
      flight.released = line.t
      open.delete(line.a)
    }
  }
  return out
}

const isOpen = (flight: Flight): boolean => flight.committed === undefined && flight.released === undefined

/** What an open flight was doing when its process died. */
export function phaseOf(flight: Flight): KillPhase {
  const lastSend = flight.sends.at(-1)
  const lastAnswer = flight.answers.at(-1)
  if (!lastSend) return "held, not sent"
  if (!lastAnswer || lastAnswer.t < lastSend.t) return "in flight"
  return lastAnswer.status === 200 ? "answered, not committed" : "held, not sent"
}

export function analyse(input: {
  journals: ReadonlyMap<number, readonly JournalLine[]>
  kills: readonly Kill[]
  presentations: readonly Presentation[]
  /** The accounts whose grant the provider revoked. */
  revokedAccounts: readonly number[]
}): ChaosReport {
  const flights: Flight[] = []
  for (const [pid, lines] of input.journals) flights.push(...flightsOf(pid, lines))

  const zero = (): Record<KillPhase, number> =>
    Object.fromEntries(PHASES.map((p) => [p, 0])) as Record<KillPhase, number>
  const killsByPhase = zero()
  const flightsCutByPhase = zero()
  for (const kill of input.kills) {
    const cut = flights.filter((f) => f.pid === kill.pid && isOpen(f) && f.taken <= kill.t)
    let worst: KillPhase = "idle"
    for (const flight of cut) {
      flight.killedAt = kill.t
      flight.phaseAtKill = phaseOf(flight)
      flightsCutByPhase[flight.phaseAtKill]++
      if (PHASES.indexOf(flight.phaseAtKill) > PHASES.indexOf(worst)) worst = flight.phaseAtKill
    }
    killsByPhase[worst]++
  }

  // Attribute each presentation to the send that made it: same account, same client port, sent just before.
  const sends = flights.flatMap((flight) => flight.sends.map((send) => ({ flight, ...send })))
  const used = new Set<object>()
  const senderOf = new Map<Presentation, Flight>()
  let unattributed = 0
  for (const p of [...input.presentations].sort((x, y) => x.t - y.t)) {
    // The send is journaled before its bytes leave; 50 ms of slack for the processes' clocks.
    const candidates = sends.filter((s) => s.flight.a === p.a && !used.has(s) && s.t <= p.t + 50 && s.t > p.t - 10_000)
    const byPort = candidates.filter((s) => s.port === p.port)
    const pick = (byPort.length ? byPort : candidates).sort((x, y) => y.t - x.t)[0]
    if (!pick) {
      unattributed++
      continue
    }
    used.add(pick)
    senderOf.set(p, pick.flight)
  }

  // Tokens presented more than once: the provider's reuse detection, and who sent the earlier copy.
  const byToken = new Map<string, Presentation[]>()
  for (const p of input.presentations) byToken.set(p.token, [...(byToken.get(p.token) ?? []), p])
  let reuseDetections = 0
  let doubleSendsByLiveHolders = 0
  let resentAfterFailedRequest = 0
  /**
   * Why a token was presented again, from its earlier sender's flight: cut by a kill; ended alive without
   * storing an answer (its request failed: a timeout, an error) before the token was sent again; or neither,
   * a double send (the earlier holder still held, or had stored the answer: exclusion broken).
   */
  const causeOf = (earlier: Flight | undefined, again: Presentation): "kill" | "failed request" | "double send" => {
    if (earlier?.killedAt !== undefined && earlier.killedAt <= again.t) return "kill"
    const ended = earlier?.released
    if (earlier && earlier.committed === undefined && ended !== undefined && ended <= again.t) return "failed request"
    return "double send"
  }
  /** Per account, each reused token's first and second presentation, in time order. */
  const reusesOf = new Map<number, Array<{ first: Presentation; again: Presentation }>>()
  for (const list of byToken.values()) {
    if (list.length < 2) continue
    list.sort((x, y) => x.t - y.t)
    const first = list[0]!
    const earlier = senderOf.get(first)
    for (const again of list.slice(1)) {
      reuseDetections++
      const cause = causeOf(earlier, again)
      if (cause === "double send") doubleSendsByLiveHolders++
      if (cause === "failed request") resentAfterFailedRequest++
    }
    reusesOf.set(first.a, [...(reusesOf.get(first.a) ?? []), { first, again: list[1]! }])
  }
  for (const list of reusesOf.values()) list.sort((x, y) => x.again.t - y.again.t)

  // Each revoked grant, matched in order to its account's next reuse, and that reuse to its cause.
  const losses: LossRecord[] = input.revokedAccounts.map((a) => {
    const reuse = reusesOf.get(a)?.shift()
    const earlier = reuse ? senderOf.get(reuse.first) : undefined
    if (!reuse || !earlier) return { a }
    if (causeOf(earlier, reuse.again) === "failed request") return { a, afterFailedRequest: true }
    if (earlier.killedAt === undefined || earlier.phaseAtKill === undefined) return { a }
    if (earlier.phaseAtKill !== "in flight" && earlier.phaseAtKill !== "answered, not committed") return { a }
    return {
      a,
      explainedBy: {
        pid: earlier.pid,
        phase: earlier.phaseAtKill,
        msFromKillToReuse: reuse.again.t - earlier.killedAt,
      },
    }
  })

  const committed = flights.filter((f) => f.committed !== undefined && f.answers.some((x) => x.status === 200))
  const windowSent = committed.map((f) => f.committed! - f.sends.at(-1)!.t)
  const windowAnswered = committed.map((f) => f.committed! - f.answers.at(-1)!.t)

  // Takeover: from a kill that cut a flight to the next take of its account by a process that was already
  // asking for it then (so the figure is the coordination's, not the callers' cadence).
  const asking = new Map<number, Array<{ a: number; from: number; to: number }>>()
  for (const [pid, lines] of input.journals) {
    const open = new Map<number, number>()
    const spans: Array<{ a: number; from: number; to: number }> = []
    for (const line of lines) {
      if (line.a === undefined) continue
      if (line.ev === "ask") open.set(line.a, line.t)
      else if (line.ev === "done" && open.has(line.a)) {
        spans.push({ a: line.a, from: open.get(line.a)!, to: line.t })
        open.delete(line.a)
      }
    }
    for (const [a, from] of open) spans.push({ a, from, to: Infinity })
    asking.set(pid, spans)
  }
  const takeover: number[] = []
  const takeoverBeforeSend: number[] = []
  for (const cut of flights.filter((f) => f.killedAt !== undefined)) {
    const t = cut.killedAt!
    const next = flights
      .filter(
        (f) =>
          f.a === cut.a &&
          f.pid !== cut.pid &&
          f.taken >= t &&
          (asking.get(f.pid) ?? []).some((s) => s.a === cut.a && s.from <= t && s.to >= f.taken),
      )
      .sort((x, y) => x.taken - y.taken)[0]
    if (!next) continue
    takeover.push(next.taken - t)
    if (cut.phaseAtKill === "held, not sent") takeoverBeforeSend.push(next.taken - t)
  }

  const failures: Record<string, number> = {}
  let calls = 0
  for (const lines of input.journals.values())
    for (const line of lines)
      if (line.ev === "done") {
        calls++
        if (line.code) failures[line.code] = (failures[line.code] ?? 0) + 1
      }

  return {
    calls,
    failures,
    flights: flights.length,
    committedFlights: committed.length,
    presentations: input.presentations.length,
    unattributed,
    kills: input.kills.length,
    killsByPhase,
    flightsCutByPhase,
    doubleSendsByLiveHolders,
    resentAfterFailedRequest,
    reuseDetections,
    grantsRevoked: input.revokedAccounts.length,
    losses,
    lossesUnexplained: losses.filter((l) => !l.explainedBy && !l.afterFailedRequest).length,
    windowSent: percentiles(windowSent),
    windowAnswered: percentiles(windowAnswered),
    takeover: percentiles(takeover),
    takeoverBeforeSend: percentiles(takeoverBeforeSend),
  }
}

/** The run's hard conditions; each broken one as a sentence (empty: all hold). */
export function violations(report: ChaosReport): string[] {
  const out: string[] = []
  if (report.doubleSendsByLiveHolders > 0)
    out.push(`${report.doubleSendsByLiveHolders} refresh token(s) sent again while the earlier sender lived`)
  if (report.lossesUnexplained > 0)
    out.push(`${report.lossesUnexplained} grant(s) lost without a kill or a failed request inside the window`)
  const inWindow = report.flightsCutByPhase["in flight"] + report.flightsCutByPhase["answered, not committed"]
  const byKills = report.losses.filter((l) => l.explainedBy).length
  if (byKills > inWindow) out.push(`${byKills} grant(s) lost for ${inWindow} refresh(es) cut inside the window`)
  if (report.unattributed > 0) out.push(`${report.unattributed} presented token(s) no process journaled sending`)
  return out
}

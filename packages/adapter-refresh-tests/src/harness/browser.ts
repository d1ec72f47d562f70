/**
 * A tiny fetch-based "browser" for end-to-end tests: one cookie jar (tough-cookie) shared across
 * origins, manual redirect following with cookies updated at every hop, and HTML form helpers that
 * are good enough for oidc-provider's devInteractions pages and Auth.js's pages.
 */
import { CookieJar } from "tough-cookie"

export interface BrowserOptions {
  /** Maximum redirects followed by one `get`/`post`. Default 20. */
  maxRedirects?: number
  /** Extra headers sent with every request. */
  headers?: Record<string, string>
}

export interface RequestOptions {
  /** Follow 30x responses. Default true. */
  followRedirects?: boolean
  headers?: Record<string, string>
}

/** One HTTP exchange of a navigation (a request and its response, before any redirect is followed). */
export interface Hop {
  method: string
  url: string
  status: number
  /** Absolute Location of a redirect. */
  location: string | undefined
  /** Raw Set-Cookie header values of this response. */
  setCookies: string[]
}

export interface BrowserResponse {
  /** URL of the last response. */
  url: string
  status: number
  headers: Headers
  body: string
  /** Every request/response of this navigation, the first request first. */
  hops: Hop[]
  /** Parses `body` as JSON. */
  json<T = unknown>(): T
}

export interface HtmlForm {
  /** Absolute URL the form submits to. */
  action: string
  method: "GET" | "POST"
  /** Named inputs with their (HTML-decoded) values; inputs without a value attribute map to "". */
  fields: Record<string, string>
  /** The raw `<form ...>...</form>` HTML. */
  html: string
}

export interface CookieInfo {
  name: string
  value: string
  domain: string | null
  path: string | null
  httpOnly: boolean
  secure: boolean
  sameSite: string | undefined
  expires: Date | "Infinity" | null
}

const REDIRECT_STATUSES = new Set([301, 302, 303, 307, 308])

const ENTITIES: Record<string, string> = {
  amp: "&",
  lt: "<",
  gt: ">",
  quot: '"',
  apos: "'",
  "#39": "'",
  "#x27": "'",
  "#x2F": "/",
}

export function decodeHtml(value: string): string {
  return value.replace(/&(#x[0-9a-f]+|#[0-9]+|[a-z]+);/gi, (match, entity: string) => {
    if (entity in ENTITIES) return ENTITIES[entity] ?? match
    if (entity.startsWith("#x") || entity.startsWith("#X")) return String.fromCodePoint(parseInt(entity.slice(2), 16))
    if (entity.startsWith("#")) return String.fromCodePoint(parseInt(entity.slice(1), 10))
    return match
  })
}

function attributes(tag: string): Record<string, string> {
  const result: Record<string, string> = {}
  const re = /([^\s"'<>/=]+)(?:\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'=<>`]+)))?/g
  // Skip the tag name.
  const body = tag.replace(/^<\s*[a-z]+/i, "").replace(/\/?>$/, "")
  for (const match of body.matchAll(re)) {
    const name = match[1]?.toLowerCase()
    if (!name) continue
    result[name] = decodeHtml(match[2] ?? match[3] ?? match[4] ?? "")
  }
  return result
}

/** Finds `<form>`s and their named `<input>`/`<button>` values in an HTML page. */
export function parseForms(html: string, baseUrl: string): HtmlForm[] {
  const forms: HtmlForm[] = []
  for (const match of html.matchAll(/<form\b[^>]*>([\s\S]*?)<\/form\s*>/gi)) {
    const formHtml = match[0]
    const openTag = /^<form\b[^>]*>/i.exec(formHtml)?.[0] ?? "<form>"
    const formAttributes = attributes(openTag)
    const fields: Record<string, string> = {}
    for (const input of (match[1] ?? "").matchAll(/<input\b[^>]*>/gi)) {
      const attrs = attributes(input[0])
      const type = (attrs.type ?? "text").toLowerCase()
      if (!attrs.name || type === "submit" || type === "button" || type === "image") continue
      if ((type === "checkbox" || type === "radio") && !("checked" in attrs)) continue
      fields[attrs.name] = attrs.value ?? ""
    }
    forms.push({
      action: new URL(formAttributes.action || baseUrl, baseUrl).href,
      method: (formAttributes.method ?? "get").toUpperCase() === "POST" ? "POST" : "GET",
      fields,
      html: formHtml,
    })
  }
  return forms
}

export class Browser {
  readonly jar: CookieJar
  private readonly maxRedirects: number
  private readonly defaultHeaders: Record<string, string>

  constructor(options: BrowserOptions = {}) {
    this.jar = new CookieJar(undefined, { allowSpecialUseDomain: true, rejectPublicSuffixes: false })
    this.maxRedirects = options.maxRedirects ?? 20
    this.defaultHeaders = {
      accept: "text/html,application/xhtml+xml,application/json;q=0.9,*/*;q=0.8",
      "user-agent": "authjs-adapter-refresh-tests/harness",
      ...options.headers,
    }
  }

  get(url: string, options: RequestOptions = {}): Promise<BrowserResponse> {
    return this.request("GET", url, undefined, options)
  }

  /** POSTs an `application/x-www-form-urlencoded` body. */
  post(
    url: string,
    form: Record<string, string> | URLSearchParams,
    options: RequestOptions = {},
  ): Promise<BrowserResponse> {
    const body = form instanceof URLSearchParams ? form : new URLSearchParams(form)
    return this.request("POST", url, body, options)
  }

  /** Submits a form: its own fields, overridden/extended by `fields`. */
  submit(form: HtmlForm, fields: Record<string, string> = {}, options: RequestOptions = {}): Promise<BrowserResponse> {
    const values = { ...form.fields, ...fields }
    if (form.method === "POST") return this.post(form.action, values, options)
    const url = new URL(form.action)
    for (const [name, value] of Object.entries(values)) url.searchParams.set(name, value)
    return this.get(url.href, options)
  }

  /**
   * Finds a form on a page and submits it. `match` picks the form: a predicate, or the name of a field the
   * form must contain with, optionally, its value (`{ field: "prompt", value: "login" }`). Default: first form.
   */
  submitForm(
    page: BrowserResponse,
    fields: Record<string, string> = {},
    match?: ((form: HtmlForm) => boolean) | { field: string; value?: string },
  ): Promise<BrowserResponse> {
    const form = findForm(page, match)
    if (!form) {
      throw new Error(`No matching form on ${page.url} (status ${page.status}):\n${page.body.slice(0, 2000)}`)
    }
    return this.submit(form, fields)
  }

  /** Sends one request and follows redirects like a browser: 301/302/303 become GET, 307/308 keep method and body. */
  async request(
    method: string,
    url: string,
    body: URLSearchParams | undefined,
    options: RequestOptions = {},
  ): Promise<BrowserResponse> {
    const follow = options.followRedirects ?? true
    const hops: Hop[] = []
    let currentMethod = method.toUpperCase()
    let currentUrl = url
    let currentBody = body
    for (let redirects = 0; ; redirects++) {
      const headers: Record<string, string> = { ...this.defaultHeaders, ...options.headers }
      const cookie = await this.jar.getCookieString(currentUrl)
      if (cookie) headers.cookie = cookie
      if (currentBody) headers["content-type"] = "application/x-www-form-urlencoded"
      const response = await fetch(currentUrl, {
        method: currentMethod,
        headers,
        body: currentBody,
        redirect: "manual",
      })
      const setCookies = response.headers.getSetCookie()
      for (const setCookie of setCookies) {
        await this.jar.setCookie(setCookie, currentUrl, { ignoreError: true })
      }
      const rawLocation = response.headers.get("location")
      const location = rawLocation ? new URL(rawLocation, currentUrl).href : undefined
      hops.push({ method: currentMethod, url: currentUrl, status: response.status, location, setCookies })

      if (follow && location && REDIRECT_STATUSES.has(response.status)) {
        await response.body?.cancel()
        if (redirects >= this.maxRedirects) {
          throw new Error(`Too many redirects (> ${this.maxRedirects}):\n${hops.map(describeHop).join("\n")}`)
        }
        if (response.status !== 307 && response.status !== 308) {
          if (currentMethod !== "HEAD") currentMethod = "GET"
          currentBody = undefined
        }
        currentUrl = location
        continue
      }

      const text = await response.text()
      return {
        url: currentUrl,
        status: response.status,
        headers: response.headers,
        body: text,
        hops,
        json<T>(): T {
          return JSON.parse(text) as T
        },
      }
    }
  }

  /** Cookies the browser would send to `url`. */
  async cookies(url: string): Promise<CookieInfo[]> {
    const cookies = await this.jar.getCookies(url)
    return cookies.map((c) => ({
      name: c.key,
      value: c.value,
      domain: c.domain ?? null,
      path: c.path ?? null,
      httpOnly: c.httpOnly,
      secure: c.secure,
      sameSite: c.sameSite,
      expires: c.expires ?? null,
    }))
  }

  /** The value of one cookie the browser would send to `url`. */
  async cookie(url: string, name: string): Promise<string | undefined> {
    return (await this.cookies(url)).find((c) => c.name === name)?.value
  }

  /** Forgets every cookie (a fresh browser profile). */
  async clearCookies(): Promise<void> {
    await this.jar.removeAllCookies()
  }
}

export function findForm(
  page: BrowserResponse,
  match?: ((form: HtmlForm) => boolean) | { field: string; value?: string },
): HtmlForm | undefined {
  const forms = parseForms(page.body, page.url)
  if (!match) return forms[0]
  if (typeof match === "function") return forms.find(match)
  return forms.find(
    (form) => match.field in form.fields && (match.value === undefined || form.fields[match.field] === match.value),
  )
}

export function describeHop(hop: Hop): string {
  return `${hop.method} ${hop.url} -> ${hop.status}${hop.location ? ` ${hop.location}` : ""}`
}

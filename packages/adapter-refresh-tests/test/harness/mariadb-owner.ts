/**
 * Child process of mariadb.test.ts's crash test: starts a MariaDB server with startMariaDb() (the same
 * backend choice as the run), prints one JSON line with its URL and start-up log, then idles until killed.
 */
import { startMariaDb } from "../../src/harness/mariadb.js"

const lines: string[] = []
const server = await startMariaDb({ log: (line) => lines.push(line) })
process.stdout.write(`${JSON.stringify({ url: server.url, backend: server.backend, log: lines.join("\n") })}\n`)
setInterval(() => undefined, 60_000)

/**
 * Real SQLite database files for the test suites: a fresh file per test database, in its own temporary
 * folder, opened with better-sqlite3 12 (13 needs Node 22) in WAL mode, as apps that share one file
 * between processes run it.
 */
import * as fsp from "node:fs/promises"
import { createRequire } from "node:module"
import * as os from "node:os"
import * as path from "node:path"
import Database from "better-sqlite3"

export interface TestSqliteFile {
  /** Absolute path of the database file (it does not exist until something opens it). */
  path: string
  /** `file:` URL of the same file (for libsql and Prisma's `url`). */
  url: string
  /** Removes the file, its -wal and -shm files and its folder. Close connections first. Idempotent. */
  drop(): Promise<void>
}

export interface OpenSqliteOptions {
  /** How long a statement waits for another connection's lock before SQLITE_BUSY; default 5000 ms. */
  busyTimeoutMs?: number
}

/** A fresh database file path in a new temporary folder; the file is named after `prefix`. */
export async function testSqliteFile(prefix: string): Promise<TestSqliteFile> {
  const stem =
    prefix
      .toLowerCase()
      .replace(/[^a-z0-9_]+/g, "_")
      .replace(/^_+|_+$/g, "")
      .slice(0, 32) || "test"
  const dir = await fsp.mkdtemp(path.join(os.tmpdir(), "authjs-refresh-sqlite-"))
  const file = path.join(dir, `${stem}.db`)
  let dropped: Promise<void> | undefined
  return {
    path: file,
    url: `file:${file}`,
    drop: () => (dropped ??= fsp.rm(dir, { recursive: true, force: true })),
  }
}

/**
 * Opens `file` with better-sqlite3: WAL journal (readers do not block the writer), foreign keys on, and a
 * busy timeout as the bound on every wait for another connection's lock.
 */
export function openSqlite(file: string, options: OpenSqliteOptions = {}): Database.Database {
  const db = new Database(file, { timeout: options.busyTimeoutMs ?? 5000 })
  db.pragma("journal_mode = WAL")
  db.pragma("foreign_keys = ON")
  return db
}

/** One line for the start of a run: driver and SQLite versions, where the files go and how they are opened. */
export function sqliteBackendLine(): string {
  const driverVersion = (createRequire(import.meta.url)("better-sqlite3/package.json") as { version: string }).version
  const db = new Database(":memory:")
  try {
    const { v } = db.prepare("SELECT sqlite_version() AS v").get() as { v: string }
    return (
      `[sqlite] backend: files (better-sqlite3 ${driverVersion}, SQLite ` +
      `${v}, WAL journal, one file per test database under ${os.tmpdir()})`
    )
  } finally {
    db.close()
  }
}

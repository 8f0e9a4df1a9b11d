import type Database from 'better-sqlite3';

/**
 * Makes `db.prepare(sql)` return one statement per distinct SQL text instead of compiling it again
 * on every call. Every join used to prepare its INSERT afresh (SQLite parses and plans each time),
 * which showed in the server's CPU profile under load. Patching the connection keeps every caller
 * (storage, tokens, audit, accounts, partners) unchanged. Safe because no caller iterates a
 * statement (a busy statement cannot be re-entered) or switches one to pluck/raw/expand mode, which
 * would leak into other users of the same SQL; the cache is bounded by the program's SQL texts.
 */
export function cachePreparedStatements(db: Database.Database): void {
  const prepare = db.prepare.bind(db) as (sql: string) => Database.Statement;
  const statements = new Map<string, Database.Statement>();
  const cached = (sql: string): Database.Statement => {
    let s = statements.get(sql);
    if (!s) {
      s = prepare(sql);
      statements.set(sql, s);
    }
    return s;
  };
  (db as unknown as { prepare: typeof cached }).prepare = cached;
}

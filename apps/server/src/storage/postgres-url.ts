import { ChorusError } from '@chorus/core';

/** A PostgreSQL schema name we create and quote ourselves: plain lower-case identifiers only. */
export const PG_SCHEMA_PATTERN = /^[a-z_][a-z0-9_]{0,62}$/;

/** Whether a CHORUS_DB value names PostgreSQL rather than a SQLite file. */
export const isPostgresUrl = (db: string): boolean => /^postgres(ql)?:\/\//i.test(db);

/**
 * Checks a postgres:// URL before anything connects: a typo is a start-up error naming the option,
 * not a connection failure minutes later. Returns the URL with the password hidden, for logs.
 */
export function checkPostgresUrl(url: string): string {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new ChorusError('INVALID_CONFIG', `db: "${redact(url)}" is not a valid postgres:// URL (expected postgres://user@host:5432/database)`);
  }
  if (!parsed.hostname) throw new ChorusError('INVALID_CONFIG', `db: "${redact(url)}" names no host (expected postgres://user@host:5432/database)`);
  if (parsed.pathname.length <= 1) throw new ChorusError('INVALID_CONFIG', `db: "${redact(url)}" names no database (expected postgres://user@host:5432/database)`);
  return redact(url);
}

/** The URL with its password hidden (for logs). */
export function redact(url: string): string {
  return url.replace(/(\/\/[^:/@]+:)[^@]*@/, '$1***@');
}

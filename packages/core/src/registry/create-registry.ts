import { ChorusError, type ErrorCode } from '../errors/chorus-error.js';

/**
 * The one shape of every extension point (tfjs's kernel registry): entries keyed by id, with
 * `register`, `get` and `unregister`. Built-ins are passed in when the registry is made, so nothing
 * exists because some module happened to be imported, and adding one never edits a list elsewhere.
 */
export interface Registry<T> {
  /** Adds an entry; an id already taken is refused (unregister it first to replace it). */
  register(entry: T): void;
  /** The entry for `id`, or undefined. */
  get(id: string): T | undefined;
  /** The entry for `id`, or a ChorusError naming the id and the known ones. */
  require(id: string): T;
  /** Removes `id`; returns whether it was there. */
  unregister(id: string): boolean;
  has(id: string): boolean;
  /** Every entry, in registration order. */
  list(): T[];
}

export interface RegistryOptions<T> {
  /** What the entries are, for messages: `aggregator "x" is already registered`. */
  readonly kind: string;
  readonly idOf: (entry: T) => string;
  /** The code `require` throws for an unknown id. @default 'INVALID_CONFIG' */
  readonly unknownCode?: ErrorCode;
  /** Prefix for `require`'s message, usually the config field that named the id (`strategy.id`). */
  readonly field?: string;
  /** Entries present from the start (the built-ins). */
  readonly initial?: readonly T[];
  /** Extra check on `register` (a second key that must also be unique, say); throws to refuse. */
  readonly validate?: (entry: T, existing: readonly T[]) => void;
}

export function createRegistry<T>(options: RegistryOptions<T>): Registry<T> {
  const entries = new Map<string, T>();
  const registry: Registry<T> = {
    register(entry) {
      const id = options.idOf(entry);
      if (typeof id !== 'string' || id.length === 0) throw new ChorusError('INVALID_CONFIG', `${options.kind}: an id is required`);
      if (entries.has(id)) throw new ChorusError('INVALID_CONFIG', `${options.kind} "${id}" is already registered`);
      options.validate?.(entry, [...entries.values()]);
      entries.set(id, entry);
    },
    get: (id) => entries.get(id),
    require(id) {
      const entry = entries.get(id);
      if (entry !== undefined) return entry;
      const known = [...entries.keys()].join(', ') || 'none';
      const prefix = options.field ? `${options.field}: ` : '';
      throw new ChorusError(options.unknownCode ?? 'INVALID_CONFIG', `${prefix}unknown ${options.kind} "${String(id)}" (known: ${known})`);
    },
    unregister: (id) => entries.delete(id),
    has: (id) => entries.has(id),
    list: () => [...entries.values()],
  };
  for (const entry of options.initial ?? []) registry.register(entry);
  return registry;
}

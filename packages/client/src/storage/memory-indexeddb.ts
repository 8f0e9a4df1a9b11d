// Importing this module replaces the realm's IndexedDB globals with fake-indexeddb's in-memory
// implementation. Loaded on demand (storage-probe.ts) only where real storage is unavailable.
import 'fake-indexeddb/auto';

import type { Contribution, ParticipantDb } from './participant-db.js';

export interface ContributionSummary {
  readonly roundsJoined: number;
  readonly updatesAccepted: number;
  readonly bytesSent: number;
  readonly lastAt?: number;
}

/** What this device gave to each task: shown to the participant, never sent anywhere. */
export interface ContributionLog {
  record(entry: Omit<Contribution, 'id'>): Promise<void>;
  list(taskId: string): Promise<Contribution[]>;
  summary(taskId: string): Promise<ContributionSummary>;
}

export function createContributionLog(db: ParticipantDb): ContributionLog {
  const list = (taskId: string): Promise<Contribution[]> => db.getAllFromIndex('contributions', 'byTask', taskId);
  return {
    async record(entry) {
      await db.add('contributions', entry as Contribution);
    },
    list,
    async summary(taskId) {
      const rows = await list(taskId);
      const rounds = new Set(rows.map((r) => r.roundId));
      return {
        roundsJoined: rounds.size,
        updatesAccepted: rows.filter((r) => r.accepted).length,
        bytesSent: rows.reduce((s, r) => s + r.bytes, 0),
        ...(rows.length > 0 ? { lastAt: Math.max(...rows.map((r) => r.at)) } : {}),
      };
    },
  };
}

import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { Strategy, StrategyConfig, TensorSpec } from '@chorus/core';
import type { AdminEventBus } from '../admin/admin-events.js';

/** Which participants are connected right now, per task and training backend. */
export type ConnectedCounts = () => Iterable<{ taskId: string; backend: string; count: number }>;

/** Sockets this process holds, per Socket.IO namespace ('/' participants, '/admin' consoles). */
export type SocketCounts = () => Iterable<{ namespace: string; count: number }>;

/**
 * Prometheus metrics (prom-client) in a registry of this server's own, so several servers in one
 * process (tests, the simulator) do not share counters. Fed by admin events and a timed strategy
 * factory; connected participants are counted at scrape time.
 */
export class ServerMetrics {
  readonly registry = new Registry();
  readonly roundsStarted = new Counter({ name: 'chorus_rounds_started_total', help: 'Rounds opened', labelNames: ['task'], registers: [this.registry] });
  readonly roundsCompleted = new Counter({ name: 'chorus_rounds_completed_total', help: 'Rounds committed as a new model version', labelNames: ['task'], registers: [this.registry] });
  readonly roundsAbandoned = new Counter({ name: 'chorus_rounds_abandoned_total', help: 'Rounds closed without a new version', labelNames: ['task'], registers: [this.registry] });
  readonly roundDuration = new Histogram({
    name: 'chorus_round_duration_seconds',
    help: 'From a round opening to its close',
    labelNames: ['task', 'outcome'],
    buckets: [0.5, 1, 2, 5, 10, 20, 30, 60, 120, 300, 600],
    registers: [this.registry],
  });
  readonly updates = new Counter({ name: 'chorus_updates_total', help: 'Update receipts by outcome and rejection reason (error code)', labelNames: ['task', 'outcome', 'reason'], registers: [this.registry] });
  /** Per process: uploads its own participants completed here (accepted, or refused with the code), wherever the task's coordinator is. */
  readonly uploadsHere = new Counter({ name: 'chorus_uploads_received_total', help: 'Uploads completed by participants connected to this process, by outcome', labelNames: ['task', 'outcome'], registers: [this.registry] });
  readonly bytesIn = new Counter({ name: 'chorus_bytes_received_total', help: 'Update payload bytes received from participants', labelNames: ['task'], registers: [this.registry] });
  readonly bytesOut = new Counter({ name: 'chorus_bytes_sent_total', help: 'Model weight bytes participants downloaded during rounds', labelNames: ['task'], registers: [this.registry] });
  readonly aggregation = new Histogram({
    name: 'chorus_aggregation_seconds',
    help: 'Time spent finishing a round aggregate (strategy finish)',
    labelNames: ['strategy'],
    buckets: [0.001, 0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [this.registry],
  });

  constructor(bus: AdminEventBus, connected: ConnectedCounts, sockets: SocketCounts = () => []) {
    collectDefaultMetrics({ register: this.registry, prefix: 'chorus_process_' });
    new Gauge({
      name: 'chorus_participants_connected',
      help: 'Participants connected, by task and training backend (several processes: reported by the task\'s coordinator, for every process)',
      labelNames: ['task', 'backend'],
      registers: [this.registry],
      collect() {
        this.reset();
        for (const c of connected()) this.set({ task: c.taskId, backend: c.backend }, c.count);
      },
    });
    // Per process, not per deployment: behind a front (nginx) this shows where connections landed.
    new Gauge({
      name: 'chorus_sockets_connected',
      help: 'Socket.IO connections held by this process, by namespace',
      labelNames: ['namespace'],
      registers: [this.registry],
      collect() {
        this.reset();
        for (const s of sockets()) this.set({ namespace: s.namespace }, s.count);
      },
    });
    bus.on((e) => {
      if (e.type === 'round:opened') this.roundsStarted.inc({ task: e.taskId });
      else if (e.type === 'receipt') this.countReceipt(e.taskId, e.receipt.accepted, e.receipt.code);
      else if (e.type === 'round:closed') {
        (e.state === 'committed' ? this.roundsCompleted : this.roundsAbandoned).inc({ task: e.taskId });
        if (e.startedAt !== null) this.roundDuration.observe({ task: e.taskId, outcome: e.state }, Math.max(0, e.closedAt - e.startedAt) / 1000);
        for (const r of e.receipts) this.countReceipt(e.taskId, r.accepted, r.code);
        this.bytesIn.inc({ task: e.taskId }, e.bytesUp);
        this.bytesOut.inc({ task: e.taskId }, e.bytesDown);
      }
    });
  }

  private countReceipt(task: string, accepted: boolean, code: string | null): void {
    this.updates.inc({ task, outcome: accepted ? 'accepted' : 'rejected', reason: accepted ? '' : (code ?? 'UNKNOWN') });
  }

  /** Wraps a strategy factory so each round's `finish` (the aggregation) is timed. */
  timeStrategies(create: (config: StrategyConfig, layout: readonly TensorSpec[]) => Strategy) {
    return (config: StrategyConfig, layout: readonly TensorSpec[]): Strategy => {
      const strategy = create(config, layout);
      const histogram = this.aggregation;
      return new Proxy(strategy, {
        get(target, prop, receiver) {
          const v = Reflect.get(target, prop, receiver) as unknown;
          if (prop !== 'beginRound' || typeof v !== 'function') return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
          return (...args: Parameters<Strategy['beginRound']>) => {
            const aggregator = target.beginRound(...args);
            return new Proxy(aggregator, {
              get(agg, key, recv) {
                const m = Reflect.get(agg, key, recv) as unknown;
                if (typeof m !== 'function') return m;
                if (key !== 'finish') return (m as (...a: unknown[]) => unknown).bind(agg);
                return (...a: Parameters<typeof aggregator.finish>) => {
                  const stop = histogram.startTimer({ strategy: config.id });
                  try {
                    return aggregator.finish(...a);
                  } finally {
                    stop();
                  }
                };
              },
            });
          };
        },
      });
    };
  }
}

import { ChorusError, roundCodecSeed, type ClientUpdate, type TensorSpec, type UpdateBegin, type UpdateReceipt } from '@chorus/core';
import type { Coordination, PartialSum, RoundRules, UploadVerdict } from './coordination.js';
import { updateSignature } from './update-signature.js';
import type { PayloadOps } from './engine-deps.js';
import { partialSumUpdate, PartialSums } from './partial-sums.js';
import type { Runner } from './task-handover.js';
import { parseUpload } from './upload-validation.js';

/**
 * Hierarchical aggregation on several processes (Google 2019's aggregators): uploads for a linear
 * round coordinated on another process are validated here and summed here; the coordinator keeps
 * the round's bookkeeping and, at close, collects one partial sum per process.
 */
export class HierarchicalUploads {
  /** The rules of the round each task (coordinated elsewhere) is collecting, as its coordinator said. */
  private readonly rules = new Map<string, RoundRules & { readonly roundId: string }>();
  private readonly partials = new PartialSums();
  /**
   * The round of each task whose partial sum its coordinator has taken: that round is closing (or
   * was left by a dead coordinator), so its late upload begins and uploads are refused here. Asked
   * of the coordinator instead, they were answered by the one process whose turns the close needs,
   * while it closed (228 checks during one 1,000-update close of the scale benchmark).
   */
  private readonly over = new Map<string, string>();

  constructor(
    private readonly payload: PayloadOps,
    private readonly coordination: () => Coordination,
    /** This process's uploads running for a round (its upload gate's count), reported with each admit. */
    private readonly running: (roundId: string) => number = () => 0,
  ) {}

  /** The round's partial sum was taken (see `over`): ROUND_CLOSED from now on; null while it may still take uploads. */
  closedError(taskId: string, roundId: string): ChorusError | null {
    return this.over.get(taskId) === roundId ? new ChorusError('ROUND_CLOSED', `round "${roundId}" is not collecting updates`) : null;
  }

  /** The coordinator's answer to an upload check: the round's rules. */
  remember(taskId: string, roundId: string, rules: RoundRules): void {
    this.rules.set(taskId, { ...rules, roundId });
  }

  /**
   * How many of this process's uploads for the round may run at once, as far as the coordinator's
   * last answer says (less this process's uploads accepted since); undefined when it never said.
   * Between answers it can only be too high (a round's accepted count never falls), which lets
   * uploads run as they did before the coordinator said anything.
   */
  openSlots(taskId: string, roundId: string): number | undefined {
    const rules = this.rules.get(taskId);
    if (!rules || rules.roundId !== roundId || rules.openSlots === undefined) return undefined;
    return rules.openSlots === null ? Infinity : rules.openSlots;
  }

  /** The coordinator's fresh answer to how many uploads may run here (asked while begins wait). */
  setSlots(taskId: string, roundId: string, openSlots: number | null): void {
    const rules = this.rules.get(taskId);
    if (rules && rules.roundId === roundId) this.rules.set(taskId, { ...rules, openSlots });
  }

  /** One of this process's uploads was accepted: one slot fewer until the coordinator says otherwise. */
  private accepted(taskId: string, roundId: string): void {
    const rules = this.rules.get(taskId);
    if (rules && rules.roundId === roundId && typeof rules.openSlots === 'number') this.rules.set(taskId, { ...rules, openSlots: Math.max(0, rules.openSlots - 1) });
  }

  /** The round's rules when its uploads fold into a partial sum here; null: forward them whole. */
  partialRules(taskId: string, roundId: string): RoundRules | null {
    const rules = this.rules.get(taskId);
    return rules?.partial && rules.roundId === roundId ? rules : null;
  }

  /**
   * Hierarchical aggregation: the upload is validated here exactly as the coordinator would (codec
   * checks, the round's bound); the coordinator does the round's bookkeeping ('admit'), and once it
   * accepts, the update is folded into this process's partial sum of the round, in the same turn.
   */
  async submit(runner: Runner, participantId: string, begin: UpdateBegin, bytes: Uint8Array, rules: RoundRules, fold: <T>(job: () => T) => Promise<T>): Promise<UpdateReceipt> {
    const closed = this.closedError(begin.taskId, begin.roundId);
    if (closed) throw closed;
    const task = runner.task();
    const parsed = await fold((): (ReturnType<typeof parseUpload> & { signature?: number[] }) | ChorusError => {
      try {
        const seed = roundCodecSeed(begin.roundId);
        const upload = parseUpload(this.payload, bytes, { layout: task.layout, config: task.config, limits: runner.limits, maxBytes: runner.maxPayloadBytes(), bound: rules.bound ?? Infinity, seed });
        // The coordinator's selection policy ranks by coverage: it never sees this update, so its signature goes with the verdict.
        return rules.signature ? { ...upload, signature: updateSignature(upload.update) } : upload;
      } catch (err) {
        return ChorusError.from(err);
      }
    });
    const verdict: UploadVerdict = parsed instanceof ChorusError ? { code: parsed.code, message: parsed.message } : { l2Norm: parsed.l2Norm, ...(parsed.signature ? { signature: parsed.signature } : {}) };
    const done = this.partials.expect(begin.taskId, begin.roundId);
    try {
      // Not counting this upload: once answered it is accepted (the round needs one fewer) or refused (its slot is free).
      const inFlight = Math.max(0, this.running(begin.roundId) - 1);
      return await this.coordination().ask(begin.taskId, { kind: 'admit', participantId, begin, bytes: bytes.byteLength, verdict, inFlight }, (receipt) => {
        if (receipt.accepted) this.accepted(begin.taskId, begin.roundId);
        if (receipt.accepted && !(parsed instanceof ChorusError)) this.partials.fold(begin.taskId, begin.roundId, participantId, task.layout, parsed.update, begin.numExamples, begin.metrics);
      });
    } finally {
      done();
    }
  }

  /** This process's partial sum of a round, for its coordinator (once): see PartialSums.take. */
  take(taskId: string, roundId: string, admitted?: number): Promise<PartialSum> {
    this.over.set(taskId, roundId);
    return this.partials.take(taskId, roundId, admitted);
  }

  /**
   * The coordinator closing a round: every process it admitted uploads from sends its partial sum,
   * which must hold exactly the updates and examples admitted from it (else the round cannot commit).
   */
  async collect(taskId: string, roundId: string, layout: readonly TensorSpec[], expected: ReadonlyMap<string, { count: number; examples: number }>): Promise<ClientUpdate[]> {
    return Promise.all(
      [...expected].map(async ([processId, want]) => {
        const got = await this.coordination().partialOf(processId, taskId, roundId, want.count);
        if (got.count !== want.count || got.examples !== want.examples) {
          throw new ChorusError('INTERNAL', `the partial sum of server process ${processId} holds ${got.count} updates (${got.examples} examples); the round admitted ${want.count} (${want.examples} examples) from it`);
        }
        return partialSumUpdate(`partial-sum:${processId}`, layout, got);
      }),
    );
  }
}

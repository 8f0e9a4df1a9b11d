import { ChorusError, dataSchemaSchema, type DataSchema } from '@chorus/core';
import { describeZodError } from '../transport/socket-handlers.js';
import type { loadMl } from './ml-loader.js';

type Ml = Awaited<ReturnType<typeof loadMl>>;

/**
 * A task's data schema: the template's defaults under what the operator sent. A spam-bow task on the
 * built-in SpamAssassin corpus without a vocabulary gets one built here, deterministically, from the
 * corpus' seeded training split (size: the `inputShape` asked for, @default the template's). A
 * nextword-gru task on the built-in State of the Union addresses gets the word vocabulary of their
 * training split (size: the `numClasses` asked for, @default 256), shipped to every participant.
 */
export function resolveTemplateData(ml: Ml, templateId: string, requested: unknown): DataSchema {
  const template = ml.getModelTemplate(templateId);
  const asked = (requested ?? {}) as Partial<DataSchema>;
  if (typeof asked !== 'object' || Array.isArray(asked)) throw new ChorusError('INVALID_CONFIG', 'config.data: expected an object');
  const merged: Record<string, unknown> = { ...template.data, ...asked };
  if (templateId === 'spam-bow' && !asked.vocabulary && merged.dataset === 'spam-assassin') {
    const size = asked.inputShape?.[0] ?? template.data.inputShape[0]!;
    const vocabulary = ml.spamAssassinVocabulary(size);
    Object.assign(merged, { vocabulary, inputShape: [vocabulary.length] });
  }
  if (templateId === 'nextword-gru' && !asked.vocabulary && merged.dataset === 'sotu') {
    const vocabulary = ml.sotuVocabulary(asked.numClasses ?? template.data.numClasses);
    Object.assign(merged, { vocabulary, numClasses: vocabulary.length });
  }
  const parsed = dataSchemaSchema.safeParse(merged);
  if (!parsed.success) throw new ChorusError('INVALID_CONFIG', describeZodError(parsed.error, 'config.data'));
  return parsed.data;
}

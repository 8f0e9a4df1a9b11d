import type { Metadata } from 'next';
import { headers } from 'next/headers.js';
import { connection } from 'next/server.js';
import { parseVisitLimits } from '@chorus/embed';
import { readPageConfig } from '../../../lib/config.js';
import { decideEmbedding } from './embed-check.js';
import { EmbedFrame } from './embed-frame.js';

export const metadata: Metadata = { title: 'Chorus', robots: { index: false } };

type SearchParams = Record<string, string | string[] | undefined>;
const one = (v: string | string[] | undefined): string => (typeof v === 'string' ? v : '');

/** /embed/frame?task=&key=&parent= — the iframe the partner's embed.js inserts after consent. */
export default async function EmbedFramePage({ searchParams }: { searchParams: Promise<SearchParams> }) {
  await connection();
  const q = await searchParams;
  const { serverUrl } = readPageConfig();
  const taskId = one(q.task);
  const key = one(q.key);
  const decision = await decideEmbedding({ serverUrl, taskId, key, parent: one(q.parent), referer: (await headers()).get('referer') });
  const limits = parseVisitLimits(new URLSearchParams({ duty: one(q.duty), budget: one(q.budget) }));
  return <EmbedFrame serverUrl={serverUrl} taskId={taskId} partnerKey={key} decision={decision} limits={limits} />;
}

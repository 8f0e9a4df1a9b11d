import type { Metadata } from 'next';
import { connection } from 'next/server.js';
import type { ReactNode } from 'react';
import { readPageConfig } from '../../lib/config.js';
import { AdminProvider } from './_components/admin-context.js';
import './admin.css';

export const metadata: Metadata = { title: 'Chorus admin console', robots: { index: false } };

export default async function AdminLayout({ children }: { children: ReactNode }) {
  // Per request: the server URL comes from the environment the console runs in, not the build.
  await connection();
  const { serverUrl } = readPageConfig();
  return <AdminProvider serverUrl={serverUrl}>{children}</AdminProvider>;
}

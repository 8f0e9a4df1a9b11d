/**
 * An axe-core audit of every page a person sees: the participant page before and after consent,
 * the console's sign-in, task list, task view (with a committed round in its table), partners,
 * accounts and audit log, and public/partner-demo.html with the script tag's consent card. One
 * server, one web app, one browser, pages in sequence; the test fails listing each serious or
 * critical finding (and any empty table header, a minor rule these pages broke before).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { axeAudit as audit } from './support/axe.js';
import { eventually, openParticipant } from './support/browser.js';
import { createTask, listVersions, type E2eServer } from './support/chorus-server.js';
import type { E2eWebApp } from './support/web-app.js';
import { startE2eStack, type E2eStack } from './support/stack.js';

const TASK = 'a11y-e2e';
/** Where public/partner-demo.html expects the web app (the local default of `npm start`). */
const DEMO_WEB_ORIGIN = 'http://localhost:3000';
const OPERATOR_PASSWORD = 'operator-a11y-password';

let server: E2eServer;
let web: E2eWebApp;
let browser: Browser;
let stack: E2eStack;
const contexts: BrowserContext[] = [];

beforeAll(async () => {
  process.env.CHORUS_ADMIN_PASSWORD = OPERATOR_PASSWORD;
  // One visitor is enough for a round, so the task view shows a round in its table.
  stack = await startE2eStack(TASK, { demo: true, prepare: (s) => createTask(s.url, TASK, { targetClients: 1, minClients: 1, minAvailable: 1, deadlineMs: 20_000 }) });
  ({ server, web, browser } = stack);
});

afterAll(async () => {
  for (const c of contexts) await c.close().catch(() => undefined);
  await stack?.stop();
});

async function newPage(): Promise<Page> {
  const context = await browser.newContext();
  contexts.push(context);
  return context.newPage();
}

describe('accessibility', () => {
  it('has no serious or critical axe findings on any page', async () => {
    const findings: string[] = [];

    // Participant page, before and after consent; the visitor then trains one round.
    const participant = await openParticipant(browser, web.url, { query: 'backend=wasm', consent: false });
    contexts.push(participant.context);
    await participant.page.getByTestId('consent-accept').waitFor();
    findings.push(...(await audit(participant.page, 'participant (before consent)')));
    await participant.page.getByTestId('consent-accept').click();
    await participant.page.getByTestId('progress-download').waitFor();
    findings.push(...(await audit(participant.page, 'participant (after consent)')));
    const roundDone = eventually('a round committed', async () => (await listVersions(server.url, TASK)).length > 1, 180_000, 1_000);
    roundDone.catch(() => undefined); // awaited below; until then a failure must not count as unhandled

    // Sign-in, then every console page.
    const admin = await newPage();
    await admin.goto(`${web.url}/admin/login`);
    await admin.locator('input[name=username]').waitFor();
    findings.push(...(await audit(admin, 'sign-in')));
    await admin.locator('input[name=username]').fill('admin');
    await admin.locator('input[name=password]').fill(OPERATOR_PASSWORD);
    await admin.getByRole('button', { name: 'Sign in' }).click();
    await admin.waitForURL((u) => u.pathname === '/admin');
    await admin.getByTestId(`task-row-${TASK}`).waitFor();
    findings.push(...(await audit(admin, 'tasks')));

    await roundDone;
    await admin.goto(`${web.url}/admin/tasks/${TASK}`);
    await admin.getByTestId('round-table').waitFor({ timeout: 30_000 });
    findings.push(...(await audit(admin, 'task view')));

    await admin.goto(`${web.url}/admin/partners`);
    await admin.getByTestId('partner-key-pk_demo').waitFor();
    findings.push(...(await audit(admin, 'partners')));

    await admin.goto(`${web.url}/admin/users`);
    await admin.getByRole('cell', { name: 'admin', exact: true }).waitFor();
    findings.push(...(await audit(admin, 'accounts')));

    await admin.goto(`${web.url}/admin/audit`);
    await eventually('audit rows', async () => (await admin.getByTestId('audit-row').count()) > 0, 30_000);
    findings.push(...(await audit(admin, 'audit')));

    // The partner demo page, served by the server (another origin than the web app), with its
    // consent card; its tag's requests to the default web app origin go to the test's web app.
    const site = await newPage();
    await site.context().route(`${DEMO_WEB_ORIGIN}/**`, (route) => route.continue({ url: route.request().url().replace(DEMO_WEB_ORIGIN, web.url) }));
    await site.goto(`${server.url}/partner-demo.html`);
    await site.getByRole('button', { name: 'Yes, contribute' }).waitFor();
    findings.push(...(await audit(site, 'partner demo page with the embed card')));

    expect(findings).toEqual([]);
  });
});

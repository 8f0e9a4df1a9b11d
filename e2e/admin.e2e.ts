/**
 * The admin console in real Chromium against the real server: an operator signs in, creates a task
 * from a template and starts it; two participant browsers train; the console's charts receive the
 * rounds live (no reload); the downloaded model loads in TensorFlow.js. Strangers get nothing.
 */
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import type { E2eServer } from './support/chorus-server.js';
import { eventually, openParticipant, type ParticipantPage } from './support/browser.js';
import type { E2eWebApp } from './support/web-app.js';
import { startE2eStack, type E2eStack } from './support/stack.js';

const TASK = 'console-e2e';
const OPERATOR_PASSWORD = 'operator-e2e-password';

let server: E2eServer;
let web: E2eWebApp;
let browser: Browser;
let stack: E2eStack;

beforeAll(async () => {
  // First run with CHORUS_ADMIN_PASSWORD: the server creates the operator `admin` (the harness passes our env on).
  process.env.CHORUS_ADMIN_PASSWORD = OPERATOR_PASSWORD;
  stack = await startE2eStack(TASK);
  ({ server, web, browser } = stack);
});

afterAll(() => stack?.stop());

const chartPoints = async (page: Page, testId: string) => Number(await page.getByTestId(testId).getAttribute('data-points'));

describe('admin console', () => {
  it('refuses an anonymous visitor on every admin page and API', async () => {
    // Execute: pages
    const context = await browser.newContext();
    const page = await context.newPage();
    const landed: string[] = [];
    for (const path of ['/admin', '/admin/audit', '/admin/users', `/admin/tasks/${TASK}`]) {
      await page.goto(`${web.url}${path}`);
      await page.waitForURL(/\/admin\/login\?next=/, { timeout: 30_000 });
      landed.push(new URL(page.url()).searchParams.get('next')!);
      expect(await page.getByTestId('task-list').count()).toBe(0);
      expect(await page.getByTestId('audit-table').count()).toBe(0);
    }
    await context.close();

    // Execute: APIs, from a browser origin and with a forged cookie
    const calls: [string, string][] = [
      ['GET', '/api/tasks'],
      ['GET', `/api/tasks/${TASK}`],
      ['GET', `/api/tasks/${TASK}/rounds`],
      ['GET', `/api/tasks/${TASK}/versions`],
      ['GET', '/api/admin/audit'],
      ['GET', '/api/admin/users'],
      ['GET', '/api/admin/session'],
      ['GET', '/api/strategies'],
      ['GET', '/api/docs'],
      ['POST', '/api/tasks'],
      ['POST', `/api/tasks/${TASK}/start`],
      ['POST', `/api/tasks/${TASK}/stop`],
      ['POST', '/api/admin/users'],
    ];
    const statuses = await Promise.all(
      calls.map(async ([method, path]) => {
        const res = await fetch(`${server.url}${path}`, { method, headers: { origin: web.url, cookie: 'chorus_session=eyJhbGciOiJIUzI1NiJ9.e30.forged', 'content-type': 'application/json' }, body: method === 'POST' ? '{}' : undefined });
        return `${method} ${path} ${res.status}`;
      }),
    );

    // Assert
    expect(landed).toEqual(['/admin', '/admin/audit', '/admin/users', `/admin/tasks/${TASK}`]);
    expect(statuses).toEqual(calls.map(([m, p]) => `${m} ${p} 401`));
  });

  it("draws the personalization fields from the schema, shows the server's refusal in plain words, and creates a Ditto task", async () => {
    // Prepare: the operator signs in and opens the form
    const context = await browser.newContext();
    const page = await context.newPage();
    await page.goto(`${web.url}/admin/login`);
    await page.locator('input[name=username]').fill('admin');
    await page.locator('input[name=password]').fill(OPERATOR_PASSWORD);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.waitForURL((u) => u.pathname === '/admin');
    await page.getByTestId('new-task').click();
    const form = page.getByTestId('create-task-form');
    // The first template list loads the server's TensorFlow.js side: allow for a slow machine.
    await form.locator('select[name=template] option[value="mnist-2nn"]').waitFor({ state: 'attached', timeout: 120_000 });
    await form.locator('input[name=id]').fill('console-ditto');
    await form.locator('input[name=name]').fill('Console Ditto digits');
    await form.locator('input[name=start]').uncheck();
    const fields = form.getByTestId('personalization-options');

    // Execute + Assert: each method shows the options it reads, with the schema's defaults
    await fields.locator('input[name=personalizationOn]').check();
    const method = fields.locator('select[name=personalization-method]');
    expect(await method.inputValue()).toBe('fedper');
    expect(await fields.locator('option').allTextContents()).toEqual(['fedper', 'fedrep', 'ditto']);
    await method.selectOption('fedrep');
    expect(await fields.locator('input[name=personalization-headEpochs]').inputValue()).toBe('1');
    expect(await fields.locator('input[name=personalization-lambda]').count()).toBe(0);
    // A layer the model does not have: the server refuses, and the form says so in plain words
    await fields.locator('input[name=personalization-personalLayers]').fill('head');
    await form.getByRole('button', { name: 'Create task' }).click();
    await eventually('the refusal shown', async () => (await fields.getByTestId('personalization-error').count()) === 1, 30_000);
    expect(await fields.getByTestId('personalization-error').textContent()).toBe('Personal layers: no layer named "head" (the model\'s layers: dense1, dense2, output)');
    // Ditto: λ appears (default 1), the layer list goes
    await method.selectOption('ditto');
    expect(await fields.locator('input[name=personalization-lambda]').inputValue()).toBe('1');
    expect(await fields.locator('input[name=personalization-personalLayers]').count()).toBe(0);
    expect(await fields.locator('input[name=personalization-lambda]').getAttribute('max')).toBe('100');
    await fields.locator('input[name=personalization-lambda]').fill('0.5');
    await form.getByRole('button', { name: 'Create task' }).click();
    await page.getByTestId('task-row-console-ditto').waitFor();

    // Assert: the task was created with the form's personalization
    const created = (await (await page.request.get(`${server.url}/api/tasks/console-ditto`)).json()) as { task: { config: { personalization?: unknown } } };
    expect(created.task.config.personalization).toEqual({ method: 'ditto', personalLayers: [], headEpochs: 1, lambda: 0.5, chooseByValidation: true, holdoutFraction: 0.2 });
    // The task page's personalization panel speaks of Ditto (it once read "FedPer:  stay on each device")
    await page.goto(`${web.url}/admin/tasks/console-ditto`);
    const panel = page.getByTestId('personalization-panel');
    await panel.waitFor({ timeout: 30_000 });
    expect(await panel.getByTestId('personalization-summary').textContent()).toMatch(/^Ditto: the whole model is shared; each device also trains its own copy, pulled towards the shared model \(λ = 0\.5\)/);
    expect(await panel.getByTestId('personal-shared-label').textContent()).toBe('Shared model, mean on devices');
    await context.close();
  });

  it('lets an operator create and start a task, watch two participants train live, and download the model', async () => {
    // Prepare: the operator signs in
    const context = await browser.newContext();
    const page = await context.newPage();
    await page.goto(`${web.url}/admin`);
    await page.waitForURL(/\/admin\/login/);
    await page.locator('input[name=username]').fill('admin');
    await page.locator('input[name=password]').fill(OPERATOR_PASSWORD);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.waitForURL((u) => u.pathname === '/admin');
    expect(await page.getByTestId('signed-in-as').textContent()).toBe('admin · operator');

    // Execute: create from the MNIST 2NN template, without starting, then start from the task page
    await page.getByTestId('new-task').click();
    const form = page.getByTestId('create-task-form');
    await form.locator('select[name=template] option[value="mnist-2nn"]').waitFor({ state: 'attached' });
    await form.locator('input[name=id]').fill(TASK);
    await form.locator('input[name=name]').fill('Console e2e digits');
    await form.locator('select[name=template]').selectOption('mnist-2nn');
    await form.locator('select[name=strategy]').selectOption('fedavg');
    // The strategy's own fields are drawn from the option schema GET /api/strategies serves.
    expect(await form.locator('input[name=server-serverLearningRate]').inputValue()).toBe('1');
    await form.locator('input[name=targetClients]').fill('2');
    await form.locator('input[name=minClients]').fill('2');
    await form.locator('input[name=deadlineSeconds]').fill('40');
    await form.locator('input[name=learningRate]').fill('0.1');
    // Oort's selection, weighing label coverage: its fields appear once the policy is picked.
    await form.locator('select[name=selection]').selectOption('oort');
    await form.locator('input[name=selectionDiversity]').fill('0.5');
    await form.locator('input[name=start]').uncheck();
    await form.getByRole('button', { name: 'Create task' }).click();
    await page.getByTestId(`task-row-${TASK}`).getByRole('link').click();
    await page.waitForURL(new RegExp(`/admin/tasks/${TASK}$`));
    await eventually('the live feed connected', async () => (await page.getByTestId('feed-state').textContent()) === 'Live', 30_000);
    expect(await page.getByTestId('task-status').textContent()).toBe('created');
    await page.getByTestId('action-start').click();
    await eventually('the task running', async () => (await page.getByTestId('task-status').textContent()) === 'running', 30_000);
    // A reload would clear this marker: it proves the charts update in place.
    await page.evaluate(() => ((window as unknown as { __noReload: boolean }).__noReload = true));
    const pointsBefore = await chartPoints(page, 'chart-accuracy');

    // Execute: two participant browsers train
    const participants: ParticipantPage[] = [];
    for (let i = 0; i < 2; i++) participants.push(await openParticipant(browser, web.url, { query: 'backend=wasm' }));
    await eventually('two participants shown as connected', async () => (await page.getByTestId('stat-connected').textContent()) === '2', 60_000);
    await eventually('2 rounds on the accuracy chart', async () => (await chartPoints(page, 'chart-accuracy')) >= 2, 200_000, 1_000);

    // Assert: live, without a reload
    expect(pointsBefore).toBe(0);
    expect(await page.evaluate(() => (window as unknown as { __noReload?: boolean }).__noReload)).toBe(true);
    expect(await chartPoints(page, 'chart-loss')).toBeGreaterThanOrEqual(2);
    expect(Number(await page.getByTestId('chart-accuracy').getAttribute('data-last'))).toBeGreaterThan(0.1);
    // A page joins as "undecided" until its backend trial ends, then reports the backend it picked.
    await eventually('both participants shown on wasm', async () => (await page.getByTestId('stat-backends').textContent()) === 'wasm 2', 30_000);
    expect(await page.getByTestId('round-1').getAttribute('data-state')).toBe('committed');
    await page.getByTestId('round-1').getByRole('button', { name: 'Receipts' }).click();
    await eventually('round 1 receipts', async () => (await page.getByTestId('receipts-1').locator('li').count()) === 2, 30_000);
    expect(await page.getByTestId('receipts-1').textContent()).toContain('accepted');
    // Why each participant was invited: the task's selection policy (Oort here), per pseudonymous id.
    // Round 1 knows no one (both explored), round 2 ranks both by what their round-1 updates covered.
    const stored = (await (await page.request.get(`${server.url}/api/tasks/${TASK}`)).json()) as { task: { config: { selection: unknown } } };
    expect(stored.task.config.selection).toEqual({ id: 'oort', options: { diversity: 0.5 } });
    await eventually('round 1 selection reasons', async () => (await page.getByTestId('selection-1').locator('li').count()) === 2, 30_000);
    expect(await page.getByTestId('selection-1').textContent()).toMatch(/Selection: oort[\s\S]*new: explored[\s\S]*new: explored/);
    await page.getByTestId('round-2').getByRole('button', { name: 'Receipts' }).click();
    await eventually('round 2 selection reasons', async () => (await page.getByTestId('selection-2').locator('li').count()) === 2, 30_000);
    expect(await page.getByTestId('selection-2').textContent()).toMatch(/picked for its utility · utility [0-9.]+[\s\S]*picked for its utility · utility [0-9.]+/);

    // Execute + Assert: the version 2 download loads in TensorFlow.js with the committed weights
    const href = await page.getByTestId('download-model-2').getAttribute('href');
    expect(href).toBe(`${server.url}/api/tasks/${TASK}/versions/2/model.json`);
    const model = await tf.loadLayersModel(href!);
    expect(model.inputs[0]!.shape).toEqual([null, 28, 28, 1]);
    expect(model.outputs[0]!.shape).toEqual([null, 10]);
    expect(model.countParams()).toBe(199_210);
    model.dispose();

    // Execute + Assert: pause from the console, recorded in the audit log
    await page.getByTestId('action-pause').click();
    await eventually('the task paused', async () => (await page.getByTestId('task-status').textContent()) === 'paused', 30_000);
    await page.goto(`${web.url}/admin/audit`);
    await eventually('audit rows', async () => (await page.getByTestId('audit-row').count()) >= 4, 30_000);
    const audit = await page.getByTestId('audit-table').textContent();
    for (const action of ['login', 'task.create', 'task.start', 'task.pause']) expect(audit).toContain(action);

    for (const p of participants) await p.context.close();
    await context.close();
  });
});

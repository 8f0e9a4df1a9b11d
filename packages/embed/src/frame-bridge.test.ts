import { describe, expect, it } from 'vitest';
import { createFrameBridge } from './frame-bridge.js';
import { EMBED_PROTOCOL } from './messages.js';

const CHORUS = 'https://chorus.example.org';

/** A window whose postMessage records what was sent; `deliver` plays a message arriving from `source`. */
function setup() {
  const page = new EventTarget();
  const sent: { data: unknown; target: string }[] = [];
  const frame = { postMessage: (data: unknown, target: string) => sent.push({ data, target }) } as unknown as Window;
  const bridge = createFrameBridge(page as unknown as Window, CHORUS);
  const deliver = (data: unknown, origin = CHORUS, source: unknown = frame) => page.dispatchEvent(Object.assign(new Event('message'), { data, origin, source }));
  return { bridge, frame, sent, deliver };
}

const ev = (event: string, data: unknown) => ({ chorus: EMBED_PROTOCOL, kind: 'event', event, data });

describe('createFrameBridge', () => {
  it('hears events only from the Chorus origin and the iframe window', () => {
    const { bridge, frame, deliver } = setup();
    bridge.attach(() => frame);
    const rounds: number[] = [];
    bridge.on('roundJoined', (e) => rounds.push(e.round));

    deliver(ev('roundJoined', { round: 1 }));
    deliver(ev('roundJoined', { round: 2 }), 'https://evil.example.com');
    deliver(ev('roundJoined', { round: 3 }), CHORUS, {});
    deliver(ev('roundJoined', { round: 4 }));

    expect(rounds).toEqual([1, 4]);
  });

  it('queues calls until the frame is ready, posts them to the Chorus origin only, and resolves on reply', async () => {
    const { bridge, frame, sent, deliver } = setup();
    bridge.attach(() => frame);

    const result = bridge.call('addExamples', { examples: [{ input: [0, 1], label: 1 }] });
    const beforeReady = sent.length;
    deliver(ev('ready', { taskId: 'mnist-demo' }));
    deliver({ chorus: EMBED_PROTOCOL, kind: 'reply', id: 1, ok: true, value: 1 });

    expect(beforeReady).toBe(0);
    expect(sent).toEqual([{ data: { chorus: EMBED_PROTOCOL, kind: 'call', id: 1, method: 'addExamples', args: { examples: [{ input: [0, 1], label: 1 }] } }, target: CHORUS }]);
    await expect(result).resolves.toBe(1);
  });

  it('resolves suggest with the words of the reply, and refuses an over-long text before posting it', async () => {
    const { bridge, frame, sent, deliver } = setup();
    bridge.attach(() => frame);
    deliver(ev('ready', { taskId: 'keyboard' }));

    const words = bridge.call('suggest', { text: 'The state of the' });
    deliver({ chorus: EMBED_PROTOCOL, kind: 'reply', id: 1, ok: true, words: ['union', 'nation', 'world'] });
    const tooLong = await bridge.call('suggest', { text: 'x'.repeat(10_001) }).catch((e: { code: string; message: string }) => `${e.code}: ${e.message}`);

    await expect(words).resolves.toEqual(['union', 'nation', 'world']);
    expect(tooLong).toBe('BAD_REQUEST: suggest: expected a string of at most 10000 characters');
    expect(sent).toHaveLength(1);
  });

  it('fails calls with the refusal, and before consent with NO_CONSENT', async () => {
    const { bridge, frame, deliver } = setup();
    const beforeConsent = bridge.call('pause', {});
    bridge.attach(() => frame);
    const queued = bridge.call('pause', {});

    deliver(ev('refused', { code: 'FORBIDDEN', message: 'This site is not allowed to contribute to this Chorus task' }));

    await expect(beforeConsent).rejects.toMatchObject({ code: 'NO_CONSENT' });
    await expect(queued).rejects.toMatchObject({ code: 'FORBIDDEN', message: 'This site is not allowed to contribute to this Chorus task' });
  });

  it('refuses locally when the frame never answered: calls fail and refused listeners hear it, once', async () => {
    const { bridge, frame } = setup();
    bridge.attach(() => frame);
    const heard: unknown[] = [];
    bridge.on('refused', (e) => heard.push(e));
    const pending = bridge.call('pause', {}).catch((e: { code: string; message: string }) => `${e.code}: ${e.message}`);

    const before = bridge.answered();
    bridge.refuseLocally('FORBIDDEN', 'This site (https://x.example) is not allowed to contribute to this Chorus task.');
    bridge.refuseLocally('FORBIDDEN', 'again');
    const later = await bridge.call('resume', {}).catch((e: { code: string }) => e.code);

    expect(before).toBe(false);
    expect(await pending).toBe('FORBIDDEN: This site (https://x.example) is not allowed to contribute to this Chorus task.');
    expect(later).toBe('FORBIDDEN');
    expect(heard).toEqual([{ code: 'FORBIDDEN', message: 'This site (https://x.example) is not allowed to contribute to this Chorus task.' }]);
    expect(bridge.answered()).toBe(true);
  });
});

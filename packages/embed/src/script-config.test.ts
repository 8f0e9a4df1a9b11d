import { describe, expect, it } from 'vitest';
import { findOwnScript, frameUrl, readScriptConfig } from './script-config.js';

const tag = (src: string, attrs: Record<string, string>) => ({ src, getAttribute: (n: string) => attrs[n] ?? null });

describe('readScriptConfig', () => {
  it('reads task, key and the origin that served embed.js', () => {
    const config = readScriptConfig(tag('https://chorus.example.org/embed.js?v=1', { 'data-task': 'mnist-demo', 'data-key': 'pk_abc' }));

    expect(config).toEqual({ taskId: 'mnist-demo', key: 'pk_abc', chorusOrigin: 'https://chorus.example.org' });
    expect(frameUrl(config as Exclude<typeof config, string>, 'https://news.example.com')).toBe(
      'https://chorus.example.org/embed/frame?task=mnist-demo&key=pk_abc&parent=https%3A%2F%2Fnews.example.com',
    );
  });

  it('passes data-duty and data-budget on to the frame', () => {
    const config = readScriptConfig(tag('https://c.org/embed.js', { 'data-task': 't', 'data-key': 'pk_a', 'data-duty': '0.25', 'data-budget': '120' }));

    expect(frameUrl(config as Exclude<typeof config, string>, 'https://p.example')).toBe('https://c.org/embed/frame?task=t&key=pk_a&parent=https%3A%2F%2Fp.example&duty=0.25&budget=120');
  });

  it('names the wrong attribute', () => {
    expect(readScriptConfig(tag('https://c.org/embed.js', { 'data-task': 'mnist demo', 'data-key': 'pk_a' }))).toBe('Chorus: data-task must be a task id like "mnist-demo", got "mnist demo"');
    expect(readScriptConfig(tag('https://c.org/embed.js', { 'data-task': 't', 'data-key': 'secret' }))).toBe('Chorus: data-key must be a partner key like "pk_…", got "secret"');
    expect(readScriptConfig(null)).toBe('Chorus: could not find the embed.js <script> tag');
  });
});

describe('findOwnScript', () => {
  it('falls back to the last embed.js tag with data attributes when currentScript is null (async)', () => {
    const other = { src: 'https://cdn.example.com/app.js' };
    const ours = { src: 'https://chorus.example.org/embed.js' };
    const doc = { currentScript: null, querySelectorAll: () => [ours, other] };

    expect(findOwnScript(doc as never)).toBe(ours);
  });
});

/**
 * Next-word suggestions under a partner's text box (`data-chorus-suggest`, or
 * `Chorus.attachSuggestions(box)`). The words come from the Chorus frame, which holds the model; the
 * strip lives in its own shadow root so the partner's CSS cannot hide or restyle it. Tab or a click
 * accepts a word. Nothing is kept: the box's text goes to the frame only to be predicted from.
 */

type TextBox = HTMLTextAreaElement | HTMLInputElement;

/**
 * The box's text with its trailing partial word replaced by `word` and a space, as the participant
 * page's strip does (acceptSuggestion in @chorus/ml/data; copied here because embed.js bundles
 * nothing else): no space before the word at the start, after a space, an opening bracket or quote,
 * a hyphen or a slash; one after a word or punctuation ("Hello," → "Hello, the ").
 */
export function acceptWord(text: string, word: string): string {
  const trailing = /[A-Za-z\u2018\u2019']*[A-Za-z]$/.exec(text)?.[0] ?? '';
  const head = text.slice(0, text.length - trailing.length);
  const joins = head === '' || /[\s([{\u201c\u2018/-]$/.test(head) || /(^|[\s([{])["']$/.test(head);
  return `${head}${joins ? '' : ' '}${word} `;
}

const STYLE =
  ':host{all:initial;display:block}div{display:flex;gap:6px;flex-wrap:wrap;min-height:28px;font:14px system-ui,sans-serif}' +
  'button{all:revert;font:inherit;padding:2px 10px;border:1px solid #888;border-radius:12px;background:#f4f4f4;color:#111;cursor:pointer}';

/** Draws the strip after `box`; returns a function that removes it and its listeners. */
export function attachSuggestionStrip(box: TextBox, suggest: (text: string) => Promise<readonly string[]>): () => void {
  const host = document.createElement('chorus-suggestions');
  const root = host.attachShadow({ mode: 'closed' });
  const style = document.createElement('style');
  style.textContent = STYLE;
  const strip = document.createElement('div');
  strip.setAttribute('role', 'group');
  strip.setAttribute('aria-label', 'Next-word suggestions (Tab accepts the first)');
  root.append(style, strip);
  box.after(host);
  // Exposed read-only for tests and for partners who draw their own strip.
  host.dataset.words = '';

  let words: readonly string[] = [];
  let asked = 0;
  let timer: ReturnType<typeof setTimeout> | undefined;

  const show = (next: readonly string[]): void => {
    words = next;
    host.dataset.words = next.join(' ');
    strip.replaceChildren(
      ...next.map((w) => {
        const b = document.createElement('button');
        b.type = 'button';
        b.textContent = w;
        b.addEventListener('click', () => accept(w));
        return b;
      }),
    );
  };
  const refresh = (): void => {
    clearTimeout(timer);
    // A short pause so fast typing asks once, and only the latest answer is shown.
    timer = setTimeout(() => {
      const mine = ++asked;
      suggest(box.value.slice(0, 10_000)).then(
        (next) => mine === asked && show(next),
        () => mine === asked && show([]),
      );
    }, 60);
  };
  const accept = (word: string): void => {
    box.value = acceptWord(box.value, word);
    box.focus();
    // The partner's own listeners see the change as typing.
    box.dispatchEvent(new Event('input', { bubbles: true }));
  };
  const onKey = (e: Event): void => {
    const k = e as KeyboardEvent;
    if (k.key === 'Tab' && !k.shiftKey && words.length > 0) {
      k.preventDefault();
      accept(words[0]!);
    }
  };
  box.addEventListener('input', refresh);
  box.addEventListener('keydown', onKey);
  refresh();
  return () => {
    clearTimeout(timer);
    asked++;
    box.removeEventListener('input', refresh);
    box.removeEventListener('keydown', onKey);
    host.remove();
  };
}

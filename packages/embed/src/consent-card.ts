/**
 * The consent card and, after consent, the Chorus iframe, both inside one Shadow DOM: `all: initial`
 * on the host stops the partner's inherited styles, and our styles cannot leak out of the root.
 */
export interface CardText {
  readonly taskId: string;
  readonly chorusHost: string;
  readonly partnerHost: string;
}

export interface CardView {
  /** The element appended to the partner's page (the shadow host). */
  readonly host: HTMLElement;
  showAsk(onYes: () => void, onNo: () => void): void;
  /** Shows the iframe; returns it so the bridge can talk to its window. */
  showFrame(src: string, onWithdraw: () => void): HTMLIFrameElement;
  showDeclined(onReopen: () => void): void;
  /** Replaces a frame the browser would not show with the reason, in plain words. */
  showBlocked(reason: string, onWithdraw: () => void): void;
}

const CSS = `:host{all:initial!important;position:fixed!important;right:16px!important;bottom:16px!important;z-index:2147483000!important;display:block!important;visibility:visible!important;opacity:1!important}
*{box-sizing:border-box;font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:#1d2433}
.card{width:340px;max-width:calc(100vw - 32px);background:#fff;border:1px solid #cfd6e4;border-radius:10px;box-shadow:0 6px 24px rgba(0,0,0,.18);padding:14px 16px}
h2{margin:0 0 6px;font-size:16px;font-weight:600}
p{margin:0 0 8px}
ul{margin:0 0 10px;padding-left:18px}
li{margin:0 0 4px}
.row{display:flex;gap:8px;justify-content:flex-end;align-items:center}
button{cursor:pointer;border-radius:6px;padding:6px 12px;border:1px solid #8a94a8;background:#fff}
button.yes{background:#2456d6;border-color:#2456d6;color:#fff}
button.link{border:0;padding:2px 4px;background:none;color:#2456d6;text-decoration:underline;font-size:12px}
iframe{display:block;width:100%;height:120px;border:0;border-radius:6px;background:#f6f8fb}`;

function el<K extends keyof HTMLElementTagNameMap>(tag: K, props: Partial<HTMLElementTagNameMap[K]> = {}, ...children: (Node | string)[]): HTMLElementTagNameMap[K] {
  const node = Object.assign(document.createElement(tag), props);
  node.append(...children);
  return node;
}

export function createCardView(text: CardText): CardView {
  // A custom element name, so the partner's tag selectors (div, section…) never match our host, and
  // !important on :host, which beats the partner's own !important on it (the shadow context wins).
  const host = document.createElement('chorus-embed');
  host.setAttribute('data-chorus-embed', '');
  const root = host.attachShadow({ mode: 'open' });
  const style = el('style', { textContent: CSS });
  const card = el('div', { className: 'card' });
  card.setAttribute('role', 'dialog');
  card.setAttribute('aria-label', 'Chorus consent');
  root.append(style, card);

  const button = (label: string, className: string, onClick: () => void): HTMLButtonElement => el('button', { type: 'button', className, textContent: label, onclick: onClick });

  return {
    host,
    showAsk(onYes, onNo) {
      card.replaceChildren(
        el('h2', { textContent: 'Help train a shared AI model?' }),
        el('p', { textContent: `${text.partnerHost} works with Chorus. If you agree, your browser helps train the model "${text.taskId}" while this page is open.` }),
        el(
          'ul',
          {},
          el('li', { textContent: `Who trains it: Chorus (${text.chorusHost}), not ${text.partnerHost}.` }),
          el('li', { textContent: 'What is trained: the model learns from examples kept in your browser.' }),
          el('li', { textContent: `What leaves your device: only compressed (quantized) model updates, sent to Chorus. Your examples and the model stay in ${text.chorusHost}'s storage in this browser; ${text.partnerHost} cannot read them.` }),
          el('li', { textContent: 'It uses at most half of your processor, pauses when you switch tabs, stops after 10 minutes, and you can stop and erase it at any time.' }),
        ),
        el('div', { className: 'row' }, button('No thanks', 'no', onNo), button('Yes, contribute', 'yes', onYes)),
      );
    },
    showFrame(src, onWithdraw) {
      const frame = el('iframe', { src, title: 'Chorus contribution status' });
      // No allow-same-origin games: the frame is a normal cross-origin document on the Chorus origin.
      frame.setAttribute('referrerpolicy', 'origin');
      card.replaceChildren(frame, el('div', { className: 'row' }, button('Withdraw consent', 'link', onWithdraw)));
      return frame;
    },
    showBlocked(reason, onWithdraw) {
      card.replaceChildren(el('p', { textContent: reason }), el('div', { className: 'row' }, button('Close', 'link', onWithdraw)));
    },
    showDeclined(onReopen) {
      card.replaceChildren(el('div', { className: 'row' }, el('span', { textContent: 'Not contributing to Chorus.' }), button('Change', 'link', onReopen)));
    },
  };
}

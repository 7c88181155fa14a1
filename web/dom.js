// A tiny element builder and the formatting every view shares. Text always
// goes in as text nodes (never parsed as HTML), so API data cannot inject markup.

/** h('a', { href, class, onclick }, 'text', child, [more]) */
export function h(tag, props, ...children) {
  const el = document.createElement(tag);
  const late = {};
  for (const [key, value] of Object.entries(props ?? {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key.startsWith('on') && typeof value === 'function')
      el.addEventListener(key.slice(2), value);
    else if (key === 'value' || key === 'checked') late[key] = value;
    else if (key === 'class') el.className = value;
    else el.setAttribute(key, value === true ? '' : String(value));
  }
  append(el, children);
  Object.assign(el, late); // a <select>'s value can only be set once its options exist
  return el;
}

export function append(el, children) {
  for (const child of [children].flat(Infinity)) {
    if (child === undefined || child === null || child === false) continue;
    el.append(child instanceof Node ? child : String(child));
  }
  return el;
}

export const replace = (el, ...children) => {
  el.replaceChildren();
  return append(el, children);
};

const rtf = new Intl.RelativeTimeFormat('en', { numeric: 'auto' });
const UNITS = [
  ['year', 31536000],
  ['month', 2592000],
  ['day', 86400],
  ['hour', 3600],
  ['minute', 60],
  ['second', 1],
];

export function relative(date, now = Date.now()) {
  const seconds = Math.round((date.getTime() - now) / 1000);
  if (Math.abs(seconds) < 10) return 'just now';
  const [unit, size] = UNITS.find(([, s]) => Math.abs(seconds) >= s) ?? UNITS[5];
  return rtf.format(Math.round(seconds / size), unit);
}

export const absolute = (iso) =>
  new Date(iso).toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'medium' });

/** "1 Dec 2026, 14:05:09", with "3 minutes ago" on hover: for lists read by date. */
export function at(iso) {
  if (!iso) return h('span', { class: 'muted' }, '—');
  return h('time', { datetime: iso, title: relative(new Date(iso)) }, absolute(iso));
}

/** A deployment's Meltano environment; a project without environments has none. */
export const environmentLabel = (env) =>
  env ? h('code', {}, env) : h('span', { class: 'muted' }, '(no environment)');

/** Copies `text` to the clipboard (falls back to selecting it when the clipboard is refused). */
export function copyButton(text, label, target) {
  return h(
    'button',
    {
      type: 'button',
      class: 'secondary small copy',
      'aria-label': label,
      onclick: async (e) => {
        const button = e.currentTarget;
        try {
          await window.navigator.clipboard.writeText(text);
          button.textContent = 'Copied';
          setTimeout(() => (button.textContent = 'Copy'), 1500);
        } catch {
          if (target) window.getSelection()?.selectAllChildren(target);
          notify('Press Ctrl+C (⌘C) to copy the selected text.');
        }
      },
    },
    'Copy',
  );
}

/** "3 minutes ago", with the exact time on hover and for screen readers via datetime. */
export function when(iso) {
  if (!iso) return h('span', { class: 'muted' }, '—');
  return h('time', { datetime: iso, title: absolute(iso) }, relative(new Date(iso)));
}

export function duration(seconds) {
  if (seconds === null || seconds === undefined || Number.isNaN(seconds)) return '—';
  const s = Math.max(0, Math.round(seconds));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m ${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h ${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}

export const badge = (status) =>
  h('span', { class: `badge badge-${status}` }, String(status).replace(/_/g, ' '));

export const sha = (value) =>
  value
    ? h('code', { title: value, class: 'sha' }, value.slice(0, 7))
    : h('span', { class: 'muted' }, '—');

export const muted = (text) => h('span', { class: 'muted' }, text);

/**
 * A table with a header row; `rows` are arrays of cells. With `stack`, each
 * cell carries its column name, and on a phone the rows become stacked cards.
 */
export function table(caption, headers, rows, empty = 'Nothing here yet.', { stack = false } = {}) {
  if (!rows.length) return h('p', { class: 'empty' }, empty);
  return h(
    'div',
    { class: stack ? 'table-wrap stack' : 'table-wrap' },
    h(
      'table',
      {},
      caption ? h('caption', { class: 'visually-hidden' }, caption) : null,
      h(
        'thead',
        {},
        h(
          'tr',
          {},
          headers.map((x) => h('th', { scope: 'col' }, x)),
        ),
      ),
      h(
        'tbody',
        {},
        rows.map((cells) =>
          cells instanceof Node
            ? cells
            : h(
                'tr',
                {},
                cells.map((c, i) =>
                  h('td', stack && headers[i] ? { 'data-label': headers[i] } : {}, c),
                ),
              ),
        ),
      ),
    ),
  );
}

export function section(title, ...children) {
  const id = 'h-' + title.toLowerCase().replace(/[^a-z0-9]+/g, '-');
  return h('section', { class: 'card', 'aria-labelledby': id }, h('h2', { id }, title), children);
}

let flashTimer;
let flashAt = 0;
/** A short message in the polite live region under the header. */
export function notify(message, kind = 'ok') {
  const box = document.getElementById('flash');
  if (!box) return;
  clearTimeout(flashTimer);
  flashAt = Date.now();
  replace(box, h('p', { class: `flash-${kind}` }, message));
  flashTimer = setTimeout(() => box.replaceChildren(), kind === 'error' ? 12000 : 5000);
}

/** On navigation: drop a message, unless it is about the action that led here. */
export function clearStaleFlash() {
  if (Date.now() - flashAt > 1500) document.getElementById('flash')?.replaceChildren();
}

export const errorText = (err) =>
  [err.message, ...(err.errors ?? []).map((e) => `${e.field}: ${e.message}`)].join(' — ');

/** Runs an action from a button: disables it meanwhile and reports failures. */
export async function act(button, action) {
  button.disabled = true;
  try {
    return await action();
  } catch (err) {
    notify(errorText(err), 'error');
    return undefined;
  } finally {
    button.disabled = false;
  }
}

/** The "Load more" button under a paged list: runs `loadNext` (see `act`) when pressed. */
export const loadMoreButton = (loadNext) =>
  h(
    'button',
    { type: 'button', class: 'secondary', onclick: (e) => void act(e.currentTarget, loadNext) },
    'Load more',
  );

/* global location, sessionStorage, URLSearchParams, HTMLElement, FormData */
// Shared helpers for the demo pages. They use only the public SDK (../sdk/cpaas-sdk.mjs) and a runtime
// config.json next to the pages ({ apiBaseUrl, socketUrl }), so the same files work on the local platform and
// behind CloudFront.
import * as Cpaas from '../sdk/cpaas-sdk.mjs';

export { Cpaas };

let configPromise;
export function loadConfig() {
  configPromise ??= fetch(new URL('config.json', location.href))
    .then((r) => (r.ok ? r.json() : {}))
    .catch(() => ({}))
    .then((c) => ({ apiBaseUrl: c.apiBaseUrl || location.origin, socketUrl: c.socketUrl || c.apiBaseUrl || location.origin, ...c }));
  return configPromise;
}

export const params = new URLSearchParams(location.search);

/**
 * A token for `identity`: the `token` URL parameter, a pasted one, or the local platform's `/local/token` helper
 * (which also creates the room `room` by name if needed and returns its id). Resolves to { token, roomId }.
 */
export async function getToken(identity, room) {
  const given = params.get('token') || sessionStorage.getItem(`cpaas-token:${identity}`);
  const cfg = await loadConfig();
  // A room given by name (not an `rm_…` id) is resolved by the local helper; elsewhere rooms are given by id.
  if (given && (!room || /^rm_/.test(room) || !cfg.local)) return { token: given, roomId: room };
  const res = await fetch(`${cfg.apiBaseUrl}/local/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(room ? { identity, roomName: room } : { identity }),
  });
  const body = await res.json().catch(() => ({}));
  if (!res.ok) throw new Error(`token request failed: ${body.code || res.status} ${body.message || ''} (paste a token minted with POST /v1/tokens instead)`);
  return { token: body.token, roomId: body.roomId || room };
}

/** Connects as `identity`; resolves to { client, roomId } (roomId: the id of room `room`, if one was asked for). */
export async function connectAs(identity, room, extra = {}) {
  const cfg = await loadConfig();
  const { token, roomId } = await getToken(identity, room);
  const client = await Cpaas.connect({ url: cfg.socketUrl, token, relayOnly: params.get('relay') === '1', ...extra });
  return { client, roomId };
}

/** Tiny element builder: h('div', { class: 'x', onclick }, 'text', child). */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
    else if (v !== undefined && v !== null && v !== false) el.setAttribute(k, v === true ? '' : String(v));
  }
  for (const c of children.flat()) if (c !== null && c !== undefined) el.append(c instanceof HTMLElement ? c : document.createTextNode(String(c)));
  return el;
}

export const $ = (sel) => document.querySelector(sel);

export function status(text, kind = 'info') {
  const el = $('#status');
  if (!el) return;
  el.textContent = text;
  el.className = `status ${kind}`;
}

export function showError(err) {
  console.error(err);
  status(`${err.code ? `[${err.code}] ` : ''}${err.message || err}`, 'error');
}

/** Fills identity/room inputs from the URL and starts `start()` on submit (or at once with ?auto=1). */
export function setupJoinForm(start) {
  const form = $('#join');
  for (const name of ['identity', 'room', 'to']) {
    const input = form.elements.namedItem(name);
    if (input && params.get(name)) input.value = params.get(name);
  }
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    const data = Object.fromEntries(new FormData(form));
    form.querySelector('button').disabled = true;
    start(data).catch((err) => {
      showError(err);
      form.querySelector('button').disabled = false;
    });
  });
  if (params.get('auto') === '1') form.requestSubmit();
}

export function formatBytes(n) {
  return n < 1024 ? `${n} B` : n < 1 << 20 ? `${(n / 1024).toFixed(1)} kB` : `${(n / (1 << 20)).toFixed(1)} MB`;
}

/** A file-transfer row with progress, cancel, and a download link on arrival. */
export function transferRow(t, list) {
  const bar = h('progress', { max: t.size || 1, value: 0 });
  const label = h('span', {}, `${t.direction === 'send' ? '→' : '←'} ${t.name} (${formatBytes(t.size)})`);
  const actions = h('span', { class: 'actions' });
  const row = h('li', { class: 'transfer' }, label, bar, actions);
  const cancel = h('button', { onclick: () => t.cancel() }, 'cancel');
  if (t.direction === 'receive' && t.state === 'offered') {
    actions.append(
      h('button', { onclick: () => { actions.replaceChildren(cancel); t.accept().catch(() => undefined); } }, 'accept'),
      h('button', { onclick: () => t.decline() }, 'decline'),
    );
  } else actions.append(cancel);
  t.on('progress', (b) => (bar.value = b));
  t.on('done', (blob) => {
    actions.replaceChildren(blob ? h('a', { href: URL.createObjectURL(blob), download: t.name }, 'save') : h('span', { class: 'ok' }, '✓ verified'), h('small', {}, ` sha-256 ${t.sha256.slice(0, 12)}…`));
  });
  t.on('error', (err) => actions.replaceChildren(h('span', { class: 'bad' }, err.code)));
  list.append(row);
  return row;
}

/** Renders a quality sample as a compact line. */
export function qualityText(q) {
  const f = (v, d = 0) => (v === null || v === undefined ? '–' : Number(v).toFixed(d));
  return `${q.localCandidateType ?? '?'}/${q.remoteCandidateType ?? '?'} · RTT ${f(q.rttMs)} ms · jitter ${f(q.jitterMs, 1)} ms · loss ${f(q.lossPct, 1)} % · ↓${f(q.inboundKbps)} ↑${f(q.outboundKbps)} kbit/s · MOS ${f(q.mos, 2)}`;
}

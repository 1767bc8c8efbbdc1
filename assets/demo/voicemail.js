// Voicemail inbox: client.voicemail.list/url/markRead/remove and the 'voicemail' event (docs/voicemail.md).
import { $, h, connectAs, setupJoinForm, status, showError } from './common.js';

const messages = new Map();
let cursor;
let client;

const fmtDuration = (ms) => `${Math.floor(ms / 60000)}:${String(Math.round((ms % 60000) / 1000)).padStart(2, '0')}`;
const fmtDate = (iso) => new Date(iso).toLocaleString();

function row(m) {
  const audio = h('audio', { controls: true, preload: 'none', hidden: true });
  const play = h('button', {
    class: 'play',
    onclick: async () => {
      try {
        audio.src = await client.voicemail.url(m.id);
        audio.hidden = false;
        await audio.play().catch(() => undefined); // autoplay may be refused: the controls are there
        if (!m.read) await setRead(m, true);
      } catch (err) {
        showError(err);
      }
    },
  }, '▶ Play');
  const toggle = h('button', { class: 'toggle-read', onclick: () => setRead(m, !m.read).catch(showError) }, m.read ? 'Mark unread' : 'Mark read');
  const del = h('button', {
    class: 'delete',
    onclick: async () => {
      try {
        await client.voicemail.remove(m.id);
        messages.delete(m.id);
        render();
      } catch (err) {
        showError(err);
      }
    },
  }, 'Delete');
  return h('li', { 'data-id': m.id, class: m.read ? 'read' : 'unread' }, h('b', {}, m.from), h('span', { class: 'status' }, `${fmtDuration(m.durationMs)} · ${fmtDate(m.receivedAt)}${m.mailbox.kind === 'sip-user' ? ` · SIP ${m.mailbox.id}` : ''}`), play, toggle, del, audio);
}

async function setRead(m, read) {
  const updated = await client.voicemail.markRead(m.id, read);
  messages.set(m.id, updated);
  const li = document.querySelector(`li[data-id="${m.id}"]`);
  if (li) {
    Object.assign(m, updated);
    li.className = read ? 'read' : 'unread';
    li.querySelector('.toggle-read').textContent = read ? 'Mark unread' : 'Mark read';
  }
  count();
}

function count() {
  const all = [...messages.values()];
  $('#count').textContent = `(${all.filter((m) => !m.read).length} unread of ${all.length})`;
}

function render() {
  const unreadOnly = $('#unread-only').checked;
  const list = [...messages.values()].filter((m) => !unreadOnly || !m.read).sort((a, b) => (a.id < b.id ? 1 : -1));
  $('#messages').replaceChildren(...list.map(row));
  count();
}

async function load(reset) {
  if (reset) {
    messages.clear();
    cursor = undefined;
  }
  const page = await client.voicemail.list({ limit: 25, ...(cursor ? { cursor } : {}) });
  for (const m of page.items) messages.set(m.id, m);
  cursor = page.nextCursor;
  $('#more').hidden = !cursor;
  render();
}

async function start({ identity }) {
  status('connecting…');
  ({ client } = await connectAs(identity));
  window.demo = { client };
  client.on('error', showError);
  client.on('voicemail', (m) => {
    messages.set(m.id, m);
    render();
    status(`new voicemail from ${m.from}`);
  });
  $('#inbox').hidden = false;
  $('#refresh').onclick = () => load(true).catch(showError);
  $('#more').onclick = () => load(false).catch(showError);
  $('#unread-only').onchange = render;
  await load(true);
  status(`inbox of ${identity}`);
}

setupJoinForm(start);

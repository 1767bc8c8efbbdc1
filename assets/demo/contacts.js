/* global localStorage */
// Presence list: subscribe to contacts, show their status, click to call (opens the call page).
import { $, h, connectAs, setupJoinForm, status, showError } from './common.js';

const presence = new Map();

function render(identity) {
  const contacts = JSON.parse(localStorage.getItem(`cpaas-contacts:${identity}`) || '[]');
  $('#contacts').replaceChildren(
    ...contacts.map((c) => {
      const p = presence.get(c) || { status: 'offline' };
      const callUrl = `call.html?identity=${encodeURIComponent(identity)}&to=${encodeURIComponent(c)}&auto=1&dial=1`;
      return h('li', { 'data-identity': c }, h('span', { class: `dot ${p.status}` }), h('b', {}, c), h('span', { class: 'status' }, `${p.status}${p.note ? ` · ${p.note}` : ''}`), p.status === 'offline' ? null : h('a', { href: callUrl }, h('button', {}, 'Call')));
    }),
  );
  return contacts;
}

async function start({ identity }) {
  status('connecting…');
  const { client } = await connectAs(identity);
  window.demo = { client };
  await client.setPresence('online');
  status(`online as ${identity}`);
  client.on('error', showError);
  $('#me').hidden = false;
  $('#book').hidden = false;
  const update = () => client.setPresence($('#my-status').value, $('#my-note').value || undefined).catch(showError);
  $('#my-status').onchange = update;
  $('#my-note').onchange = update;
  client.on('presence', (p) => {
    presence.set(p.identity, p);
    render(identity);
  });
  const subscribe = async () => {
    const contacts = render(identity);
    if (!contacts.length) return;
    for (const p of await client.subscribePresence(contacts)) presence.set(p.identity, p);
    render(identity);
  };
  $('#add').onsubmit = (e) => {
    e.preventDefault();
    const id = $('#add-id').value.trim();
    if (!id) return;
    const key = `cpaas-contacts:${identity}`;
    const list = JSON.parse(localStorage.getItem(key) || '[]');
    if (!list.includes(id)) localStorage.setItem(key, JSON.stringify([...list, id]));
    $('#add-id').value = '';
    subscribe().catch(showError);
  };
  await subscribe();
}

setupJoinForm(start);

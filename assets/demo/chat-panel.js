/* global alert */
// Chat (with history) and file transfer for a room; used by room.html and chat.html.
import { h, transferRow } from './common.js';

export function mountChat(container, room) {
  const list = h('ul', { class: 'messages', id: 'messages' });
  const typing = h('div', { class: 'status' });
  const input = h('input', { name: 'text', placeholder: 'Message', autocomplete: 'off', style: 'flex:1' });
  const form = h('form', { style: 'display:flex;gap:.4rem', id: 'chat-form' }, input, h('button', {}, 'Send'));
  const older = h('button', { class: 'secondary', onclick: () => room.loadHistory().then(render) }, 'Load older');
  const target = h('select', { id: 'file-target' });
  const fileInput = h('input', { type: 'file', id: 'file-input' });
  const transfers = h('ul', { class: 'transfers', id: 'transfers' });

  const render = () => {
    list.replaceChildren(...room.messages.map((m) => h('li', { 'data-seq': m.seq }, h('b', {}, m.from.displayName || m.from.identity), ': ', m.text)));
    list.scrollTop = list.scrollHeight;
  };
  const renderTargets = () => {
    target.replaceChildren(...[...room.participants.values()].map((p) => h('option', { value: p.id }, p.displayName || p.identity)));
  };
  room.on('message', render);
  room.on('participant-joined', renderTargets);
  room.on('participant-left', renderTargets);
  room.on('typing', (t) => (typing.textContent = t.typing ? `${t.identity} is typing…` : ''));
  room.on('file-offer', (t) => transferRow(t, transfers));
  let typingTimer;
  input.addEventListener('input', () => {
    room.setTyping(true);
    clearTimeout(typingTimer);
    typingTimer = setTimeout(() => room.setTyping(false), 1500);
  });
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    const text = input.value.trim();
    if (!text) return;
    input.value = '';
    room.setTyping(false);
    room.sendMessage(text).then(render, (err) => alert(err.message));
  });
  fileInput.addEventListener('change', async () => {
    const file = fileInput.files?.[0];
    if (!file || !target.value) return;
    const t = await room.sendFile(target.value, file);
    transferRow(t, transfers);
    fileInput.value = '';
  });
  container.append(
    h('div', { class: 'panel' }, h('h2', {}, 'Chat'), older, list, typing, form),
    h('div', { class: 'panel' }, h('h2', {}, 'Send a file'), h('div', { class: 'controls' }, 'to ', target, fileInput), transfers),
  );
  render();
  renderTargets();
}

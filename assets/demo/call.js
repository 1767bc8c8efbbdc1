// 1:1 calls: call an identity, ring, accept/reject/cancel, hold/resume, hang up; chat and files inside the call.
import { Cpaas, $, h, connectAs, setupJoinForm, status, showError, qualityText, transferRow, params } from './common.js';

let client;
let media;
let call = null;

function show(id, on) {
  $(id).hidden = !on;
}

function bindCall(c) {
  call = c;
  window.demo.call = c;
  $('#remote-name').textContent = c.remoteIdentity;
  $('#messages').replaceChildren();
  const st = () => ($('#call-state').textContent = `${c.direction} call with ${c.remoteIdentity}: ${c.state}${c.held ? ' (on hold)' : ''}`);
  st();
  show('#in-call', true);
  show('#dial', false);
  $('#cancel').hidden = !(c.direction === 'outgoing' && c.state === 'ringing');
  c.on('state', () => {
    st();
    $('#cancel').hidden = c.state !== 'ringing';
  });
  c.on('ringing', () => status(`ringing ${c.remoteIdentity}…`));
  c.on('track', ({ stream }) => ($('#remote').srcObject = stream));
  c.on('hold', (held, byRemote) => {
    st();
    $('#hold').textContent = held ? 'Resume' : 'Hold';
    status(held ? `call on hold${byRemote ? ' (by the other side)' : ''}` : 'call resumed');
  });
  c.on('message', (m) => $('#messages').append(h('li', {}, h('b', {}, m.from === 'local' ? 'you' : c.remoteIdentity), ': ', m.text)));
  c.on('file-offer', (t) => transferRow(t, $('#transfers')));
  c.on('quality', (q) => ($('#quality').textContent = qualityText(q)));
  c.on('error', showError);
  c.on('ended', (reason, byRemote) => {
    status(`call ended: ${reason}${byRemote ? ' (other side)' : ''}`);
    $('#remote').srcObject = null;
    show('#in-call', false);
    show('#incoming', false);
    show('#dial', true);
    call = null;
  });
}

async function dial(to) {
  if (!to) return;
  try {
    bindCall(await client.call(to, { media }));
  } catch (err) {
    showError(err);
  }
}

async function start({ identity }) {
  status('connecting…');
  ({ client } = await connectAs(identity));
  media = await Cpaas.LocalMedia.create({ audio: true, video: true });
  window.demo = { client, media };
  $('#local').srcObject = media.stream;
  status(`online as ${identity}`);
  client.setPresence('online').catch(() => undefined);
  show('#dial', true);
  client.on('error', showError);
  client.on('incoming-call', (c) => {
    if (call) return void c.reject('busy');
    show('#incoming', true);
    $('#incoming-text').textContent = `${c.remoteDisplayName || c.remoteIdentity} is calling…`;
    $('#accept').onclick = () => {
      show('#incoming', false);
      bindCall(c);
      c.accept({ media }).catch(showError);
    };
    $('#reject').onclick = () => {
      show('#incoming', false);
      c.reject().catch(showError);
    };
    c.on('ended', () => show('#incoming', false));
  });
  $('#call').onclick = () => dial($('#to').value.trim());
  $('#hangup').onclick = () => call?.hangup().catch(showError);
  $('#cancel').onclick = () => call?.cancel().catch(showError);
  $('#hold').onclick = () => (call?.held ? call.resume() : call?.hold())?.catch(showError);
  $('#chat-form').onsubmit = (e) => {
    e.preventDefault();
    const text = $('#chat-text').value.trim();
    if (!call || !text) return;
    try {
      const m = call.sendMessage(text);
      $('#messages').append(h('li', {}, h('b', {}, 'you'), ': ', m.text));
      $('#chat-text').value = '';
    } catch (err) {
      showError(err);
    }
  };
  $('#file-input').onchange = async () => {
    const f = $('#file-input').files?.[0];
    if (!f || !call) return;
    transferRow(await call.sendFile(f), $('#transfers'));
    $('#file-input').value = '';
  };
  if (params.get('to')) {
    $('#to').value = params.get('to');
    if (params.get('dial') === '1') await dial(params.get('to'));
  }
}

setupJoinForm(start);

// 1:1 calls: call an identity, ring, accept/reject/cancel, hold/resume, hang up; chat and files inside the call.
// Phone calls through the WebRTC ⇄ SIP gateway: dial a number / SIP user / SIP URI, accept or reject a SIP caller,
// hold/resume, DTMF from the dial pad (public SDK only: client.dial, 'incoming-phone-call', PhoneCall).
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

// ---- phone calls (WebRTC ⇄ SIP gateway, docs/gateway.md) ----
let phone = null;

function bindPhone(c) {
  phone = c;
  window.demo.phone = c;
  const st = () => ($('#phone-state').textContent = `${c.direction === 'outgoing' ? 'calling' : 'call from'} ${c.remote}: ${c.state}${c.held ? ' (on hold)' : ''}`);
  st();
  show('#phone-dial', false);
  show('#phone-in-call', true);
  show('#phone-pad', true);
  c.on('state', st);
  c.on('ringing', (early) => status(`${c.remote} is ringing${early ? ' (early media)' : ''}…`));
  c.on('connected', () => status(`phone call with ${c.remote} connected`));
  c.on('hold', (held) => {
    st();
    $('#phone-hold').textContent = held ? 'Resume' : 'Hold';
  });
  c.on('error', showError);
  c.on('ended', (reason, sipStatus) => {
    status(`phone call ended: ${reason}${sipStatus ? ` (SIP ${sipStatus})` : ''}`);
    show('#phone-in-call', false);
    show('#phone-pad', false);
    show('#phone-incoming', false);
    show('#phone-dial', true);
    $('#phone-hold').textContent = 'Hold';
    phone = null;
  });
}

function setupPhone() {
  show('#phone', true);
  $('#phone-call').onclick = async () => {
    const to = $('#phone-to').value.trim();
    if (!to || phone) return;
    try {
      bindPhone(await client.dial(to, { media }));
    } catch (err) {
      showError(err);
    }
  };
  $('#phone-hangup').onclick = () => phone?.hangup().catch(showError);
  $('#phone-hold').onclick = () => (phone?.held ? phone.resume() : phone?.hold())?.catch(showError);
  for (const b of document.querySelectorAll('#phone-pad button')) b.onclick = () => phone?.sendDtmf(b.dataset.digit).catch(showError);
  client.on('incoming-phone-call', (c) => {
    if (phone || call) return void c.reject().catch(() => undefined);
    show('#phone-incoming', true);
    show('#phone-dial', false);
    $('#phone-incoming-text').textContent = `${c.remote} is calling (phone)…`;
    $('#phone-accept').onclick = () => {
      show('#phone-incoming', false);
      bindPhone(c);
      c.accept({ media }).catch(showError);
    };
    $('#phone-reject').onclick = () => {
      show('#phone-incoming', false);
      show('#phone-dial', true);
      c.reject().catch(showError);
    };
    c.on('ended', () => {
      show('#phone-incoming', false);
      if (!phone) show('#phone-dial', true);
    });
  });
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
  setupPhone();
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
  if (params.get('phone')) {
    $('#phone-to').value = params.get('phone');
    if (params.get('dial') === '1') $('#phone-call').click();
  }
  if (params.get('to')) {
    $('#to').value = params.get('to');
    if (params.get('dial') === '1') await dial(params.get('to'));
  }
}

setupJoinForm(start);

/* global location */
// Video room: grid of participants, mute, screen share, device picker, quality panel, chat and files.
import { Cpaas, $, h, connectAs, setupJoinForm, status, showError, qualityText, params } from './common.js';
import { mountChat } from './chat-panel.js';

const tiles = new Map(); // key → { el, video, q }

function tile(key, label) {
  let t = tiles.get(key);
  if (t) return t;
  const video = h('video', { autoplay: true, playsinline: true });
  const q = h('div', { class: 'q' });
  const badges = h('div', { class: 'badges' });
  const name = h('div', { class: 'name' }, label);
  const el = h('div', { class: 'tile', 'data-key': key }, video, q, badges, name);
  $('#grid').append(el);
  t = { el, video, q, badges, name };
  tiles.set(key, t);
  return t;
}

function dropTile(key) {
  tiles.get(key)?.el.remove();
  tiles.delete(key);
}

async function fillDevices(media) {
  const d = await Cpaas.listDevices();
  const fill = (sel, list, current) => sel.replaceChildren(...list.map((x, i) => h('option', { value: x.deviceId, selected: x.deviceId === current }, x.label || `device ${i + 1}`)));
  fill($('#mic-select'), d.audioinput, media.audioTrack?.getSettings().deviceId);
  fill($('#cam-select'), d.videoinput, media.videoTrack?.getSettings().deviceId);
}

async function start({ identity, room: roomName, video }) {
  status('connecting…');
  const { client, roomId } = await connectAs(identity, roomName);
  const media = await Cpaas.LocalMedia.create({ audio: true, video: !!video });
  const room = await client.joinRoom(roomId, { displayName: params.get('name') || identity, media });
  window.demo = { client, room, media };
  status(`in room ${roomId} as ${identity} (${room.participantId})`);
  client.on('state', (s) => status(s === 'connected' ? `in room ${roomId}` : `signalling ${s}…`, s === 'connected' ? 'info' : 'error'));
  client.on('error', showError);
  room.on('error', showError);

  const me = tile('local', `${identity} (you)`);
  me.video.muted = true;
  me.video.srcObject = media.stream;

  const label = (p) => p.displayName || p.identity;
  const badge = (p) => `${p.state.audio ? '' : '🔇'}${p.state.video ? '' : '📷✕'}${p.state.connection === 'reconnecting' ? ' ⟳' : ''}`;
  room.on('track', ({ participant, track, stream, source }) => {
    const t = tile(`${participant.id}:${source === 'screen' ? 'screen' : 'cam'}`, source === 'screen' ? `${label(participant)} · screen` : label(participant));
    if (t.video.srcObject !== stream) t.video.srcObject = stream;
    if (track.kind === 'video') t.el.dataset.video = '1';
  });
  room.on('track-removed', ({ participant, source }) => source === 'screen' && dropTile(`${participant.id}:screen`));
  room.on('participant-updated', (p) => {
    const t = tiles.get(`${p.id}:cam`);
    if (t) t.badges.textContent = badge(p);
  });
  room.on('participant-left', (p) => {
    dropTile(`${p.id}:cam`);
    dropTile(`${p.id}:screen`);
  });
  room.on('quality', (pid, q) => {
    const t = tiles.get(`${pid}:cam`);
    if (t) t.q.textContent = qualityText(q);
  });
  room.on('closed', (reason) => status(`room closed (${reason})`));

  $('#controls').hidden = false;
  $('#mute-mic').onclick = async () => {
    const m = !media.isMuted('microphone');
    await room.mute('microphone', m);
    $('#mute-mic').textContent = m ? 'Unmute mic' : 'Mute mic';
  };
  $('#mute-cam').onclick = async () => {
    const m = !media.isMuted('camera');
    await room.mute('camera', m);
    $('#mute-cam').textContent = m ? 'Start camera' : 'Stop camera';
  };
  $('#screen').onclick = async () => {
    try {
      if (media.screenTrack) await room.stopScreen();
      else {
        await room.shareScreen();
        const t = tile('local:screen', 'your screen');
        t.video.muted = true;
        t.video.srcObject = media.screenStream;
      }
      if (!media.screenTrack) dropTile('local:screen');
      $('#screen').textContent = media.screenTrack ? 'Stop sharing' : 'Share screen';
    } catch (err) {
      showError(err);
    }
  };
  media.on('screen-ended', () => {
    dropTile('local:screen');
    $('#screen').textContent = 'Share screen';
  });
  $('#mic-select').onchange = (e) => media.useDevice('audioinput', e.target.value).catch(showError);
  $('#cam-select').onchange = (e) => media.useDevice('videoinput', e.target.value).then(() => (me.video.srcObject = media.stream)).catch(showError);
  Cpaas.onDeviceChange(() => fillDevices(media));
  await fillDevices(media);
  $('#leave').onclick = async () => {
    await client.disconnect();
    media.stop();
    location.reload();
  };
  mountChat($('#side'), room);
}

setupJoinForm(start);

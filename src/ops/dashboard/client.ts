/**
 * The dashboard's script, sent to the browser as is (plain ES2020, no build step, no dependency).
 * It never polls: the balancer pushes snapshots and events over Server-Sent Events (`/events`).
 */
export const DASHBOARD_JS = String.raw`
const SVG = 'http://www.w3.org/2000/svg';
const byId = (id) => document.getElementById(id);
let snapshot = null;
let token = sessionStorage.getItem('ringlb-token');

/**
 * A replica's colour follows its number, so a replacement keeps the colour of the one it replaces.
 * Hues step by the golden angle; numbers whose hues still come close (21 apart, 13, 34, 55...) are
 * never 4 apart, so the lightness, which cycles every 4, tells them apart.
 */
function colour(number) {
  return 'hsl(' + ((number * 137.508) % 360).toFixed(1) + ' 62% ' + [52, 38, 66, 45][number % 4] + '%)';
}

function point(fraction, radius) {
  const angle = fraction * 2 * Math.PI - Math.PI / 2;
  return [radius * Math.cos(angle), radius * Math.sin(angle)];
}

/** A ring segment from start to end (fractions of a turn, clockwise from the top). */
function segment(start, end, outer, inner) {
  if (end - start >= 0.9999) end = start + 0.9999;
  const large = end - start > 0.5 ? 1 : 0;
  const [x1, y1] = point(start, outer);
  const [x2, y2] = point(end, outer);
  const [x3, y3] = point(end, inner);
  const [x4, y4] = point(start, inner);
  return 'M' + x1 + ' ' + y1 + 'A' + outer + ' ' + outer + ' 0 ' + large + ' 1 ' + x2 + ' ' + y2 +
    'L' + x3 + ' ' + y3 + 'A' + inner + ' ' + inner + ' 0 ' + large + ' 0 ' + x4 + ' ' + y4 + 'Z';
}

function el(name, attributes, text) {
  const node = document.createElementNS(SVG, name);
  for (const key in attributes) node.setAttribute(key, attributes[key]);
  if (text !== undefined) node.textContent = text;
  return node;
}

function drawRing() {
  const svg = byId('ring');
  const ring = snapshot.ring;
  const nodes = [];
  nodes.push(el('circle', { r: 78, fill: 'none', stroke: 'currentColor', 'stroke-opacity': 0.12, 'stroke-width': 34 }));
  for (const arc of ring.arcs) {
    const member = ring.members[arc.member];
    const path = el('path', { d: segment(arc.start, arc.end, 95, 62), fill: colour(member.number), 'data-replica': member.name });
    path.appendChild(el('title', {}, member.name + ': ' + ((arc.end - arc.start) * 100).toFixed(1) + '% of the circle'));
    nodes.push(path);
  }
  for (const p of ring.points) {
    const member = ring.members[p.member];
    const [x, y] = point(p.at, 103);
    nodes.push(el('circle', { class: 'vnode', cx: x, cy: y, r: 3, fill: colour(member.number) }));
  }
  const healthy = snapshot.replicas.filter((r) => r.state === 'healthy').length;
  nodes.push(el('text', { class: 'hub', x: 0, y: -4 }, healthy + ' / ' + snapshot.replicas.length));
  nodes.push(el('text', { class: 'hub-sub', x: 0, y: 12 }, 'in the ring'));
  svg.replaceChildren(...nodes);
  byId('ring-note').textContent = ring.exact
    ? 'Each slot coloured by the replica its requests go to; dots are virtual nodes.'
    : 'Arcs sized by each replica\u2019s share of the key space.';
}

function ago(at) {
  const seconds = Math.max(0, (Date.now() - at) / 1000);
  return seconds < 60 ? seconds.toFixed(1) + ' s ago' : Math.round(seconds / 60) + ' min ago';
}

function cell(row, text, className) {
  const td = row.insertCell();
  td.textContent = text;
  if (className) td.className = className;
  return td;
}

function renderTable() {
  const body = document.querySelector('#replicas tbody');
  const rows = snapshot.replicas.map((replica) => {
    const row = document.createElement('tr');
    row.dataset.replica = replica.name;
    row.dataset.state = replica.state;
    const name = row.insertCell();
    const swatch = document.createElement('span');
    swatch.className = 'swatch';
    swatch.style.background = colour(replica.number);
    name.append(swatch, replica.name);
    const state = document.createElement('span');
    state.className = 'state state-' + replica.state;
    state.textContent = replica.state;
    const stateCell = row.insertCell();
    stateCell.append(state);
    if (replica.warming !== null) {
      // Slow start: the replica ramps up to its weight, a step at a time.
      const warming = document.createElement('span');
      warming.className = 'warming';
      warming.textContent = 'slow start ' + Math.round(replica.warming * 100) + ' %';
      warming.title = 'ramping up to its full weight after entering the ring (--slow-start)';
      stateCell.append(' ', warming);
    }
    // Where it is and what runs it, to find it with curl, ps or docker ps.
    const where = row.insertCell();
    where.className = 'where';
    const address = document.createElement('span');
    address.className = 'addr';
    address.textContent = replica.origin === null ? '–' : replica.origin.replace(/^[a-z0-9]+:\/\//, '');
    const runs = document.createElement('span');
    runs.className = 'proc';
    runs.textContent =
      replica.pid !== null
        ? 'pid ' + replica.pid
        : replica.containerId !== null
          ? 'container ' + replica.containerId.slice(0, 12)
          : '';
    where.append(address, runs);
    cell(row, (replica.share * 100).toFixed(1) + ' %', 'num');
    cell(row, replica.rps === null ? '–' : String(replica.rps), 'num');
    cell(row, replica.p99Ms === null ? '–' : replica.p99Ms + ' ms', 'num');
    const check = replica.lastCheck;
    const checkCell = cell(row, check === null ? '–' : (check.failure === null ? '\u2713 ' : '\u2717 ') + ago(check.at));
    if (check && check.failure !== null) {
      checkCell.className = 'check-failed';
      checkCell.title = check.failure;
    }
    const button = document.createElement('button');
    button.className = 'remove';
    button.type = 'button';
    button.textContent = 'Remove';
    button.setAttribute('aria-label', 'remove ' + replica.name);
    button.addEventListener('click', () => control('/rm', { n: 1, hostnames: [replica.name] }, button));
    row.insertCell().append(button);
    return row;
  });
  body.replaceChildren(...rows);
  const healthy = snapshot.replicas.filter((r) => r.state === 'healthy').length;
  byId('summary').textContent = snapshot.replicas.length + ' replicas, ' + healthy + ' healthy';
}

function renderHotKeys() {
  const body = document.querySelector('#hot-keys tbody');
  const keys = snapshot.hotKeys;
  if (keys === null) {
    body.replaceChildren();
    byId('hot-note').textContent = 'Hot keys are off (--hot-keys false).';
    return;
  }
  const rows = keys.map((hot) => {
    const row = document.createElement('tr');
    row.dataset.key = hot.key;
    cell(row, hot.key, 'key');
    cell(row, String(hot.rps), 'num');
    cell(row, (hot.share * 100).toFixed(1) + ' %', 'num');
    const owner = snapshot.replicas.find((r) => r.name === hot.owner);
    const td = row.insertCell();
    if (owner) {
      const swatch = document.createElement('span');
      swatch.className = 'swatch';
      swatch.style.background = colour(owner.number);
      td.append(swatch);
    }
    td.append(hot.owner === null ? '–' : hot.owner);
    return row;
  });
  body.replaceChildren(...rows);
}

function describeEvent(event) {
  if (event.kind === 'ring') {
    return ['ev-ring', 'ring rebuilt (' + event.reason + '): ' + (event.movedRatio * 100).toFixed(1) + ' % of keys moved'];
  }
  return [event.to === 'down' ? 'ev-down' : 'ev-state',
    event.replica + ': ' + (event.from || 'new') + ' \u2192 ' + (event.to || 'gone') + ' (' + event.reason + ')'];
}

function addEvent(event) {
  const [kind, text] = describeEvent(event);
  const item = document.createElement('li');
  item.className = kind;
  item.dataset.kind = event.kind;
  if (event.replica) item.dataset.replica = event.replica;
  if (event.to) item.dataset.to = event.to;
  const time = document.createElement('time');
  time.dateTime = new Date(event.at).toISOString();
  time.textContent = new Date(event.at).toLocaleTimeString([], { hour12: false });
  const span = document.createElement('span');
  span.textContent = text;
  item.append(time, span);
  const list = byId('timeline');
  list.prepend(item);
  while (list.children.length > 200) list.lastChild.remove();
}

function showError(message) {
  const box = byId('error');
  box.textContent = message;
  box.hidden = message === '';
}

/** Calls the control API; asks for the admin token when the balancer answers 401. */
async function control(path, body, button) {
  showError('');
  if (button) button.disabled = true;
  try {
    for (;;) {
      const headers = { 'content-type': 'application/json' };
      if (token) headers.authorization = 'Bearer ' + token;
      const response = await fetch(path, { method: 'POST', headers, body: JSON.stringify(body) });
      if (response.status === 401) {
        const entered = window.prompt('This balancer needs its admin token:');
        if (!entered) return showError('Not changed: the admin token is required.');
        token = entered;
        sessionStorage.setItem('ringlb-token', token);
        continue;
      }
      if (!response.ok) {
        const reply = await response.json().catch(() => null);
        showError((reply && reply.message) || 'The balancer answered ' + response.status);
      }
      return;
    }
  } catch (error) {
    showError('Could not reach the balancer: ' + error.message);
  } finally {
    if (button) button.disabled = false;
  }
}

byId('add-form').addEventListener('submit', (event) => {
  event.preventDefault();
  const input = byId('add-name');
  const name = input.value.trim();
  control('/add', name ? { n: 1, hostnames: [name] } : { n: 1 }, byId('add')).then(() => (input.value = ''));
});

const source = new EventSource('/events');
source.addEventListener('open', () => {
  byId('conn').textContent = 'live';
  byId('conn').dataset.live = 'true';
});
source.addEventListener('error', () => {
  byId('conn').textContent = 'reconnecting…';
  byId('conn').dataset.live = 'false';
});
source.addEventListener('timeline', (message) => {
  byId('timeline').replaceChildren();
  for (const event of JSON.parse(message.data)) addEvent(event);
});
source.addEventListener('event', (message) => addEvent(JSON.parse(message.data)));
source.addEventListener('snapshot', (message) => {
  const first = snapshot === null;
  snapshot = JSON.parse(message.data);
  drawRing();
  renderTable();
  renderHotKeys();
  if (first) performance.mark('ringlb:first-snapshot');
});
`;

// The local console's page: plain ES module, no build step, no network beyond this origin.
// Everything shown comes from hostile input (lead bodies, event details), so it is only ever set as
// text (textContent), never as HTML.

const BASE = '/_local/console/api';
const token = document.querySelector('meta[name="console-token"]')?.getAttribute('content') ?? '';
const MAX_ROWS = 2000;

/** Creates an element with text and attributes. */
function el(tag, options = {}, ...children) {
  const node = document.createElement(tag);
  if (options.text !== undefined) node.textContent = String(options.text);
  if (options.className) node.className = options.className;
  for (const [name, value] of Object.entries(options.attrs ?? {})) node.setAttribute(name, String(value));
  if (options.onClick) node.addEventListener('click', options.onClick);
  for (const child of children) if (child) node.append(child);
  return node;
}

async function getJson(path) {
  const response = await fetch(`${BASE}${path}`, { headers: { accept: 'application/json' } });
  return { status: response.status, body: await response.json() };
}

async function postJson(path, body) {
  const response = await fetch(`${BASE}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-console-token': token },
    body: JSON.stringify(body),
  });
  return { status: response.status, body: await response.json() };
}

const time = (iso) => iso.slice(11, 23);

// ---------------------------------------------------------------------------------------------
// Views

const views = ['stream', 'journey', 'actions', 'system'];
function show(view) {
  for (const name of views) {
    document.getElementById(`view-${name}`).hidden = name !== view;
    document
      .querySelector(`nav button[data-view="${name}"]`)
      .setAttribute('aria-pressed', String(name === view));
  }
  if (view === 'system') void renderSystem();
  if (view === 'actions') void loadActions();
}
for (const button of document.querySelectorAll('nav button')) {
  button.addEventListener('click', () => show(button.dataset.view));
}

// ---------------------------------------------------------------------------------------------
// Live stream

const records = [];
let paused = false;
const functions = new Set();
const rows = document.getElementById('stream-rows');
const filters = {
  kind: document.getElementById('filter-kind'),
  fn: document.getElementById('filter-function'),
  id: document.getElementById('filter-id'),
};

function matches(record) {
  const kind = filters.kind.value;
  const fn = filters.fn.value;
  const id = filters.id.value.trim().toLowerCase();
  return (
    (!kind || record.kind === kind) &&
    (!fn || record.function === fn) &&
    (!id || record.ids.some((value) => value.toLowerCase().includes(id)))
  );
}

function row(record) {
  const status = el('td', { text: record.status });
  if (/^(error|dead-lettered|retry|partial|[45]\d\d)$/.test(record.status)) status.className = 'bad';
  const what = el('td', { className: 'what', text: record.title });
  const key = record.refs.submissionId ?? record.refs.commandId;
  if (key) {
    what.append(
      ' ',
      el('button', {
        text: 'journey',
        attrs: { type: 'button', 'data-key': key },
        onClick: (event) => {
          event.stopPropagation();
          openJourney(key);
        },
      }),
    );
  }
  const tr = el(
    'tr',
    { attrs: { 'data-seq': record.seq, 'data-kind': record.kind } },
    el('td', { text: time(record.at) }),
    el('td', {}, el('span', { className: `kind kind-${record.kind}`, text: record.kind })),
    el('td', { text: record.function ?? '' }),
    what,
    status,
    el('td', { text: record.durationMs ?? '' }),
  );
  tr.addEventListener('click', () => showDetail(record));
  return tr;
}

function renderStream() {
  const shown = [];
  for (let i = records.length - 1; i >= 0 && shown.length < 500; i--) {
    if (matches(records[i])) shown.push(row(records[i]));
  }
  rows.replaceChildren(...shown);
  document.getElementById('stream-count').textContent = `${shown.length} shown of ${records.length}`;
}

function showDetail(record) {
  const detail = document.getElementById('stream-detail');
  detail.hidden = false;
  detail.replaceChildren(
    el('h3', { text: `${record.kind} #${record.seq} at ${record.at}` }),
    el('pre', { text: JSON.stringify({ refs: record.refs, ...record.data }, null, 2) }),
  );
}

function addFunction(name) {
  if (!name || functions.has(name)) return;
  functions.add(name);
  filters.fn.append(el('option', { text: name, attrs: { value: name } }));
}

let renderQueued = false;
function onRecord(record) {
  records.push(record);
  if (records.length > MAX_ROWS) records.splice(0, records.length - MAX_ROWS);
  addFunction(record.function);
  if (paused || renderQueued) return;
  renderQueued = true;
  requestAnimationFrame(() => {
    renderQueued = false;
    renderStream();
  });
}

function connect() {
  const since = records.at(-1)?.seq;
  const source = new EventSource(`${BASE}/stream${since === undefined ? '' : `?since=${since}`}`);
  const status = document.getElementById('connection');
  source.addEventListener('open', () => {
    status.textContent = 'live';
  });
  source.addEventListener('activity', (event) => onRecord(JSON.parse(event.data)));
  source.addEventListener('error', () => {
    status.textContent = 'reconnecting…';
  });
}

for (const input of Object.values(filters)) input.addEventListener('input', renderStream);
document.getElementById('stream-filters').addEventListener('submit', (event) => event.preventDefault());
document.getElementById('stream-pause').addEventListener('click', (event) => {
  paused = !paused;
  event.target.setAttribute('aria-pressed', String(paused));
  event.target.textContent = paused ? 'Resume' : 'Pause';
  if (!paused) renderStream();
});

// ---------------------------------------------------------------------------------------------
// Journey

let journeyKey = '';
let journeyTimer;

function openJourney(key) {
  document.getElementById('journey-key').value = key;
  show('journey');
  void loadJourney(key);
}

async function loadJourney(key) {
  journeyKey = key;
  clearTimeout(journeyTimer);
  const { status, body } = await getJson(`/journey?key=${encodeURIComponent(key)}`);
  if (key !== journeyKey) return;
  const target = document.getElementById('journey');
  if (status !== 200) {
    target.replaceChildren(el('p', { className: 'bad', text: body.message }));
    return;
  }
  target.replaceChildren(...renderJourney(body));
  if (document.getElementById('journey-follow').checked) {
    journeyTimer = setTimeout(() => {
      if (!document.getElementById('view-journey').hidden) void loadJourney(key);
    }, 1500);
  }
}

function renderJourney(journey) {
  if (!journey.found) return [el('p', { className: 'muted', text: `Nothing seen yet for ${journey.key}.` })];
  const parts = [
    el('h2', { text: `Journey of ${journey.key}` }),
    el('p', {
      className: 'muted',
      text: [
        journey.submissionIds.length ? `submission ${journey.submissionIds.join(', ')}` : '',
        journey.commandIds.length ? `command ${journey.commandIds.join(', ')}` : '',
        `${journey.records.length} steps`,
      ]
        .filter(Boolean)
        .join(' · '),
    }),
  ];
  if (journey.overlapping) {
    parts.push(
      el('p', {
        className: 'muted',
        text: 'Another delivery ran at the same time: the Salescaling calls below are matched by time and may include its calls.',
      }),
    );
  }
  const start = journey.records[0]?.t ?? 0;
  const list = el('ol', { className: 'timeline', attrs: { 'data-testid': 'timeline' } });
  for (const record of journey.records) {
    const status = el('span', { text: record.status });
    if (/^(error|dead-lettered|retry|partial|[45]\d\d)$/.test(record.status)) status.className = 'bad';
    let what = record.title;
    if (record.kind === 'salescaling' && record.data.waitMs !== null && record.data.waitMs !== undefined) {
      what += ` — waited ${record.data.waitMs} ms`;
    }
    if (record.kind === 'http' && record.data.answer) what += ` — answered ${record.data.answer}`;
    if (record.kind === 'delivery' && record.data.error) what += ` — ${record.data.error}`;
    list.append(
      el(
        'li',
        { className: record.kind === 'salescaling' ? 'call' : '', attrs: { 'data-kind': record.kind } },
        el('span', { text: `+${record.t - start} ms` }),
        el('span', {}, el('span', { className: `kind kind-${record.kind}`, text: record.kind })),
        el('span', { text: what }),
        status,
        el('span', { text: record.durationMs === undefined ? '' : `${record.durationMs} ms` }),
      ),
    );
  }
  parts.push(list);
  for (const letter of journey.records.filter((r) => r.kind === 'dead-letter')) {
    const box = el(
      'div',
      { className: 'dead', attrs: { 'data-testid': 'dead-letter' } },
      el('h3', { text: `Dead-lettered: ${letter.data.reason}` }),
      el('p', {
        text: `${letter.data.attempts} attempt(s), queue ${letter.data.queue ?? letter.data.source}`,
      }),
    );
    const queue = letter.data.queue;
    if (queue && journey.deadLetterQueues.includes(queue)) {
      const result = el('span', { className: 'result' });
      box.append(
        el('button', {
          text: `Redrive ${queue}`,
          attrs: { type: 'button' },
          onClick: async () => {
            const { body } = await postJson('/actions/redrive', { queue });
            result.textContent = body.message ?? `${body.moved} message(s) moved back`;
          },
        }),
        ' ',
        result,
      );
    }
    parts.push(box);
  }
  for (const view of journey.opportunities) parts.push(renderOpportunity(view));
  return parts;
}

function renderOpportunity(view) {
  const box = el('div', { className: 'opportunity', attrs: { 'data-testid': 'opportunity' } });
  if (!view.found) {
    box.append(
      el('p', {
        className: 'bad',
        text: `Opportunity ${view.id}: not readable (${view.error ?? view.status})`,
      }),
    );
    return box;
  }
  const o = view.opportunity;
  box.append(
    el('h3', { text: `Opportunity: ${o.name ?? view.id}` }),
    el('p', {
      text: [
        `id ${view.id}`,
        o.status ? `status ${o.status}` : '',
        o.amount !== undefined ? `amount ${o.amount}` : '',
      ]
        .filter(Boolean)
        .join(' · '),
    }),
  );
  const contacts = el(
    'section',
    { attrs: { 'data-testid': 'contacts' } },
    el('h4', { text: `Contacts (${view.contacts.length})` }),
  );
  for (const c of view.contacts) {
    contacts.append(
      el('p', {
        text:
          [c.firstName, c.lastName].filter(Boolean).join(' ') +
          (c.email ? ` <${c.email}>` : '') +
          ` · ${c.id}`,
      }),
    );
  }
  const companies = el(
    'section',
    { attrs: { 'data-testid': 'companies' } },
    el('h4', { text: `Companies (${view.companies.length})` }),
  );
  for (const c of view.companies) {
    companies.append(el('p', { text: `${c.name ?? ''}${c.domain ? ` (${c.domain})` : ''} · ${c.id}` }));
  }
  box.append(el('div', { className: 'links' }, contacts, companies));
  return box;
}

document.getElementById('journey-form').addEventListener('submit', (event) => {
  event.preventDefault();
  const key = document.getElementById('journey-key').value.trim();
  if (key) void loadJourney(key);
});

// ---------------------------------------------------------------------------------------------
// Actions

let system;
async function loadSystem() {
  system = (await getJson('/system')).body;
  return system;
}

async function loadActions() {
  const s = await loadSystem();
  const type = document.getElementById('command-type');
  if (type.options.length === 0) {
    for (const command of s.commands)
      type.append(el('option', { text: command.detailType, attrs: { value: command.detailType } }));
    fillCommandExample();
  }
  const schedule = document.getElementById('schedule-name');
  schedule.replaceChildren(
    ...s.schedules.map((x) =>
      el('option', { text: `${x.schedule} (${x.expression})`, attrs: { value: x.schedule } }),
    ),
  );
  const queue = document.getElementById('redrive-queue');
  queue.replaceChildren(
    ...s.deadLetterQueues.map((q) =>
      el('option', { text: `${q.name} (${q.depth})`, attrs: { value: q.name } }),
    ),
  );
  const faults = await getJson('/faults');
  const result = document.getElementById('faults-result');
  if (faults.status === 200) {
    const settings = faults.body.settings;
    result.textContent = `Now: errors ${settings.errorRate}, 429s ${settings.rateLimitRate}, latency ${settings.latencyMs} ms`;
  } else result.textContent = faults.body.message;
}

function fillCommandExample() {
  const chosen = system.commands.find((c) => c.detailType === document.getElementById('command-type').value);
  document.getElementById('command-detail').value = JSON.stringify(chosen?.example ?? {}, null, 2);
}
document.getElementById('command-type').addEventListener('change', fillCommandExample);

function journeyLink(key) {
  return el('button', { text: 'Open journey', attrs: { type: 'button' }, onClick: () => openJourney(key) });
}

document.getElementById('lead-form').addEventListener('submit', async (event) => {
  event.preventDefault();
  const value = (id) => document.getElementById(id).value.trim();
  const lead = { provider: value('lead-provider'), email: value('lead-email') };
  if (value('lead-first')) lead.firstName = value('lead-first');
  if (value('lead-last')) lead.lastName = value('lead-last');
  if (value('lead-company')) lead.company = value('lead-company');
  if (value('lead-budget')) lead.budget = Number(value('lead-budget'));
  const result = document.getElementById('lead-result');
  const { status, body } = await postJson('/actions/lead', lead);
  if (status !== 200) {
    result.replaceChildren(el('span', { className: 'bad', text: body.message }));
    return;
  }
  result.replaceChildren(
    el('span', { text: `Answered ${body.status}; submission ${body.submissionId ?? '(none)'} ` }),
    journeyLink(body.submissionId ?? body.email),
  );
});

document.getElementById('command-form').addEventListener('submit', async (event) => {
  event.preventDefault();
  const result = document.getElementById('command-result');
  let detail;
  try {
    detail = JSON.parse(document.getElementById('command-detail').value);
  } catch {
    result.replaceChildren(el('span', { className: 'bad', text: 'detail: not JSON' }));
    return;
  }
  const { status, body } = await postJson('/actions/command', {
    detailType: document.getElementById('command-type').value,
    detail,
  });
  if (status !== 200) {
    result.replaceChildren(el('span', { className: 'bad', text: body.message }));
    return;
  }
  result.replaceChildren(el('span', { text: `Put as ${body.commandId} ` }), journeyLink(body.commandId));
});

document.getElementById('schedule-form').addEventListener('submit', async (event) => {
  event.preventDefault();
  const result = document.getElementById('schedule-result');
  result.textContent = 'running…';
  const { body } = await postJson('/actions/schedule', {
    name: document.getElementById('schedule-name').value,
    dryRun: document.getElementById('schedule-dry').checked,
  });
  result.textContent = JSON.stringify(body.result ?? body, null, 2);
});

document.getElementById('redrive-form').addEventListener('submit', async (event) => {
  event.preventDefault();
  const { body } = await postJson('/actions/redrive', {
    queue: document.getElementById('redrive-queue').value,
  });
  document.getElementById('redrive-result').textContent =
    body.message ?? `${body.moved} message(s) moved back`;
  void loadActions();
});

async function setFaults(input) {
  const { status, body } = await postJson('/actions/faults', input);
  const result = document.getElementById('faults-result');
  if (status !== 200) result.textContent = body.message;
  else {
    const s = body.settings;
    result.textContent = `Now: errors ${s.errorRate}, 429s ${s.rateLimitRate}, latency ${s.latencyMs} ms`;
  }
}
document.getElementById('faults-form').addEventListener('submit', (event) => {
  event.preventDefault();
  const number = (id) => Number(document.getElementById(id).value);
  void setFaults({
    errorRate: number('fault-error'),
    rateLimitRate: number('fault-429'),
    retryAfterSeconds: number('fault-retry-after'),
    latencyMs: number('fault-latency'),
  });
});
document.getElementById('faults-clear').addEventListener('click', () => void setFaults({ clear: true }));

// ---------------------------------------------------------------------------------------------
// System picture: triggers → functions → bus, Salescaling and dead-letter queues, and the bus's
// rules back to the functions, with the counts since start on each arrow.

const SVG = 'http://www.w3.org/2000/svg';
function svg(tag, attrs = {}, text) {
  const node = document.createElementNS(SVG, tag);
  for (const [name, value] of Object.entries(attrs)) node.setAttribute(name, String(value));
  if (text !== undefined) node.textContent = String(text);
  return node;
}

async function renderSystem() {
  const s = await loadSystem();
  const counts = s.counts;
  const count = (key) => counts[key] ?? 0;
  const W = 180;
  const H = 34;
  const GAP = 16;
  const col = [20, 380, 760];
  const nodes = new Map();
  const picture = svg('svg', { role: 'img', 'aria-label': 'The system, from its declaration' });
  const node = (id, x, y, label, kind) => {
    const g = svg('g', { class: `node ${kind}`, 'data-node': id });
    g.append(svg('rect', { x, y, width: W, height: H, rx: 5 }), svg('text', { x: x + 8, y: y + 21 }, label));
    picture.append(g);
    nodes.set(id, { x, y });
  };
  const arrow = (from, to, label, bend = 0) => {
    const a = nodes.get(from);
    const b = nodes.get(to);
    if (!a || !b) return;
    const backwards = b.x < a.x;
    const x1 = backwards ? a.x : a.x + W;
    const x2 = backwards ? b.x + W : b.x;
    const y1 = a.y + H / 2 + bend;
    const y2 = b.y + H / 2 + bend;
    const mx = (x1 + x2) / 2;
    picture.append(
      svg('path', { d: `M${x1},${y1} C${mx},${y1} ${mx},${y2} ${x2},${y2}`, 'marker-end': 'url(#arrow)' }),
      svg('text', { class: 'count', x: mx - 30, y: (y1 + y2) / 2 - 4, 'data-edge': `${from}->${to}` }, label),
    );
  };
  const defs = svg('defs');
  const marker = svg('marker', {
    id: 'arrow',
    viewBox: '0 0 10 10',
    refX: 9,
    refY: 5,
    markerWidth: 7,
    markerHeight: 7,
    orient: 'auto',
  });
  marker.append(svg('path', { d: 'M0,0 L10,5 L0,10 z', fill: '#94a3b8', stroke: 'none' }));
  defs.append(marker);
  picture.append(defs);

  let y = 20;
  for (const r of s.routes) {
    node(`route:${r.route}`, col[0], y, r.route, 'src');
    y += H + GAP;
  }
  for (const sc of s.schedules) {
    node(`schedule:${sc.schedule}`, col[0], y, `⏱ ${sc.schedule}`, 'src');
    y += H + GAP;
  }
  const left = y;
  y = 20;
  for (const f of s.functions) {
    node(`fn:${f.name}`, col[1], y, `λ ${f.name}`, 'fn');
    y += H + GAP * 2;
  }
  const middle = y;
  node('bus', col[2], 20, 'Event bus', 'out');
  node('salescaling', col[2], 20 + (H + GAP) * 2, `Salescaling (${count('salescaling')} calls)`, 'out');
  y = 20 + (H + GAP) * 4;
  for (const q of s.deadLetterQueues) {
    node(`dlq:${q.name}`, col[2], y, `✉ ${q.name} (${q.depth})`, 'dlq');
    y += H + GAP;
  }
  const height = Math.max(left, middle, y) + 20;
  picture.setAttribute('viewBox', `0 0 ${col[2] + W + 20} ${height}`);
  picture.setAttribute('width', String(col[2] + W + 20));
  picture.setAttribute('height', String(height));

  for (const r of s.routes) arrow(`route:${r.route}`, `fn:${r.function}`, String(count(`route:${r.route}`)));
  for (const sc of s.schedules)
    arrow(`schedule:${sc.schedule}`, `fn:${sc.function}`, `${count(`schedule:${sc.schedule}`)} runs`);
  for (const f of s.functions) {
    if (f.publishes.length > 0) arrow(`fn:${f.name}`, 'bus', `${count(`put:${f.name}`)} events`, -8);
    if (f.salescaling) arrow(`fn:${f.name}`, 'salescaling', `${s.salescalingByFunction?.[f.name] ?? 0}`);
  }
  for (const rule of s.rules) {
    arrow('bus', `fn:${rule.function}`, `${rule.rule}: ${count(`rule:${rule.rule}`)}`, 8);
  }
  for (const q of s.deadLetterQueues)
    arrow(`fn:${q.function}`, `dlq:${q.name}`, String(count(`dlq:${q.name}`)), 4);
  document.getElementById('system').replaceChildren(picture);
}

setInterval(() => {
  if (!document.getElementById('view-system').hidden) void renderSystem();
}, 2000);

connect();

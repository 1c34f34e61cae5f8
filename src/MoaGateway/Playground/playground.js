// The playground: a client of the gateway's public API. It lists the virtual models (GET /v1/models), runs one as a
// stream with the panel on (POST /v1/chat/completions, moa.include_proposals), and draws each agent's text as its
// proposal events arrive. Text that comes from the network is only ever inserted as text, never parsed as HTML.

const keyStorage = 'moagateway.playground.key';

const $ = (id) => document.getElementById(id);

const page = {
  status: $('status'),
  error: $('error'),
  keyForm: $('key-form'),
  keyInput: $('api-key'),
  keySet: $('key-set'),
  runForm: $('run-form'),
  model: $('model'),
  description: $('model-description'),
  prompt: $('prompt'),
  run: $('run'),
  stop: $('stop'),
  topology: $('topology'),
  topologyNote: $('topology-note'),
  useTopology: $('use-topology'),
  layers: $('topology-layers'),
  aggregator: $('aggregator'),
  knownAgents: $('known-agents'),
  columns: $('columns'),
  totals: $('totals'),
};

const state = {
  settings: null,
  models: new Map(),
  key: sessionStorage.getItem(keyStorage),
  running: null,
  shown: null,
};

const statusText = {
  waiting: 'waiting',
  running: 'running',
  streaming: 'streaming',
  answered: 'answered',
  failed: 'failed',
  timed_out: 'timed out',
  cut: 'cut as a straggler',
  empty: 'empty answer',
  cancelled: 'cancelled',
  stopped: 'stopped',
  incomplete: 'incomplete',
  not_run: 'not run',
};

/** An element with properties (className, textContent, ...), attributes given as `attrs`, and child nodes or strings. */
function el(tag, props = {}, ...children) {
  const { attrs, ...rest } = props;
  const node = Object.assign(document.createElement(tag), rest);
  for (const [name, value] of Object.entries(attrs ?? {})) {
    node.setAttribute(name, value);
  }
  node.append(...children);
  return node;
}

function announce(text) {
  page.status.textContent = text;
}

function showError(title, detail) {
  page.error.replaceChildren(el('strong', { textContent: title }), ...(detail ? [el('p', { textContent: detail })] : []));
  page.error.hidden = false;
}

function clearError() {
  page.error.hidden = true;
  page.error.replaceChildren();
}

/** An answer of the gateway other than 2xx, with what its OpenAI-shaped error body says. */
class ApiError extends Error {
  constructor(status, error, retryAfter) {
    super(error?.message ?? `HTTP ${status}`);
    this.status = status;
    this.code = error?.code ?? null;
    this.param = error?.param ?? null;
    this.retryAfter = retryAfter;
  }

  static async from(response) {
    let error = null;
    try {
      error = (await response.json())?.error ?? null;
    } catch {
      // A body that is not the error envelope: the status alone says what happened.
    }
    return new ApiError(response.status, error, response.headers.get('Retry-After'));
  }

  get title() {
    const reasons = {
      400: 'The gateway refused the request (400)',
      401: 'The API key is missing or wrong (401)',
      403: 'The request is not allowed (403)',
      404: 'Not found (404)',
      413: 'The request is too large (413)',
      429: 'Too many requests (429)',
    };
    return reasons[this.status] ?? (this.status >= 500 ? `The gateway or its providers failed (${this.status})` : `HTTP ${this.status}`);
  }

  get detail() {
    const parts = [this.message];
    if (this.param) parts.push(`Field: ${this.param}.`);
    if (this.code) parts.push(`Code: ${this.code}.`);
    if (this.retryAfter) parts.push(`Retry after ${this.retryAfter} s.`);
    return parts.join(' ');
  }
}

function authorization() {
  return state.key ? { Authorization: `Bearer ${state.key}` } : {};
}

async function getJson(url, headers = {}) {
  const response = await fetch(url, { headers: { Accept: 'application/json', ...headers } });
  if (!response.ok) throw await ApiError.from(response);
  return response.json();
}

// --- The key ---------------------------------------------------------------------------------------------------

function askForKey() {
  page.keyForm.hidden = false;
  page.keySet.hidden = true;
  page.keyInput.focus();
  announce('This gateway needs an API key.');
}

function useKey(event) {
  event.preventDefault();
  const key = page.keyInput.value.trim();
  if (!key) return;
  state.key = key;
  sessionStorage.setItem(keyStorage, key);
  page.keyInput.value = '';
  loadModels();
}

function forgetKey() {
  state.key = null;
  sessionStorage.removeItem(keyStorage);
  page.model.replaceChildren();
  page.model.disabled = true;
  page.run.disabled = true;
  askForKey();
}

// --- Models and their topology ---------------------------------------------------------------------------------

/** A model card's topology: layers of agents (`provider/model`, samples), the aggregator and its fallbacks. */
function topologyOf(card) {
  const moa = card.moa ?? {};
  return {
    layers: (moa.layers ?? []).map((agents, layer) =>
      agents.map((model, agent) => ({ model, samples: moa.samples?.[layer]?.[agent] ?? null }))),
    aggregator: moa.aggregator ?? card.id,
    fallbacks: moa.aggregator_fallbacks ?? [],
  };
}

async function loadModels() {
  clearError();
  announce('Loading the virtual models…');
  let list;
  try {
    list = await getJson('v1/models', authorization());
  } catch (error) {
    if (error instanceof ApiError) {
      showError(error.title, error.detail);
      if (error.status === 401) askForKey();
    } else {
      showError('The gateway could not be reached', error.message);
    }
    return;
  }

  page.keyForm.hidden = true;
  page.keySet.hidden = !state.key;
  // The list ends with the models providers list, which pass through: the playground runs mixtures only, and offers
  // those models as agents.
  const cards = list.data.filter((card) => card.moa);
  state.models = new Map(cards.map((card) => [card.id, card]));
  state.shown = null;
  page.model.replaceChildren(...cards.map((card) =>
    el('option', { value: card.id, textContent: card.moa?.simulated ? `${card.id} (simulated)` : card.id })));
  const agents = new Set(list.data.flatMap((card) => card.moa
    ? [...card.moa.layers.flat(), card.moa.aggregator, ...(card.moa.aggregator_fallbacks ?? [])]
    : [card.id]));
  page.knownAgents.replaceChildren(...[...agents].filter(Boolean).sort().map((name) => el('option', { value: name })));
  page.model.disabled = cards.length === 0;
  page.run.disabled = cards.length === 0;
  if (cards.length === 0) {
    announce('No virtual model is available to this key.');
    return;
  }
  selectModel();
  announce(`${cards.length} virtual model${cards.length === 1 ? '' : 's'}. Pick one, type a prompt and run it.`);
}

function selectedCard() {
  return state.models.get(page.model.value);
}

/** Shows the chosen model; choosing the one already shown keeps the topology being edited. */
function selectModel() {
  const card = selectedCard();
  if (!card || card === state.shown) return;
  state.shown = card;
  const moa = card.moa ?? {};
  page.description.textContent = [moa.description, moa.upstream_calls ? `${moa.upstream_calls} upstream calls.` : null]
    .filter(Boolean).join(' ');
  editTopology(topologyOf(card));
  drawPlannedMixture();
}

// --- The topology editor ---------------------------------------------------------------------------------------

function editTopology(topology) {
  page.layers.replaceChildren(...topology.layers.map((agents) => layerFieldset(agents)));
  page.aggregator.value = topology.aggregator;
  numberLayers();
}

function layerFieldset(agents) {
  const list = el('ol', { className: 'agent-rows' });
  const fieldset = el('fieldset', { className: 'layer-editor' },
    el('legend', {}),
    list,
    el('div', { className: 'topology-actions' },
      el('button', { type: 'button', textContent: 'Add an agent', onclick: () => { list.append(agentRow()); numberLayers(); } }),
      el('button', { type: 'button', textContent: 'Remove this layer', onclick: () => { fieldset.remove(); numberLayers(); } })));
  list.append(...agents.map((agent) => agentRow(agent)));
  return fieldset;
}

function agentRow(agent = { model: '', samples: null }) {
  const row = el('li', { className: 'agent-row' },
    el('label', { className: 'agent-model' }, el('span', { className: 'label-text' }),
      el('input', { type: 'text', value: agent.model, spellcheck: false, placeholder: 'provider/model', attrs: { list: 'known-agents' } })),
    el('label', { className: 'agent-samples' }, el('span', { textContent: 'Samples' }),
      el('input', { type: 'number', min: 1, step: 1, value: agent.samples ?? '', placeholder: '1' })));
  row.append(el('button', { type: 'button', textContent: 'Remove', onclick: () => { row.remove(); numberLayers(); } }));
  return row;
}

/** Legends and labels say where each field is (layer 2, agent 3), and removing a row or layer renumbers them. */
function numberLayers() {
  [...page.layers.children].forEach((fieldset, layer) => {
    fieldset.querySelector('legend').textContent = `Layer ${layer + 1}`;
    [...fieldset.querySelectorAll('.agent-row')].forEach((row, agent) => {
      row.querySelector('.label-text').textContent = `Agent ${agent + 1}`;
      row.querySelector('.agent-samples input').setAttribute('aria-label', `Samples of agent ${agent + 1} of layer ${layer + 1}`);
      row.querySelector('.agent-model input').setAttribute('aria-label', `Agent ${agent + 1} of layer ${layer + 1}`);
      row.querySelector('button').setAttribute('aria-label', `Remove agent ${agent + 1} of layer ${layer + 1}`);
    });
  });
  drawEditedMixture();
}

/** The editor's topology, or the reason it cannot be sent. */
function editedTopology() {
  const layers = [...page.layers.children].map((fieldset) => [...fieldset.querySelectorAll('.agent-row')].map((row) => {
    const samples = row.querySelector('.agent-samples input').value.trim();
    return { model: row.querySelector('.agent-model input').value.trim(), samples: samples === '' ? null : Number(samples) };
  }));
  const aggregator = page.aggregator.value.trim();
  const named = (model) => /^[^/\s]+\/\S+$/.test(model);
  const problems = [];
  layers.forEach((agents, layer) => {
    if (agents.length === 0) problems.push(`Layer ${layer + 1} has no agent.`);
    agents.forEach((agent, index) => {
      if (!named(agent.model)) problems.push(`Agent ${index + 1} of layer ${layer + 1} must be provider/model.`);
      if (agent.samples !== null && !(Number.isInteger(agent.samples) && agent.samples >= 1)) {
        problems.push(`The samples of agent ${index + 1} of layer ${layer + 1} must be a whole number from 1.`);
      }
    });
  });
  if (!named(aggregator)) problems.push('The aggregator must be provider/model.');
  // An override's aggregator keeps the model's fallbacks.
  const fallbacks = selectedCard()?.moa?.aggregator_fallbacks ?? [];
  return problems.length > 0 ? { problems } : { topology: { layers, aggregator, fallbacks } };
}

/** The request's `moa` topology fields: all layers and the aggregator, as configuration writes agents. */
function moaTopology(topology) {
  return {
    layers: topology.layers.map((agents) => ({
      agents: agents.map((agent) => (agent.samples === null ? agent.model : { model: agent.model, samples: agent.samples })),
    })),
    aggregator: topology.aggregator,
  };
}

function plannedTopology() {
  if (page.useTopology.checked && !page.topology.hidden) {
    const edited = editedTopology();
    if (edited.topology) return edited.topology;
  }
  const card = selectedCard();
  return card ? topologyOf(card) : null;
}

function drawPlannedMixture() {
  if (state.running) return;
  const topology = plannedTopology();
  if (topology) new Mixture(topology).draw();
}

/** An edit redraws the columns only when the edited topology is the one the next run sends, so a result stays in view. */
function drawEditedMixture() {
  if (page.useTopology.checked) drawPlannedMixture();
}

// --- The mixture as it runs ------------------------------------------------------------------------------------

function formatMs(ms) {
  if (typeof ms !== 'number') return null;
  return ms < 1000 ? `${Math.round(ms)} ms` : `${(ms / 1000).toFixed(1)} s`;
}

function formatCost(usd) {
  return `$${usd < 0.01 ? usd.toPrecision(3) : usd.toFixed(4)}`;
}

let panesMade = 0;

/** One agent's pane: its label, status, figures and text. */
class Pane {
  constructor(label, sublabel) {
    const headingId = `pane-${++panesMade}`;
    this.status = el('span', { className: 'badge' });
    this.figures = el('p', { className: 'figures' });
    this.problem = el('p', { className: 'problem', hidden: true });
    this.text = document.createTextNode('');
    this.body = el('div', { className: 'text', tabIndex: 0, attrs: { role: 'log', 'aria-label': `Text of ${label}` } }, this.text);
    this.title = el('span', { className: 'agent-name', textContent: label });
    this.root = el('article', { className: 'pane', attrs: { 'aria-labelledby': headingId } },
      el('header', {}, el('h4', { id: headingId }, this.title, ...(sublabel ? [' ', el('span', { className: 'sample', textContent: sublabel })] : [])),
        this.status),
      this.figures, this.problem, this.body);
    this.received = false;
    this.ended = false;
    this.setStatus('waiting');
  }

  setStatus(status) {
    this.state = status;
    this.root.dataset.status = status;
    this.status.textContent = statusText[status] ?? status;
  }

  append(text) {
    if (!this.received) {
      this.received = true;
      if (!this.ended) this.setStatus('streaming');
    }
    const follow = this.body.scrollTop + this.body.clientHeight >= this.body.scrollHeight - 8;
    this.text.appendData(text);
    if (follow) this.body.scrollTop = this.body.scrollHeight;
  }

  /** The call's layer started. */
  begin() {
    if (this.state === 'waiting') this.setStatus('running');
  }

  /** The call is tried again from the start: the text so far is void. */
  restart(attempt) {
    this.text.data = '';
    this.received = false;
    this.setStatus('running');
    this.problem.textContent = `The stream broke; attempt ${attempt} starts over.`;
    this.problem.hidden = false;
  }

  /** A call's report (a panel `proposal.done` event or its entry in `usage.moa`): status, error and figures. */
  report(call) {
    this.ended = true;
    if (call.provider && call.model) this.title.textContent = `${call.provider}/${call.model}`;
    if (call.status) this.setStatus(call.status);
    this.problem.textContent = call.error ?? '';
    this.problem.hidden = !call.error;
    const usage = call.usage ?? call;
    const figures = [
      formatMs(call.time_to_first_token_ms) && `first token ${formatMs(call.time_to_first_token_ms)}`,
      formatMs(call.duration_ms),
      typeof usage.total_tokens === 'number' && `${usage.total_tokens} tokens (${usage.prompt_tokens} in, ${usage.completion_tokens} out)`,
      typeof call.cost === 'number' && formatCost(call.cost),
      call.attempts > 1 && `${call.attempts} attempts`,
    ].filter(Boolean);
    if (figures.length > 0) this.figures.textContent = figures.join(' · ');
  }

  /** The run ended before this call reported how it ended; a call that had not started never will. */
  interrupt(status) {
    if (!this.ended) this.setStatus(this.state === 'waiting' ? 'not_run' : status);
  }
}

/** The columns of one run: a column per layer, then the aggregator's. */
class Mixture {
  constructor(topology) {
    this.topology = topology;
    this.panes = new Map();
    this.layerColumns = [];
    // The layer whose layer.done is the latest event of the stream, if it is.
    this.layerEnded = null;
  }

  static key(layer, agent, sample) {
    return `${layer}:${agent}:${sample ?? ''}`;
  }

  draw() {
    const hidden = state.settings?.panel === false;
    this.layerColumns = this.topology.layers.map((agents, index) => {
      const calls = `${agents.reduce((sum, agent) => sum + (agent.samples ?? 1), 0)} calls`;
      const column = this.column(`Layer ${index + 1}`, hidden ? `${calls}; their text is not shown (MoaGateway:Panel:Expose is never)` : calls);
      agents.forEach((agent, position) => {
        if (agent.samples === null) {
          this.addPane(column, index + 1, position, null, agent.model);
        } else {
          for (let sample = 0; sample < agent.samples; sample++) this.addPane(column, index + 1, position, sample, agent.model);
        }
      });
      return column;
    });
    this.aggregatorColumn = this.column('Aggregator', this.topology.fallbacks.length > 0 ? `fallbacks: ${this.topology.fallbacks.join(', ')}` : '');
    this.aggregatorColumn.root.classList.add('aggregator');
    this.aggregator = new Pane(this.topology.aggregator);
    this.aggregatorColumn.list.append(this.aggregator.root);
    page.columns.replaceChildren(...this.layerColumns.map((column) => column.root), this.aggregatorColumn.root);
  }

  column(title, note) {
    const summary = el('p', { className: 'column-note', textContent: note });
    const list = el('div', { className: 'panes' });
    const root = el('section', { className: 'column', attrs: { 'aria-label': title } }, el('h3', { textContent: title }), summary, list);
    return { root, summary, list };
  }

  addPane(column, layer, agent, sample, model) {
    const pane = new Pane(model, sample === null ? null : `sample ${sample + 1}`);
    pane.layer = layer;
    this.panes.set(Mixture.key(layer, agent, sample), pane);
    column.list.append(pane.root);
    return pane;
  }

  /** The pane of a call, made where the topology drawn did not foresee it (samples the model card did not list). */
  paneOf(call) {
    const key = Mixture.key(call.layer, call.agent, call.sample);
    const known = this.panes.get(key);
    if (known) return known;
    while (this.layerColumns.length < call.layer) {
      const column = this.column(`Layer ${this.layerColumns.length + 1}`, '');
      this.aggregatorColumn.root.before(column.root);
      this.layerColumns.push(column);
    }
    const single = this.panes.get(Mixture.key(call.layer, call.agent, null));
    if (call.sample !== null && call.sample !== undefined && single && !single.received && !single.ended) {
      single.root.remove();
      this.panes.delete(Mixture.key(call.layer, call.agent, null));
    }
    return this.addPane(this.layerColumns[call.layer - 1], call.layer, call.agent, call.sample ?? null, `${call.provider}/${call.model}`);
  }

  start() {
    this.layerStarts(1);
  }

  layerStarts(layer) {
    if (layer > this.layerColumns.length) {
      this.aggregator.begin();
      return;
    }
    for (const pane of this.panes.values()) {
      if (pane.layer === layer) pane.begin();
    }
  }

  /** A panel event of the stream: `proposal.delta`, `proposal.retry`, `proposal.done` or `layer.done`. */
  panel(event) {
    this.layerEnded = event.event === 'layer.done' ? event.layer : null;
    switch (event.event) {
      case 'proposal.delta':
        this.paneOf(event).append(event.delta ?? '');
        break;
      case 'proposal.retry':
        this.paneOf(event).restart(event.attempt);
        break;
      case 'proposal.done':
        this.paneOf(event).report(event);
        break;
      case 'layer.done': {
        const column = this.layerColumns[event.layer - 1];
        const text = `${event.answered} answered, ${event.failed} failed`;
        if (column) column.summary.textContent = text;
        announce(`Layer ${event.layer} done: ${text}.`);
        this.layerStarts(event.layer + 1);
        break;
      }
      default:
        break;
    }
  }

  answer(text) {
    this.layerEnded = null;
    if (!this.aggregator.received) announce('The aggregator is answering.');
    this.aggregator.append(text);
  }

  /** The usage chunk: every call's report (the authoritative figures), the aggregator that answered, and the totals. */
  usage(usage, elapsedMs) {
    const moa = usage.moa;
    for (const layer of moa?.layers ?? []) {
      for (const call of layer.agents ?? []) this.paneOf({ ...call, layer: layer.layer }).report(call);
    }
    if (moa?.aggregator) this.aggregator.report(moa.aggregator);
    const failed = moa?.failed_aggregators ?? [];
    if (failed.length > 0) {
      this.aggregatorColumn.summary.textContent =
        `answered by a fallback after ${failed.map((call) => `${call.provider}/${call.model} (${statusText[call.status] ?? call.status})`).join(', ')}`;
    }
    showTotals(usage, elapsedMs);
  }

  /** The run ended without its end: the panes still open say so. */
  /**
   * The run ended without its end: the panes still open say so. A failure that came right after a layer ended (the
   * layer fell short of its MinAgents) means nothing after it was called: those panes say `not run`.
   */
  interrupt(status) {
    const notRun = (pane) => status === 'incomplete' && this.layerEnded !== null && (pane.layer ?? Infinity) > this.layerEnded;
    for (const pane of [...this.panes.values(), this.aggregator]) pane.interrupt(notRun(pane) ? 'not_run' : status);
  }
}

function showTotals(usage, elapsedMs) {
  const parts = [];
  if (usage.moa?.upstream_calls !== undefined) parts.push(['Upstream calls', `${usage.moa.upstream_calls}`]);
  parts.push(['Tokens', `${usage.total_tokens} (${usage.prompt_tokens} in, ${usage.completion_tokens} out)`]);
  if (typeof usage.cost === 'number') {
    parts.push(['Cost', usage.cost_complete === false ? `${formatCost(usage.cost)} (partial: some models have no price)` : formatCost(usage.cost)]);
  }
  parts.push(['Time', formatMs(elapsedMs)]);
  page.totals.replaceChildren(el('h3', { textContent: 'Totals' }),
    el('dl', {}, ...parts.map(([term, value]) => el('div', {}, el('dt', { textContent: term }), el('dd', { textContent: value })))));
  page.totals.hidden = false;
}

// --- Running a request -----------------------------------------------------------------------------------------

/**
 * Reads an event stream, calling `onData` with each event's data; resolves when the stream ends, and rejects when
 * the connection breaks (as the gateway breaks it after an error event, so a cut answer never looks complete).
 */
async function readEvents(body, onData) {
  const reader = body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = '';
  let data = [];
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    buffer += value;
    let end;
    while ((end = buffer.indexOf('\n')) >= 0) {
      const line = buffer.slice(0, end).replace(/\r$/, '');
      buffer = buffer.slice(end + 1);
      if (line === '') {
        if (data.length > 0) onData(data.join('\n'));
        data = [];
      } else if (line.startsWith('data:')) {
        data.push(line.slice(line.startsWith('data: ') ? 6 : 5));
      }
    }
  }
}

function setRunning(controller) {
  state.running = controller;
  page.run.disabled = controller !== null;
  page.stop.disabled = controller === null;
  page.model.disabled = controller !== null;
  page.runForm.setAttribute('aria-busy', String(controller !== null));
}

async function run(event) {
  event.preventDefault();
  if (state.running) return;
  clearError();
  const card = selectedCard();
  const prompt = page.prompt.value.trim();
  if (!card || !prompt) return;

  const moa = state.settings.panel ? { include_proposals: true } : {};
  let topology = topologyOf(card);
  if (page.useTopology.checked && !page.topology.hidden) {
    const edited = editedTopology();
    if (edited.problems) {
      showError('The topology cannot be sent', edited.problems.join(' '));
      return;
    }
    topology = edited.topology;
    Object.assign(moa, moaTopology(topology));
  }

  const mixture = new Mixture(topology);
  mixture.draw();
  page.totals.hidden = true;
  const controller = new AbortController();
  setRunning(controller);
  announce(`Running ${card.id}…`);
  const started = performance.now();
  try {
    await stream(card.id, prompt, moa, mixture, controller.signal, started);
  } finally {
    setRunning(null);
  }
}

async function stream(model, prompt, moa, mixture, signal, started) {
  let response;
  try {
    response = await fetch('v1/chat/completions', {
      method: 'POST',
      signal,
      headers: { 'Content-Type': 'application/json', Accept: 'text/event-stream', ...authorization() },
      body: JSON.stringify({
        model,
        messages: [{ role: 'user', content: prompt }],
        stream: true,
        stream_options: { include_usage: true },
        ...(Object.keys(moa).length > 0 ? { moa } : {}),
      }),
    });
  } catch (error) {
    mixture.interrupt(signal.aborted ? 'stopped' : 'incomplete');
    if (signal.aborted) announce('Stopped.');
    else showError('The gateway could not be reached', error.message);
    return;
  }

  if (!response.ok) {
    const error = await ApiError.from(response);
    mixture.interrupt('incomplete');
    showError(error.title, error.detail);
    announce('The request was refused.');
    if (error.status === 401) askForKey();
    return;
  }

  mixture.start();
  let done = false;
  let streamError = null;
  try {
    await readEvents(response.body, (data) => {
      if (data === '[DONE]') {
        done = true;
        return;
      }
      const chunk = JSON.parse(data);
      if (chunk.error) {
        streamError = chunk.error;
      } else if (chunk.moa?.event) {
        mixture.panel(chunk.moa);
      } else if (chunk.usage) {
        mixture.usage(chunk.usage, performance.now() - started);
      } else {
        const delta = chunk.choices?.[0]?.delta?.content;
        if (delta) mixture.answer(delta);
      }
    });
  } catch (error) {
    if (signal.aborted) {
      mixture.interrupt('stopped');
      announce('Stopped.');
      return;
    }
    if (!streamError) streamError = { message: `the connection broke (${error.message})` };
  }

  if (done && !streamError) {
    if (!mixture.aggregator.ended) mixture.aggregator.setStatus('answered');
    announce(`${model} answered in ${formatMs(performance.now() - started)}.`);
    return;
  }

  mixture.interrupt('incomplete');
  showError('The stream was cut off: the answer is incomplete',
    streamError ? `${streamError.message}${streamError.code ? ` (code: ${streamError.code})` : ''}` : 'The stream ended without [DONE].');
  announce('The run failed.');
}

// --- Start -----------------------------------------------------------------------------------------------------

async function start() {
  page.keyForm.addEventListener('submit', useKey);
  $('forget-key').addEventListener('click', forgetKey);
  page.runForm.addEventListener('submit', run);
  page.stop.addEventListener('click', () => state.running?.abort());
  page.model.addEventListener('change', selectModel);
  page.useTopology.addEventListener('change', drawPlannedMixture);
  page.layers.addEventListener('change', drawEditedMixture);
  page.aggregator.addEventListener('change', drawEditedMixture);
  $('add-layer').addEventListener('click', () => {
    page.layers.append(layerFieldset([{ model: '', samples: null }]));
    numberLayers();
  });
  $('reset-topology').addEventListener('click', () => {
    state.shown = null;
    selectModel();
  });

  try {
    state.settings = await getJson('playground/settings');
  } catch (error) {
    showError('The playground could not read its settings', error instanceof ApiError ? error.detail : error.message);
    return;
  }

  const overrides = state.settings.overrides;
  page.topology.hidden = !overrides.enabled;
  page.topologyNote.textContent = `Overrides are on: at most ${overrides.max_layers} layers, ${overrides.max_agents_per_layer} agents a ` +
    `layer and ${overrides.max_upstream_calls} upstream calls (samples counted). Layers sent here replace all of the model's ` +
    'layers, with the layer defaults: one answer needed, every agent awaited.';

  if (state.settings.api_key_required && !state.key) {
    askForKey();
    return;
  }
  await loadModels();
}

start();

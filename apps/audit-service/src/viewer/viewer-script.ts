/**
 * The viewer's script: plain browser JavaScript, no framework or bundler. It reads the API
 * with the key the user pastes (sessionStorage: gone when the tab closes), renders every
 * value as text (never as HTML), follows new events with `after_seq` polling and shows the
 * chain's integrity.
 */
export const VIEWER_JS = String.raw`'use strict';
(function () {
  var KEY_ITEM = 'fedgate-audit-key';
  var POLL_MS = 2000;
  var INTEGRITY_MS = 30000;
  var PAGE = 100;
  var byId = function (id) { return document.getElementById(id); };
  var state = { filters: {}, nextCursor: null, headSeq: null, selected: null, events: new Map(), loading: false };

  function key() { return sessionStorage.getItem(KEY_ITEM) || ''; }

  function say(text) { byId('message').textContent = text || ''; }

  async function api(path) {
    var res = await fetch(path, { headers: { 'x-fedgate-key': key(), accept: 'application/json' } });
    var body = await res.json().catch(function () { return {}; });
    if (!res.ok) {
      var err = new Error((body.error || res.status) + ': ' + (body.error_description || res.statusText));
      err.code = body.error;
      throw err;
    }
    return body;
  }

  function query(extra) {
    var params = new URLSearchParams();
    Object.keys(state.filters).forEach(function (k) { if (state.filters[k]) params.set(k, state.filters[k]); });
    Object.keys(extra || {}).forEach(function (k) { params.set(k, String(extra[k])); });
    return '/v1/events?' + params.toString();
  }

  function cell(tr, text, cls) {
    var td = document.createElement('td');
    td.textContent = text == null ? '' : String(text);
    if (cls) td.className = cls;
    tr.appendChild(td);
  }

  function row(event, isNew) {
    var tr = document.createElement('tr');
    tr.dataset.seq = String(event.seq);
    tr.dataset.id = event.id;
    if (isNew) tr.className = 'new';
    cell(tr, event.seq);
    cell(tr, event.time.replace('T', ' ').replace('Z', ''));
    cell(tr, event.type);
    cell(tr, event.actor ? (event.actor.account_name ? event.actor.account_name + ' (' + event.actor.flwr_aid + ')' : event.actor.flwr_aid) : '');
    cell(tr, event.object);
    cell(tr, event.action);
    cell(tr, event.outcome, 'outcome-' + event.outcome);
    tr.addEventListener('click', function () { showDetail(event.seq); });
    return tr;
  }

  function remember(event) {
    state.events.set(event.seq, event);
    if (state.headSeq === null || event.seq > state.headSeq) state.headSeq = event.seq;
  }

  async function load(reset) {
    if (!key()) { say('Paste an audit-reader key to read the log.'); return; }
    if (state.loading) return;
    state.loading = true;
    try {
      var tbody = document.querySelector('#events tbody');
      if (reset) { tbody.textContent = ''; state.events.clear(); state.nextCursor = null; state.headSeq = null; }
      var page = await api(query(Object.assign({ limit: PAGE }, state.nextCursor ? { cursor: state.nextCursor } : {})));
      page.events.forEach(function (e) { remember(e); tbody.appendChild(row(e, false)); });
      state.nextCursor = page.next_cursor;
      byId('load-more').hidden = !page.next_cursor;
      say(state.events.size === 0 ? 'No events match.' : '');
    } catch (err) {
      say(err.message);
    } finally {
      state.loading = false;
    }
  }

  async function follow() {
    if (!key() || !byId('live').checked || state.loading) return;
    if (state.headSeq === null) return load(true);
    try {
      var page = await api(query({ after_seq: state.headSeq, limit: 500 }));
      var tbody = document.querySelector('#events tbody');
      page.events.forEach(function (e) { remember(e); tbody.insertBefore(row(e, true), tbody.firstChild); });
      if (page.events.length > 0) say('');
    } catch (err) {
      say(err.message);
    }
  }

  function showDetail(seq) {
    var event = state.events.get(seq);
    if (!event) return;
    state.selected = seq;
    document.querySelectorAll('#events tbody tr').forEach(function (tr) { tr.classList.toggle('selected', tr.dataset.seq === String(seq)); });
    byId('detail-seq').textContent = String(seq);
    var dl = byId('detail-fields');
    dl.textContent = '';
    ['id', 'seq', 'time', 'type', 'source', 'action', 'outcome', 'object', 'decision_id', 'hash', 'prev_hash'].forEach(function (name) {
      var dt = document.createElement('dt');
      dt.textContent = name;
      var dd = document.createElement('dd');
      dd.textContent = event[name] == null ? '' : String(event[name]);
      dd.dataset.field = name;
      dl.appendChild(dt);
      dl.appendChild(dd);
    });
    var dt = document.createElement('dt');
    dt.textContent = 'actor';
    var dd = document.createElement('dd');
    dd.dataset.field = 'actor';
    dd.textContent = event.actor ? JSON.stringify(event.actor) : '';
    dl.appendChild(dt);
    dl.appendChild(dd);
    byId('detail-data').textContent = JSON.stringify(event.data, null, 2);
    byId('detail').hidden = false;
  }

  async function integrity() {
    if (!key()) return;
    var box = byId('integrity');
    var status = byId('integrity-status');
    status.textContent = 'verifying the chain…';
    try {
      var r = await api('/v1/integrity');
      box.className = 'integrity ' + (r.ok ? 'ok' : 'bad');
      var cp = r.checkpoints && r.checkpoints.latest ? ', last signed checkpoint at seq ' + r.checkpoints.latest.seq : '';
      status.textContent = r.ok
        ? 'Chain intact: ' + r.checked + ' events verified' + cp
        : 'CHAIN BROKEN at seq ' + r.first_bad_seq + ' (' + r.problem + '), ' + r.checked + ' events verified before it';
    } catch (err) {
      box.className = 'integrity unknown';
      status.textContent = 'integrity unknown: ' + err.message;
    }
  }

  function isoOf(local) {
    if (!local) return '';
    var d = new Date(local + 'Z');
    return isNaN(d.getTime()) ? local : d.toISOString();
  }

  function readFilters() {
    state.filters = {
      actor: byId('filter-actor').value.trim(),
      type: byId('filter-type').value.trim(),
      outcome: byId('filter-outcome').value,
      object: byId('filter-object').value.trim(),
      since: isoOf(byId('filter-since').value),
      until: isoOf(byId('filter-until').value),
    };
  }

  byId('key-form').addEventListener('submit', function (e) {
    e.preventDefault();
    sessionStorage.setItem(KEY_ITEM, byId('key-input').value.trim());
    byId('key-input').value = '';
    load(true);
    integrity();
  });
  byId('key-forget').addEventListener('click', function () {
    sessionStorage.removeItem(KEY_ITEM);
    document.querySelector('#events tbody').textContent = '';
    say('Key forgotten.');
  });
  byId('filters').addEventListener('submit', function (e) { e.preventDefault(); readFilters(); load(true); });
  byId('clear-filters').addEventListener('click', function () { byId('filters').reset(); readFilters(); load(true); });
  byId('load-more').addEventListener('click', function () { load(false); });
  byId('detail-close').addEventListener('click', function () { byId('detail').hidden = true; });
  byId('verify-now').addEventListener('click', integrity);
  ['fedgate.login.started.v1', 'fedgate.login.succeeded.v1', 'fedgate.login.denied.v1', 'fedgate.login.expired.v1',
    'fedgate.token.verified.v1', 'fedgate.token.rejected.v1', 'fedgate.token.refreshed.v1', 'fedgate.session.revoked.v1',
    'fedgate.authz.decision.v1', 'fedgate.run.registered.v1', 'fedgate.run.shared.v1', 'fedgate.access.granted.v1'].forEach(function (t) {
    var o = document.createElement('option');
    o.value = t;
    byId('event-types').appendChild(o);
  });

  setInterval(follow, POLL_MS);
  setInterval(integrity, INTEGRITY_MS);
  load(true);
  integrity();
})();
`;

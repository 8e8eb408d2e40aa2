// upmon dashboard: live updates over server-sent events, in-place
// check/delete/add without reloading, and the chart's hover readout.
// Every page works without this script; it only enhances.
(function () {
  'use strict';
  var doc = document;
  var $ = function (sel, root) { return (root || doc).querySelector(sel); };
  var $$ = function (sel, root) { return Array.prototype.slice.call((root || doc).querySelectorAll(sel)); };
  var STATES = { up: 'Up', down: 'Down', degraded: 'Degraded', unknown: 'Unknown' };
  var RANK = { down: 0, degraded: 1, unknown: 2, up: 3 };

  doc.documentElement.classList.add('js');

  function announce(text) {
    var el = $('#announce');
    if (el) { el.textContent = ''; setTimeout(function () { el.textContent = text; }, 50); }
  }

  // ---- relative times -------------------------------------------------
  function rel(t) {
    var d = (Date.now() - t) / 1000;
    if (d < 5) return 'just now';
    if (d < 60) return Math.floor(d) + ' s ago';
    if (d < 3600) return Math.floor(d / 60) + ' min ago';
    if (d < 172800) return Math.floor(d / 3600) + ' h ago';
    return Math.floor(d / 86400) + ' d ago';
  }
  function exact(t) {
    return new Date(t).toISOString().replace('T', ' ').replace(/\.\d+Z$/, ' UTC');
  }
  function tickTimes() {
    $$('time.ago[datetime]').forEach(function (el) {
      var t = Date.parse(el.getAttribute('datetime'));
      if (!isNaN(t)) el.textContent = rel(t);
    });
  }
  setInterval(tickTimes, 10000);

  // ---- strip and sparkline ---------------------------------------------
  function drawStrip(svg, data) {
    var up = '', down = '', off = 30 - data.length;
    for (var i = 0; i < data.length; i++) {
      var seg = 'M' + ((off + i) * 4) + ' 0h3v16h-3z';
      if (data.charAt(i) === '1') up += seg; else down += seg;
    }
    svg.setAttribute('data-u', data);
    $('path.u', svg).setAttribute('d', up);
    $('path.d', svg).setAttribute('d', down);
    var n = data.length, u = (data.match(/1/g) || []).length;
    svg.setAttribute('aria-label', 'Last ' + n + ' checks: ' + u + ' up, ' + (n - u) + ' down');
  }
  function drawSpark(svg, vals) {
    if (!vals.length) return;
    var hi = Math.max.apply(null, vals.concat([1])), lo = Math.min.apply(null, vals);
    var step = 100 / 29, off = 30 - vals.length, pts = [];
    for (var i = 0; i < vals.length; i++) {
      var x = (off + i) * step, y = 1 + 18 * (1 - vals[i] / hi);
      pts.push(Math.round(x * 10) / 10 + ',' + Math.round(y * 10) / 10);
    }
    svg.setAttribute('data-ms', vals.join(','));
    $('polyline', svg).setAttribute('points', pts.join(' '));
    svg.setAttribute('aria-label', 'Response time of the last ' + vals.length + ' checks: ' + lo + ' to ' + hi + ' ms');
  }

  // ---- applying a check to the page -------------------------------------
  function setState(el, state) {
    state = STATES[state] ? state : 'unknown';
    el.setAttribute('data-state', state);
    var st = $('.st', el);
    if (st) { st.className = 'st st-' + state; st.textContent = STATES[state]; }
  }
  // The overview's "Locations disagree" mark, from /frontend/state.json
  // (web/locations.go's splitTitle writes the same tooltip).
  function setSplit(el, split) {
    var cell = $('.c-name', el), pill = $('.pill.split', el);
    if (!cell) return;
    if (!split) { if (pill) pill.remove(); return; }
    if (!pill) {
      pill = doc.createElement('span');
      pill.className = 'pill split';
      pill.textContent = 'Locations disagree';
      cell.appendChild(doc.createTextNode(' '));
      cell.appendChild(pill);
    }
    pill.title = 'Locations disagree: down from ' + (split.down || []).join(', ') + '; up from ' + (split.up || []).join(', ');
  }
  function apply(ev, fresh) {
    var changed = false;
    $$('.row[data-id="' + ev.site_id + '"]').forEach(function (el) {
      if (!fresh) setSplit(el, ev.disagree);
      var at = Date.parse(ev.checked_at), time = $('time.ago', el);
      var prev = time && Date.parse(time.getAttribute('datetime') || '');
      if (!isNaN(prev) && at < prev) return; // stale
      var newer = isNaN(prev) || at > prev;
      var before = el.getAttribute('data-state');
      setState(el, ev.state);
      if (before !== el.getAttribute('data-state')) changed = true;
      if (time && at > 0) {
        time.setAttribute('datetime', ev.checked_at);
        time.title = exact(at);
        time.textContent = rel(at);
      }
      var lat = $('.lat', el);
      if (lat && at > 0) lat.textContent = ev.latency_ms + ' ms';
      if (fresh && newer) {
        var strip = $('svg.strip', el), spark = $('svg.spark', el);
        if (strip) drawStrip(strip, ((strip.getAttribute('data-u') || '') + (ev.state === 'down' ? '0' : '1')).slice(-30));
        if (spark) {
          var v = (spark.getAttribute('data-ms') || '').split(',').filter(Boolean).map(Number);
          v.push(ev.latency_ms);
          drawSpark(spark, v.slice(-30));
        }
      }
      el.classList.remove('flash-row');
      void el.offsetWidth;
      el.classList.add('flash-row');
    });
    if (changed) {
      var row = $('.row[data-id="' + ev.site_id + '"]');
      announce((row ? row.getAttribute('data-name') : 'Site ' + ev.site_id) + ' is ' + (STATES[ev.state] || 'Unknown').toLowerCase());
      resort();
    }
    return changed;
  }
  function resort() {
    var table = $('table#sites');
    if (!table || table.getAttribute('data-sort') !== 'status') return;
    var body = table.tBodies[0], rows = $$('tr.row', body);
    var keyed = rows.map(function (r, i) { return { r: r, i: i }; });
    keyed.sort(function (a, b) {
      var ra = RANK[a.r.getAttribute('data-state')], rb = RANK[b.r.getAttribute('data-state')];
      if (ra !== rb) return ra - rb;
      var na = (a.r.getAttribute('data-name') || '').toLowerCase(), nb = (b.r.getAttribute('data-name') || '').toLowerCase();
      if (na !== nb) return na < nb ? -1 : 1;
      return a.i - b.i;
    });
    keyed.forEach(function (k) { body.appendChild(k.r); });
  }

  // ---- totals -----------------------------------------------------------
  var totalsTimer = null;
  function refreshTotals(ids) {
    clearTimeout(totalsTimer);
    totalsTimer = setTimeout(function () {
      var url = '/frontend/state.json' + (ids ? '?ids=' + ids.join(',') : '');
      fetch(url, { headers: { Accept: 'application/json' } }).then(function (r) { return r.ok ? r.json() : null; }).then(function (s) {
        if (!s) return;
        ['up', 'down', 'degraded', 'unknown', 'all'].forEach(function (k) {
          var el = $('#t-' + k);
          if (el) el.textContent = s.totals[k];
        });
        if (doc.title.indexOf('Overview') >= 0) {
          doc.title = doc.title.replace(/^\(\d+ down\) /, '');
          if (s.totals.down > 0) doc.title = '(' + s.totals.down + ' down) ' + doc.title;
        }
        Object.keys(s.sites || {}).forEach(function (id) { apply(s.sites[id], false); });
      }).catch(function () {});
    }, 150);
  }
  function idsOnPage() {
    var seen = {};
    $$('.row[data-id]').forEach(function (el) { seen[el.getAttribute('data-id')] = true; });
    return Object.keys(seen).slice(0, 500);
  }

  // ---- live stream --------------------------------------------------------
  var live = $('#live');
  function setLive(text, cls) { if (live) { live.textContent = text; live.className = 'live ' + cls; } }
  function connect() {
    if (!window.EventSource || !$('.row[data-id], #totals')) return;
    var es = new EventSource('/frontend/events');
    es.onopen = function () {
      setLive('Live', 'on');
      // Catch up on what happened between rendering (or the last
      // connection) and now.
      refreshTotals(idsOnPage());
    };
    es.addEventListener('check', function (m) {
      var ev;
      try { ev = JSON.parse(m.data); } catch (e) { return; }
      if (apply(ev, true) || ev.transition) refreshTotals();
    });
    es.addEventListener('resync', function () { refreshTotals(idsOnPage()); });
    es.onerror = function () {
      setLive('Reconnecting…', 'off');
      if (es.readyState === EventSource.CLOSED) { // the browser gave up: retry ourselves
        es.close();
        setTimeout(connect, 2000);
      }
    };
  }

  // ---- forms ---------------------------------------------------------------
  function errorOf(resp) {
    return resp.json().catch(function () { return { message: 'HTTP ' + resp.status }; });
  }
  var add = $('#add-form');
  if (add) add.addEventListener('submit', function (e) {
    e.preventDefault();
    var urlErr = $('#add-url-err'), err = $('#add-err'), input = $('#add-url'), btn = $('button[type=submit]', add);
    urlErr.textContent = ''; err.textContent = '';
    $$('.err', add).forEach(function (p) { p.textContent = ''; });
    $$('[aria-invalid]', add).forEach(function (x) { x.removeAttribute('aria-invalid'); });
    btn.disabled = true;
    fetch(add.action, { method: 'POST', body: new URLSearchParams(new FormData(add)), headers: { Accept: 'application/json' } })
      .then(function (r) {
        if (r.ok) return r.json().then(function (j) { location.assign(j.location); });
        return errorOf(r).then(function (j) {
          var d = j.details || {}, field = d.field || (j.code === 'already_exists' ? 'url' : '');
          if (d.fields) {
            Object.keys(d.fields).forEach(function (f) {
              var p = $('#e-' + f, add);
              if (p) p.textContent = d.fields[f];
            });
            var more = $('details.more', add);
            if (more) more.open = true;
            err.textContent = j.message;
            return;
          }
          var target = field === 'url' ? urlErr : (field && $('#e-' + field, add)) || err;
          target.textContent = field && field !== 'url' ? j.message.replace(field + ': ', '') : j.message.replace(/^url: /, '');
          if (field === 'url') { input.setAttribute('aria-invalid', 'true'); input.focus(); }
          var more2 = $('details.more', add);
          if (more2 && field && field !== 'url') more2.open = true;
        });
      })
      .catch(function () { err.textContent = 'Could not reach the server.'; })
      .then(function () { btn.disabled = false; });
  });

  doc.addEventListener('submit', function (e) {
    var f = e.target;
    if (!f.classList || !f.classList.contains('check')) return;
    e.preventDefault();
    var id = f.getAttribute('data-id'), btn = $('button', f);
    btn.disabled = true;
    var label = btn.textContent;
    btn.textContent = 'Checking…';
    fetch('/check/' + id, { method: 'POST', headers: { Accept: 'application/json' } })
      .then(function (r) {
        if (!r.ok) return errorOf(r).then(function (j) { announce('Check failed: ' + j.message); });
        return r.json().then(function (c) {
          apply({ site_id: c.site_id, state: c.state || (c.up ? 'up' : 'down'), checked_at: c.checked_at,
            latency_ms: c.latency_ms, status_code: c.status_code }, true);
          announce('Checked: ' + (c.up ? 'up' : 'down'));
          refreshTotals();
        });
      })
      .catch(function () { announce('Could not reach the server.'); })
      .then(function () { btn.disabled = false; btn.textContent = label; });
  });

  // Delete: confirm in a dialog, then DELETE /site/{id}.
  var dialog = null, pending = null;
  function confirmDialog() {
    if (dialog) return dialog;
    dialog = doc.createElement('dialog');
    dialog.className = 'confirm-dialog';
    dialog.setAttribute('aria-labelledby', 'confirm-title');
    var h = doc.createElement('h2'); h.id = 'confirm-title';
    var p = doc.createElement('p'); p.textContent = 'Its check history is removed too. This cannot be undone.';
    var yes = doc.createElement('button'); yes.type = 'button'; yes.className = 'danger'; yes.textContent = 'Delete site'; yes.id = 'confirm-yes';
    var no = doc.createElement('button'); no.type = 'button'; no.textContent = 'Cancel'; no.id = 'confirm-no';
    var bar = doc.createElement('p'); bar.className = 'confirm'; bar.appendChild(yes); bar.appendChild(no);
    dialog.appendChild(h); dialog.appendChild(p); dialog.appendChild(bar);
    doc.body.appendChild(dialog);
    no.addEventListener('click', function () { dialog.close(); });
    yes.addEventListener('click', function () {
      var link = pending;
      dialog.close();
      if (!link) return;
      var id = link.getAttribute('data-id');
      fetch('/site/' + id, { method: 'DELETE' }).then(function (r) {
        if (!r.ok) return errorOf(r).then(function (j) { announce('Delete failed: ' + j.message); });
        var after = link.getAttribute('data-after');
        if (after) { location.assign(after); return; }
        var row = $('#site-' + id), name = row ? row.getAttribute('data-name') : 'Site';
        if (row) row.parentNode.removeChild(row);
        announce(name + ' deleted');
        refreshTotals();
      }).catch(function () { announce('Could not reach the server.'); });
    });
    return dialog;
  }
  doc.addEventListener('click', function (e) {
    var a = e.target.closest && e.target.closest('a.del');
    if (!a || !window.HTMLDialogElement) return;
    e.preventDefault();
    pending = a;
    var d = confirmDialog(), row = a.closest('.row');
    $('#confirm-title', d).textContent = 'Delete ' + (row ? row.getAttribute('data-name') : 'this site') + '?';
    d.showModal();
    $('#confirm-no', d).focus();
  });

  // Filter the rows of this page as one types (Apply searches all pages).
  var q = $('#q'), table = $('table#sites');
  if (q && table) q.addEventListener('input', function () {
    var words = q.value.toLowerCase().split(/\s+/).filter(Boolean);
    $$('tr.row', table).forEach(function (r) {
      var hay = (r.textContent + ' ' + r.getAttribute('data-state')).toLowerCase();
      r.hidden = !words.every(function (w) { return hay.indexOf(w) >= 0; });
    });
  });

  // Chart: show the hovered interval in words under the chart.
  var chart = $('#chart-svg'), readout = $('#chart-readout');
  if (chart && readout) {
    var show = function (e) {
      var r = e.target.closest && e.target.closest('.hover rect, .downs rect');
      $$('.hover rect.on', chart).forEach(function (x) { x.classList.remove('on'); });
      if (!r) return;
      r.classList.add('on');
      var t = $('title', r);
      readout.textContent = t ? t.textContent : '';
    };
    chart.addEventListener('mousemove', show);
    chart.addEventListener('mouseleave', function () { readout.textContent = ''; });
  }

  connect();
})();

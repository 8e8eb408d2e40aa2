// upmon API explorer: builds a form for the chosen endpoint from the
// operations the page embeds (read from /openapi.json on the server),
// sends it with the session's cookie (same origin) and shows the status,
// the headers, the body and the request's trace id when the answer
// carries one.
(function () {
  'use strict';
  var box = document.getElementById('explorer');
  var data = document.getElementById('api-ops');
  if (!box || !data || !window.fetch) return;
  var ops = {};
  JSON.parse(data.textContent).forEach(function (op) { ops[op.id] = op; });
  // The least role each operation needs (x-upmon-access, the server's
  // api.RequiredRole) against the session's role, least first.
  var rank = { none: 0, push: 0, viewer: 1, editor: 2, owner: 3 };
  var role = box.getAttribute('data-role') || 'anonymous';
  var allowed = function (need) { return need in rank && (rank[role] || 0) >= rank[need]; };
  var form = document.getElementById('api-form');
  var pick = document.getElementById('api-op');
  var send = document.getElementById('api-send');
  var raw = document.getElementById('api-raw');
  var $ = function (id) { return document.getElementById(id); };

  function input(f) {
    var id = 'f-' + f.in + '-' + f.name;
    var p = document.createElement('p');
    var label = document.createElement('label');
    label.htmlFor = id;
    label.textContent = f.name + ' (' + f.in + ', ' + f.type + (f.required ? ', required' : '') + ')';
    var el;
    if (f.type === 'boolean') {
      el = document.createElement('select');
      ['', 'true', 'false'].forEach(function (v) {
        var o = document.createElement('option');
        o.value = v; o.textContent = v === '' ? '(not sent)' : v;
        el.appendChild(o);
      });
    } else if (f.type === 'json') {
      el = document.createElement('textarea');
      el.rows = 2; el.spellcheck = false;
      el.placeholder = 'JSON, e.g. ["a"] or {"k":"v"}';
    } else {
      el = document.createElement('input');
      el.type = f.type === 'integer' || f.type === 'number' ? 'number' : 'text';
      if (f.type === 'number') el.step = 'any';
      if (f.hint) el.placeholder = f.hint;
    }
    el.id = id;
    el.setAttribute('data-field', f.name);
    el.setAttribute('data-in', f.in);
    el.setAttribute('data-type', f.type);
    if (f.rest) el.setAttribute('data-rest', 'true');
    if (f.required) el.required = true;
    p.appendChild(label);
    p.appendChild(el);
    return p;
  }

  function show() {
    var op = ops[pick.value];
    if (!op) return;
    var pf = $('api-params-fields'), bf = $('api-body-fields');
    pf.replaceChildren(); bf.replaceChildren(); raw.value = '';
    op.params.forEach(function (f) { pf.appendChild(input(f)); });
    op.body.forEach(function (f) { bf.appendChild(input(f)); });
    $('api-params').hidden = op.params.length === 0;
    $('api-body').hidden = !op.has_body;
    $('api-access').textContent = 'Access: ' + op.access + (op.response ? ' · answers ' + op.response : '');
    var denied = !allowed(op.access);
    $('api-need').textContent = op.access;
    $('api-denied').hidden = !denied;
    send.disabled = denied;
  }

  function value(el) {
    var v = el.value, t = el.getAttribute('data-type');
    if (t === 'integer' || t === 'number') return Number(v);
    if (t === 'boolean') return v === 'true';
    if (t === 'json') return JSON.parse(v);
    return v;
  }

  function request(op) {
    var path = op.path, query = new URLSearchParams(), body = {}, any = false;
    var fields = form.querySelectorAll('[data-field]');
    for (var i = 0; i < fields.length; i++) {
      var el = fields[i], name = el.getAttribute('data-field'), where = el.getAttribute('data-in');
      if (el.value === '') continue;
      if (where === 'path') {
        var enc = el.getAttribute('data-rest') === 'true' ? el.value.split('/').map(encodeURIComponent).join('/') : encodeURIComponent(el.value);
        path = path.replace('{' + name + '}', enc);
      } else if (where === 'query') {
        query.set(name, el.value);
      } else {
        body[name] = value(el); any = true;
      }
    }
    var init = { method: op.method, credentials: 'same-origin', headers: { Accept: 'application/json' } };
    if (op.has_body) {
      init.headers['Content-Type'] = 'application/json';
      init.body = raw.value.trim() !== '' ? raw.value : (any ? JSON.stringify(body) : '{}');
    }
    var qs = query.toString();
    return { url: path + (qs ? '?' + qs : ''), init: init };
  }

  function traceOf(headers) {
    var id = headers.get('X-Trace-Id');
    var tp = headers.get('traceparent');
    if (!id && tp && tp.split('-').length >= 3) id = tp.split('-')[1];
    return { id: id, url: headers.get('X-Trace-URL') };
  }

  function result(resp, text) {
    $('api-result').hidden = false;
    $('api-status').textContent = resp.status + ' ' + resp.statusText;
    var lines = [];
    resp.headers.forEach(function (v, k) { lines.push(k + ': ' + v); });
    $('api-headers').textContent = lines.sort().join('\n');
    var shown = text;
    try { shown = JSON.stringify(JSON.parse(text), null, 2); } catch (e) { /* not JSON */ }
    $('api-response').textContent = shown === '' ? '(empty body)' : shown;
    var tr = traceOf(resp.headers), span = $('api-trace');
    span.replaceChildren();
    if (tr.id) {
      span.appendChild(document.createTextNode('trace '));
      var node = document.createElement(tr.url ? 'a' : 'code');
      if (tr.url) node.href = tr.url;
      node.textContent = tr.id;
      node.id = 'api-trace-id';
      span.appendChild(node);
    }
    box.setAttribute('data-status', String(resp.status));
  }

  pick.addEventListener('change', show);
  form.addEventListener('submit', function (ev) {
    ev.preventDefault();
    var op = ops[pick.value];
    if (!op || send.disabled) return;
    var req;
    try { req = request(op); } catch (e) {
      $('api-result').hidden = false;
      $('api-status').textContent = 'Not sent: ' + e.message;
      return;
    }
    box.removeAttribute('data-status');
    fetch(req.url, req.init).then(function (resp) {
      return resp.text().then(function (text) { result(resp, text); });
    }).catch(function (e) {
      $('api-result').hidden = false;
      $('api-status').textContent = 'Failed: ' + e.message;
    });
  });
  var want = new URLSearchParams(window.location.search).get('op');
  if (want && ops[want]) pick.value = want;
  show();
})();

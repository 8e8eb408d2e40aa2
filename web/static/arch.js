// upmon architecture page: inlines the picture so that the counters on
// its arrows can be filled from the live stream ("flows" events). Without
// this script the picture still shows, as an image, without counters.
(function () {
  'use strict';
  var box = document.getElementById('arch');
  if (!box || !window.fetch || !window.DOMParser) return;
  var live = document.getElementById('live');
  function setLive(text, cls) { if (live) { live.textContent = text; live.className = 'live ' + cls; } }

  function apply(edges) {
    Array.prototype.forEach.call(box.querySelectorAll('text.counter[data-edge]'), function (el) {
      var v = edges[el.getAttribute('data-edge')];
      el.textContent = typeof v === 'string' ? v : '';
    });
  }
  function connect() {
    if (!window.EventSource) return;
    var es = new EventSource('/frontend/events');
    es.onopen = function () { setLive('Live', 'on'); };
    es.addEventListener('flows', function (m) {
      var ev;
      try { ev = JSON.parse(m.data); } catch (e) { return; }
      if (ev && ev.edges) { apply(ev.edges); box.setAttribute('data-flows', 'on'); }
    });
    es.onerror = function () {
      setLive('Reconnecting…', 'off');
      if (es.readyState === EventSource.CLOSED) { es.close(); setTimeout(connect, 2000); }
    };
  }
  fetch(box.getAttribute('data-src'), { credentials: 'same-origin' }).then(function (r) {
    if (!r.ok) throw new Error('HTTP ' + r.status);
    return r.text();
  }).then(function (text) {
    var svg = new DOMParser().parseFromString(text, 'image/svg+xml').documentElement;
    if (!svg || svg.nodeName !== 'svg') return;
    box.replaceChildren(document.importNode(svg, true));
    box.setAttribute('data-inline', 'on');
    connect();
  }).catch(function () { /* the <img> stays */ });
})();

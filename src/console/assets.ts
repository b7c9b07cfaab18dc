/**
 * The console's stylesheet and its one script, served as files so the CSP can forbid every inline
 * style and script. The script only enhances: every page works with plain forms and links.
 */

export const CONSOLE_CSS = `
*{box-sizing:border-box}
[hidden]{display:none!important}
.badge{font-size:.8em;padding:0 .35em;border-radius:.3em;background:#e4e8f0;white-space:nowrap}
body{margin:0;font:15px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:#1d2230;background:#f5f6f8}
.skip{position:absolute;left:-999px;top:0;background:#fff;padding:.5rem}
.skip:focus{left:.5rem;z-index:10}
.sr-only{position:absolute;width:1px;height:1px;overflow:hidden;clip:rect(0 0 0 0);white-space:nowrap}
.bar{display:flex;flex-wrap:wrap;gap:.5rem 1rem;align-items:center;padding:.6rem 1rem;background:#1d2a44;color:#fff}
.bar a{color:#fff;text-decoration:none;font-weight:600}
.bar nav{display:flex;gap:1rem}
.bar nav a[aria-current]{text-decoration:underline}
.who{margin-left:auto;opacity:.85;font-size:.9rem}
main{max-width:80rem;margin:0 auto;padding:1rem}
h1{font-size:1.35rem;margin:.5rem 0 1rem;overflow-wrap:anywhere}
h2{font-size:1.1rem;margin-top:1.25rem}
a{color:#2446a8}
:focus-visible{outline:3px solid #f0a500;outline-offset:2px}
.stack{display:flex;flex-direction:column;gap:.75rem;max-width:40rem}
.stack>button{align-self:flex-start}
label{display:flex;flex-direction:column;gap:.2rem;font-weight:600;font-size:.9rem}
label.radio{flex-direction:row;align-items:center;gap:.4rem;font-weight:400}
input[type=email],input[type=text],input[type=search],input[type=number],textarea,select{font:inherit;padding:.45rem;border:1px solid #b8bfcc;border-radius:6px;width:100%;background:#fff;min-width:0;font-weight:400}
fieldset{border:1px solid #dde1e8;border-radius:6px;display:flex;flex-wrap:wrap;gap:.5rem 1rem}
button,.button{font:inherit;padding:.5rem .9rem;border:0;border-radius:6px;background:#2f5bd3;color:#fff;cursor:pointer;text-decoration:none;display:inline-block}
button.secondary,.button.secondary{background:#e8edf9;color:#1d2a44}
button.link{background:none;padding:0;color:#fff;text-decoration:underline}
button.link-danger{background:none;padding:0;color:#a11;text-decoration:underline}
.inline{display:inline}
.notice{background:#e7f6ec;border:1px solid #b7e0c4;padding:.5rem .75rem;border-radius:6px}
.error{background:#fdecec;border:1px solid #f2b8b8;padding:.5rem .75rem;border-radius:6px}
.warning{background:#fff4d6;border:1px solid #e8c970;padding:.5rem .75rem;border-radius:6px}
.field-error{color:#a11;font-weight:400}
.choices{list-style:none;padding:0;display:flex;flex-wrap:wrap;gap:.75rem}
.filters{display:grid;grid-template-columns:repeat(auto-fill,minmax(10rem,1fr));gap:.5rem .75rem;align-items:end;background:#fff;border:1px solid #dde1e8;border-radius:8px;padding:.75rem;margin-bottom:.75rem}
.filters .actions{display:flex;gap:.75rem;align-items:center}
.live{position:sticky;top:0;z-index:5;margin:.25rem 0}
.live button{width:100%;background:#1d7a46}
table.tickets,.plain-table{width:100%;border-collapse:collapse;background:#fff;border:1px solid #dde1e8}
.tickets th,.tickets td,.plain-table th,.plain-table td{padding:.45rem .5rem;border-bottom:1px solid #e6e9ef;text-align:left;vertical-align:top;font-size:.9rem}
.tickets td.title{position:relative;min-width:12rem}
.tickets td.title a{font-weight:600;overflow-wrap:anywhere}
.summary{display:none;position:absolute;left:0;top:100%;z-index:4;width:min(24rem,80vw);background:#1d2a44;color:#fff;padding:.5rem .65rem;border-radius:6px;font-size:.85rem;flex-direction:column;gap:.2rem}
.tickets tr:hover .summary,.tickets td.title:focus-within .summary{display:flex}
.pill{background:#e8edf9;border-radius:999px;padding:0 .55rem;white-space:nowrap}
.prio-critical{color:#a11;font-weight:700}.prio-high{color:#b5560b;font-weight:600}
.paging{display:flex;gap:1rem}
.ticket-head{display:flex;flex-wrap:wrap;justify-content:space-between;align-items:center;gap:.5rem}
.presence{display:flex;align-items:center;gap:.4rem;font-size:.85rem}
.avatars{list-style:none;display:flex;align-items:center;gap:.3rem;margin:0;padding:0}
.avatar{width:2rem;height:2rem;border-radius:50%;background:#5b6475;color:#fff;display:flex;align-items:center;justify-content:center;font-size:.75rem;font-weight:700}
.avatar.me{background:#2f5bd3}
.divider{width:1px;height:1.8rem;background:#8d95a5;margin:0 .2rem}
.more summary{cursor:pointer;background:#e8edf9;border-radius:999px;padding:.2rem .5rem;list-style:none}
.more ul{position:absolute;background:#fff;border:1px solid #dde1e8;border-radius:6px;padding:.5rem 1rem;margin:.25rem 0;z-index:4}
.ticket-grid{display:grid;grid-template-columns:minmax(0,1fr) 18rem;gap:1rem}
.details{display:grid;grid-template-columns:repeat(auto-fill,minmax(11rem,1fr));gap:.5rem .75rem;background:#fff;border:1px solid #dde1e8;border-radius:8px;padding:.75rem}
.details .wide{grid-column:1/-1}
.details .actions{display:flex;align-items:end}
.tabs{display:flex;gap:1rem;margin:1rem 0 .5rem;border-bottom:1px solid #dde1e8}
.tabs a{padding:.4rem .2rem;text-decoration:none;font-weight:600}
.tabs a[aria-current]{border-bottom:3px solid #2f5bd3}
.entry{background:#fff;border:1px solid #dde1e8;border-radius:8px;padding:.65rem .75rem;margin-bottom:.65rem}
.entry.technician{border-left:4px solid #2f5bd3}
.entry.note{background:#fff8c5;border-color:#e8d77a;border-left:4px solid #d4a900}
.entry.system{background:#f0f1f4}
.entry header{display:flex;flex-wrap:wrap;gap:.4rem .6rem;align-items:baseline;font-size:.85rem}
.entry header time{margin-left:auto;color:#5b6475}
.tag{color:#5b6475}
.body.text{white-space:pre-wrap;overflow-wrap:anywhere}
.body.html{overflow-wrap:anywhere;overflow-x:auto}
.muted{color:#5b6475;font-size:.85rem}
.composer{background:#fff;border:1px solid #dde1e8;border-radius:8px;padding:.75rem;margin-top:1rem}
.row-inline{display:flex;flex-wrap:wrap;gap:.5rem .75rem;align-items:end}
.ai{display:flex;flex-wrap:wrap;gap:.4rem;align-items:center}
.side-actions{background:#fff;border:1px solid #dde1e8;border-radius:8px;padding:.75rem;align-self:start}
.side-actions h2{font-size:1rem;margin:.75rem 0 .4rem}
.side-actions form{margin-bottom:.5rem}
.activity{list-style:none;padding:0}
.activity li{background:#fff;border:1px solid #e6e9ef;border-radius:6px;padding:.4rem .6rem;margin-bottom:.35rem;overflow-wrap:anywhere}
.subnav{display:flex;flex-wrap:wrap;gap:1rem;margin-bottom:1rem}
.subnav a[aria-current]{font-weight:700}
.plain{padding-left:1.2rem}
.preview{background:#fff;border:1px solid #dde1e8;border-radius:6px;padding:.6rem}
@media (max-width:800px){
  .ticket-grid{grid-template-columns:minmax(0,1fr)}
  main{padding:.6rem}
  table.tickets thead{position:absolute;left:-9999px}
  table.tickets,table.tickets tbody,table.tickets tr,table.tickets td{display:block;width:100%}
  table.tickets tr{border-bottom:2px solid #dde1e8;padding:.35rem 0}
  table.tickets td{border:0;padding:.1rem .5rem;display:flex;gap:.5rem}
  table.tickets td::before{content:attr(data-label);font-weight:600;min-width:7rem;color:#5b6475}
  .plain-table{display:block;overflow-x:auto}
  .who{margin-left:0}
}
`;

export const CONSOLE_JS = `'use strict';
(function () {
  var body = document.body;
  var page = body.getAttribute('data-page');

  // Selects marked data-autosubmit save as soon as they change (the Save button stays for keyboards and no-JS).
  document.querySelectorAll('select[data-autosubmit]').forEach(function (s) {
    s.addEventListener('change', function () { s.form.requestSubmit ? s.form.requestSubmit() : s.form.submit(); });
  });

  if (page === 'list') listPage();
  if (page === 'ticket') ticketPage();
  var ruleForm = document.getElementById('rule-form');
  if (ruleForm) ruleEditor(ruleForm);

  // The rule form shows only the fields of the chosen trigger type and of each action's type.
  function ruleEditor(form) {
    function follow(scope, typeSelect) {
      function sync() {
        scope.querySelectorAll('[data-when]').forEach(function (el) {
          el.hidden = el.getAttribute('data-when').split(' ').indexOf(typeSelect.value) < 0;
        });
      }
      typeSelect.addEventListener('change', sync);
      sync();
    }
    follow(document.getElementById('rule-trigger'), form.querySelector('select[name="trigger.type"]'));
    form.querySelectorAll('.action').forEach(function (row) {
      follow(row, row.querySelector('select[name$=".type"]'));
    });
  }

  function listPage() {
    var table = document.getElementById('tickets');
    var bar = document.getElementById('live');
    var show = document.getElementById('live-show');
    var template = body.getAttribute('data-live-text') || '{n}';
    var pending = 0;
    var pointerInside = false;
    table.addEventListener('mouseenter', function () { pointerInside = true; });
    table.addEventListener('mouseleave', function () { pointerInside = false; if (pending) maybeRefresh(); });
    table.addEventListener('focusout', function () { setTimeout(function () { if (pending) maybeRefresh(); }, 0); });
    show.addEventListener('click', function () { refresh(); });
    // A busy list (pointer or focus in it) is never changed under the user: they get a bar instead.
    function busy() { return pointerInside || table.contains(document.activeElement); }
    function maybeRefresh() { if (busy()) { bar.hidden = false; show.textContent = template.replace('{n}', String(pending)); } else refresh(); }
    function refresh() {
      fetch(location.href, { credentials: 'same-origin', headers: { accept: 'text/html' } }).then(function (r) { return r.text(); }).then(function (text) {
        var doc = new DOMParser().parseFromString(text, 'text/html');
        var rows = doc.getElementById('rows');
        if (!rows) return;
        document.getElementById('rows').replaceWith(rows);
        var empty = document.getElementById('empty');
        if (empty && rows.children.length) empty.remove();
        pending = 0;
        bar.hidden = true;
        body.setAttribute('data-refreshed', String(Date.now()));
      });
    }
    var es = new EventSource('/console/events');
    es.onmessage = function () { pending++; maybeRefresh(); };
    es.onopen = function () { body.setAttribute('data-live', 'on'); };
  }

  function ticketPage() {
    var n = body.getAttribute('data-ticket');
    var me = body.getAttribute('data-me');
    var csrf = body.getAttribute('data-csrf');
    var text = document.getElementById('text');
    var es = new EventSource('/console/events?ticket=' + encodeURIComponent(n));
    es.onopen = function () { body.setAttribute('data-live', 'on'); };
    es.onmessage = function (m) {
      var e = JSON.parse(m.data);
      if (e.actorId === me) return;
      document.getElementById('changed-live').hidden = false;
      if (e.type === 'entry.added' && text && text.value.trim()) document.getElementById('collision-live').hidden = false;
    };

    // Presence: say we are here now and then, and show who else is.
    var presence = document.getElementById('presence');
    function beat() {
      var f = new URLSearchParams(); f.append('csrf', csrf);
      fetch('/console/tickets/' + n + '/presence', { method: 'POST', body: f, credentials: 'same-origin' })
        .then(function (r) { return r.ok ? r.text() : null; }).then(function (h) { if (h !== null) presence.innerHTML = h; });
    }
    var every = Number(body.getAttribute('data-presence-ms') || '0') || 20000;
    setInterval(beat, every);

    var insert = document.getElementById('insert-template');
    if (insert) insert.addEventListener('click', function () {
      var id = document.getElementById('template').value;
      fetch('/console/tickets/' + n + '/templates/' + encodeURIComponent(id), { credentials: 'same-origin' })
        .then(function (r) { return r.json(); }).then(function (j) {
          if (typeof j.text !== 'string') return;
          text.value = text.value ? text.value + '\\n' + j.text : j.text;
          text.focus();
        });
    });

    document.querySelectorAll('button[data-ai]').forEach(function (b) {
      b.addEventListener('click', function () {
        var f = new URLSearchParams(); f.append('csrf', csrf); f.append('action', b.getAttribute('data-ai')); f.append('draft', text.value);
        b.disabled = true;
        fetch('/console/tickets/' + n + '/compose', { method: 'POST', body: f, credentials: 'same-origin' })
          .then(function (r) { return r.json(); }).then(function (j) {
            var status = document.getElementById('ai-status');
            if (typeof j.text === 'string') { text.value = j.text; text.focus(); status.textContent = ''; }
            else if (j.error) status.textContent = j.error.message;
          }).finally(function () { b.disabled = false; });
      });
    });
  }
})();
`;

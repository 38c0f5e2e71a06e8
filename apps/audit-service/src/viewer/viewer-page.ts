/** The audit viewer page (plain HTML; behaviour in viewer-script.ts, styles in viewer-styles.ts). */
export const VIEWER_HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Fedgate audit log</title>
<link rel="stylesheet" href="/viewer/viewer.css">
<script src="/viewer/viewer.js" defer></script>
</head>
<body>
<header>
  <h1>Fedgate audit log</h1>
  <div id="integrity" class="integrity unknown"><span id="integrity-status">integrity not checked yet</span>
    <button type="button" id="verify-now">Verify now</button></div>
</header>
<section id="key-panel" class="panel">
  <form id="key-form" autocomplete="off">
    <label for="key-input">Audit-reader key (x-fedgate-key), kept only in this tab's session storage</label>
    <input id="key-input" type="password" required>
    <button type="submit" id="key-save">Use key</button>
    <button type="button" id="key-forget">Forget key</button>
  </form>
</section>
<section class="panel">
  <form id="filters" autocomplete="off">
    <label>actor <input id="filter-actor" name="actor" placeholder="flwr_aid"></label>
    <label>type <input id="filter-type" name="type" list="event-types" placeholder="fedgate.…v1"></label>
    <datalist id="event-types"></datalist>
    <label>outcome <select id="filter-outcome" name="outcome"><option value="">any</option><option>success</option><option>failure</option><option>denied</option></select></label>
    <label>object <input id="filter-object" name="object" placeholder="run:42"></label>
    <label>since (UTC) <input id="filter-since" name="since" type="datetime-local" step="1"></label>
    <label>until (UTC) <input id="filter-until" name="until" type="datetime-local" step="1"></label>
    <button type="submit" id="apply-filters">Apply</button>
    <button type="button" id="clear-filters">Clear</button>
    <label class="live"><input type="checkbox" id="live" checked> live</label>
  </form>
  <p id="message" role="status"></p>
</section>
<main>
  <table id="events">
    <thead><tr><th>seq</th><th>time (UTC)</th><th>type</th><th>actor</th><th>object</th><th>action</th><th>outcome</th></tr></thead>
    <tbody></tbody>
  </table>
  <button type="button" id="load-more" hidden>Load older events</button>
  <aside id="detail" hidden>
    <h2>Event <span id="detail-seq"></span></h2>
    <button type="button" id="detail-close">Close</button>
    <dl id="detail-fields"></dl>
    <h3>data</h3>
    <pre id="detail-data"></pre>
  </aside>
</main>
</body>
</html>
`;

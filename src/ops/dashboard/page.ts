/** The dashboard's HTML. Scripts and styles are served by the balancer itself (no CDN). */
export const DASHBOARD_HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>ringlb</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="/dashboard/style.css">
</head>
<body>
<header>
  <h1>ringlb</h1>
  <span id="summary" class="summary"></span>
  <span id="conn" class="conn" data-live="false">connecting…</span>
</header>
<main>
  <section class="card ring-card">
    <h2>Ring</h2>
    <svg id="ring" viewBox="-120 -120 240 240" role="img" aria-label="the hash ring, one colour per replica"></svg>
    <p id="ring-note" class="note"></p>
  </section>
  <section class="card replicas-card">
    <h2>Replicas</h2>
    <form id="add-form" class="add">
      <input id="add-name" name="name" placeholder="name (optional)" autocomplete="off" maxlength="63">
      <button id="add" type="submit">Add replica</button>
    </form>
    <p id="error" class="error" role="alert" hidden></p>
    <div class="table-wrap">
      <table id="replicas">
        <thead><tr><th>Replica</th><th>State</th><th>Address, process</th><th>Key share</th><th>req/s</th><th>p99</th><th>Last check</th><th></th></tr></thead>
        <tbody></tbody>
      </table>
    </div>
  </section>
  <section class="card hot-card">
    <h2>Hot keys</h2>
    <div class="table-wrap">
      <table id="hot-keys">
        <thead><tr><th>Key</th><th>req/s</th><th>Share</th><th>Owner</th></tr></thead>
        <tbody></tbody>
      </table>
    </div>
    <p id="hot-note" class="note">The hottest hash keys of the last 2 s (GET /keys/hot).</p>
  </section>
  <section class="card timeline-card">
    <h2>Events</h2>
    <ol id="timeline" class="timeline"></ol>
  </section>
</main>
<script type="module" src="/dashboard/app.js"></script>
</body>
</html>
`;

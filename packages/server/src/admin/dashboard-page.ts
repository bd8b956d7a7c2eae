/**
 * The dashboard's page: HTML, styles and script in one string, so the admin server serves it
 * with nothing to fetch from anywhere else. The script polls `/dashboard/api/state` every
 * second, keeps two minutes of figures for the charts (drawn on canvases, no library), and
 * browses znodes through `/dashboard/api/znode` with the credentials the operator enters
 * (kept in the page only; `#auth=...&path=...` in the address fills them in).
 *
 * @module
 */

/** The whole page. */
export const dashboardPage = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>zabkit dashboard</title>
<style>
  body { font: 14px/1.4 system-ui, sans-serif; margin: 0; background: #f4f5f7; color: #1d2330; }
  header { background: #1d2330; color: #fff; padding: 10px 20px; display: flex; gap: 24px; align-items: baseline; }
  header h1 { font-size: 18px; margin: 0; }
  main { padding: 16px 20px; display: grid; grid-template-columns: 1fr 1fr; gap: 16px; }
  section { background: #fff; border-radius: 6px; padding: 12px 16px; box-shadow: 0 1px 2px rgba(0,0,0,.08); }
  section.wide { grid-column: 1 / 3; }
  h2 { font-size: 15px; margin: 0 0 8px; }
  table { border-collapse: collapse; width: 100%; }
  th, td { text-align: left; padding: 3px 8px; border-bottom: 1px solid #e6e8ec; font-variant-numeric: tabular-nums; }
  .ok { color: #137333; } .bad { color: #b3261e; } .warn { color: #a56300; }
  .charts { display: grid; grid-template-columns: repeat(4, 1fr); gap: 12px; }
  .chart canvas { width: 100%; height: 90px; background: #fafbfc; border: 1px solid #e6e8ec; }
  .chart .now { font-weight: 600; }
  form { display: flex; gap: 8px; margin-bottom: 8px; }
  input { font: inherit; padding: 3px 6px; }
  pre { background: #fafbfc; border: 1px solid #e6e8ec; padding: 8px; max-height: 200px; overflow: auto; white-space: pre-wrap; }
  a { color: #1a56c4; cursor: pointer; }
</style>
</head>
<body>
<header><h1>zabkit</h1><span id="server">connecting…</span><span id="status"></span></header>
<main>
  <section class="wide">
    <h2>Live</h2>
    <div class="charts">
      <div class="chart"><div>Throughput <span class="now" id="now-throughput"></span> req/s</div><canvas id="chart-throughput" width="300" height="90"></canvas></div>
      <div class="chart"><div>Latency <span class="now" id="now-latency"></span> ms avg</div><canvas id="chart-latency" width="300" height="90"></canvas></div>
      <div class="chart"><div>Connections <span class="now" id="now-connections"></span></div><canvas id="chart-connections" width="300" height="90"></canvas></div>
      <div class="chart"><div>Outstanding <span class="now" id="now-outstanding"></span></div><canvas id="chart-outstanding" width="300" height="90"></canvas></div>
    </div>
  </section>
  <section>
    <h2>Members</h2>
    <table id="members"><thead><tr><th>id</th><th>host</th><th>role</th><th>zxid</th><th>lag</th><th>health</th></tr></thead><tbody></tbody></table>
  </section>
  <section>
    <h2>Sessions <span id="session-count"></span></h2>
    <table id="sessions"><thead><tr><th>session</th><th>timeout</th><th>ephemerals</th><th>client</th><th>last op</th></tr></thead><tbody></tbody></table>
  </section>
  <section class="wide">
    <h2>Znodes (read-only, as the signed-in identity's ACLs allow)</h2>
    <form id="browse">
      <input id="auth" placeholder="digest user:password" size="28" autocomplete="off">
      <input id="path" value="/" size="40">
      <button type="submit">Open</button>
    </form>
    <div id="znode-error" class="bad"></div>
    <div id="znode"></div>
  </section>
</main>
<script>
(() => {
  const keep = 120;
  const series = { throughput: [], latency: [], connections: [], outstanding: [] };
  let previous;
  const el = (id) => document.getElementById(id);
  const text = (value) => (value === null || value === undefined ? '–' : String(value));
  const row = (cells) => '<tr>' + cells.map((c) => '<td>' + c + '</td>').join('') + '</tr>';
  const escape = (value) => text(value).replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c]);
  function push(name, value) {
    const list = series[name];
    list.push(value);
    if (list.length > keep) list.shift();
    el('now-' + name).textContent = Number.isInteger(value) ? value : value.toFixed(2);
    draw(el('chart-' + name), list);
  }
  function draw(canvas, values) {
    const g = canvas.getContext('2d');
    const w = canvas.width, h = canvas.height;
    g.clearRect(0, 0, w, h);
    const max = Math.max(1, ...values);
    g.strokeStyle = '#1a56c4';
    g.lineWidth = 1.5;
    g.beginPath();
    values.forEach((v, i) => {
      const x = (i / (keep - 1)) * w;
      const y = h - 4 - (v / max) * (h - 8);
      if (i === 0) g.moveTo(x, y); else g.lineTo(x, y);
    });
    g.stroke();
    g.fillStyle = '#6b7280';
    g.font = '10px sans-serif';
    g.fillText(String(Math.round(max * 100) / 100), 2, 10);
  }
  function health(value, detail) {
    const cls = value === 'ok' ? 'ok' : value === 'syncing' || value === 'unknown' ? 'warn' : 'bad';
    // Why a member is down or not serving, as its probe found it.
    const title = detail ? ' title="' + escape(detail) + '"' : '';
    return '<span class="' + cls + '"' + title + '>' + escape(value) + '</span>';
  }
  async function poll() {
    try {
      const response = await fetch('/dashboard/api/state', { cache: 'no-store' });
      const state = await response.json();
      el('server').textContent = 'server ' + state.serverId + ' · ' + state.mode + ' · zxid ' + state.zxid + ' · ' + state.version;
      el('status').innerHTML = state.failure ? '<span class="bad">stopped: ' + escape(state.failure) + '</span>' : state.serving ? '<span class="ok">serving</span>' : '<span class="warn">not serving</span>';
      el('members').tBodies[0].innerHTML = state.members.map((m) => row([escape(m.id) + (m.self ? ' (this)' : ''), escape(m.host), escape(m.role), escape(m.zxid), escape(m.lag), health(m.health, m.detail)])).join('');
      el('session-count').textContent = '(' + state.sessions.length + ')';
      el('sessions').tBodies[0].innerHTML = state.sessions.map((s) => row([escape(s.id), escape(s.timeoutMs) + ' ms', escape(s.ephemerals), escape(s.client), escape(s.lastOperation)])).join('');
      const now = performance.now();
      const f = state.figures;
      if (previous !== undefined) {
        const seconds = Math.max(0.001, (now - previous.at) / 1000);
        push('throughput', Math.max(0, (f.packetsReceived - previous.figures.packetsReceived) / seconds));
      } else push('throughput', 0);
      push('latency', f.latencyAvgMs);
      push('connections', f.connections);
      push('outstanding', f.outstanding);
      previous = { at: now, figures: f };
      document.body.dataset.updated = String(Number(document.body.dataset.updated || 0) + 1);
    } catch (error) {
      el('status').innerHTML = '<span class="bad">admin server unreachable</span>';
    }
  }
  async function browse(path) {
    el('path').value = path;
    el('znode-error').textContent = '';
    const response = await fetch('/dashboard/api/znode?path=' + encodeURIComponent(path), { headers: { authorization: el('auth').value }, cache: 'no-store' });
    const body = await response.json();
    if (!response.ok) {
      el('znode-error').textContent = body.error;
      el('znode').innerHTML = '';
      return;
    }
    const join = (child) => (path === '/' ? '/' + child : path + '/' + child);
    const parent = path === '/' ? null : path.slice(0, path.lastIndexOf('/')) || '/';
    el('znode').innerHTML =
      '<div id="znode-path"><b>' + escape(body.path) + '</b> · ' + body.dataLength + ' bytes · version ' + body.stat.version + ' · ' + body.stat.numChildren + ' children' + (body.stat.ephemeralOwner !== 0 ? ' · ephemeral' : '') + '</div>' +
      (parent === null ? '' : '<div><a data-path="' + escape(parent) + '">..</a></div>') +
      '<ul id="children">' + body.children.map((c) => '<li><a data-path="' + escape(join(c)) + '">' + escape(c) + '</a></li>').join('') + '</ul>' +
      '<pre id="data">' + escape(body.data) + '</pre>';
    for (const link of el('znode').querySelectorAll('a[data-path]')) link.addEventListener('click', () => browse(link.dataset.path));
  }
  el('browse').addEventListener('submit', (event) => { event.preventDefault(); browse(el('path').value); });
  const hash = new URLSearchParams(location.hash.slice(1));
  if (hash.get('auth')) {
    el('auth').value = hash.get('auth');
    browse(hash.get('path') || '/');
  }
  poll();
  setInterval(poll, 1000);
})();
</script>
</body>
</html>
`;

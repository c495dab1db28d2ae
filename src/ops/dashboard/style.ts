/** The dashboard's stylesheet: one column on a phone, ring beside the table on a laptop. */
export const DASHBOARD_CSS = `
:root {
  color-scheme: light dark;
  --bg: #f6f7f9; --card: #fff; --text: #1d232b; --muted: #66707c; --line: #e1e5ea;
  --ok: #1a7f37; --bad: #cf222e; --warn: #9a6700; --accent: #0969da;
  font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif;
}
@media (prefers-color-scheme: dark) {
  :root { --bg: #0d1117; --card: #161b22; --text: #e6edf3; --muted: #8b949e; --line: #30363d;
    --ok: #3fb950; --bad: #f85149; --warn: #d29922; --accent: #4493f8; }
}
* { box-sizing: border-box; }
body { margin: 0; background: var(--bg); color: var(--text); font-size: 15px; }
header { display: flex; flex-wrap: wrap; align-items: baseline; gap: .5rem 1rem; padding: .8rem 1rem; }
h1 { margin: 0; font-size: 1.3rem; }
h2 { margin: 0 0 .6rem; font-size: 1rem; color: var(--muted); font-weight: 600; }
.summary { color: var(--muted); }
.conn { margin-left: auto; font-size: .85rem; color: var(--warn); }
.conn[data-live="true"] { color: var(--ok); }
main { display: grid; gap: 1rem; padding: 0 1rem 1rem; grid-template-columns: minmax(0, 1fr); }
@media (min-width: 900px) {
  /* The replica table's column takes two thirds: with the address and process column its rows
     need about 690 px at 1280 px wide, and figures that grow (p99, req/s, the last check's age)
     must not push it into a scroll. */
  main { grid-template-columns: minmax(300px, 1fr) minmax(0, 2fr); }
  .timeline-card { grid-column: 2; }
}
.card { background: var(--card); border: 1px solid var(--line); border-radius: 8px; padding: 1rem; min-width: 0; }
#ring { width: 100%; max-width: 420px; display: block; margin: 0 auto; }
#ring .hub { fill: var(--text); font-size: 14px; text-anchor: middle; dominant-baseline: middle; }
#ring .hub-sub { fill: var(--muted); font-size: 8px; text-anchor: middle; }
#ring .vnode { stroke: var(--card); stroke-width: .8; }
.note { color: var(--muted); font-size: .85rem; text-align: center; margin: .4rem 0 0; }
.add { display: flex; gap: .5rem; margin-bottom: .6rem; flex-wrap: wrap; }
.add input { flex: 1 1 10rem; min-width: 0; }
input, button { font: inherit; padding: .35rem .6rem; border-radius: 6px; border: 1px solid var(--line);
  background: var(--bg); color: var(--text); }
button { cursor: pointer; background: var(--accent); border-color: var(--accent); color: #fff; }
button.remove { background: transparent; color: var(--bad); border-color: var(--line); padding: .15rem .5rem; }
button:disabled { opacity: .5; cursor: default; }
.error { color: var(--bad); margin: .4rem 0; }
.table-wrap { overflow-x: auto; }
table { border-collapse: collapse; width: 100%; font-variant-numeric: tabular-nums; }
th, td { text-align: left; padding: .4rem .5rem; border-bottom: 1px solid var(--line); white-space: nowrap; }
th { color: var(--muted); font-weight: 500; font-size: .85rem; }
td.num { text-align: right; }
td.key { font-family: ui-monospace, monospace; overflow-wrap: anywhere; }
#replicas th, #replicas td { padding: .4rem .35rem; }
td.where span { display: block; font-family: ui-monospace, monospace; font-size: .85em; }
td.where .proc { color: var(--muted); }
.swatch { display: inline-block; width: .8rem; height: .8rem; border-radius: 3px; margin-right: .45rem; vertical-align: -1px; }
.state { font-size: .8rem; padding: .1rem .45rem; border-radius: 999px; border: 1px solid currentColor; }
.state-healthy { color: var(--ok); }
.state-down,
.state-unhealthy { color: var(--bad); }
.state-starting, .state-draining { color: var(--warn); }
.warming { font-size: .75rem; color: var(--warn); white-space: nowrap; }
.check-failed { color: var(--bad); }
.timeline { list-style: none; margin: 0; padding: 0; max-height: 18rem; overflow-y: auto; font-size: .9rem; }
.timeline li { padding: .3rem 0; border-bottom: 1px solid var(--line); display: flex; gap: .7rem; }
.timeline time { color: var(--muted); font-variant-numeric: tabular-nums; flex: none; }
.timeline .ev-down { color: var(--bad); }
.timeline .ev-ring { color: var(--accent); }
@media (max-width: 600px) {
  body { font-size: 14px; }
  th, td { padding: .35rem .3rem; }
  /* On a phone address, process and last check are the columns to give up (ringlb status has them). */
  #replicas th:nth-child(3), #replicas td:nth-child(3),
  #replicas th:nth-child(7), #replicas td:nth-child(7) { display: none; }
}
`;

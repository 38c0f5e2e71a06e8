export const VIEWER_CSS = `
body { font: 14px/1.4 system-ui, sans-serif; margin: 0; color: #1b1f24; background: #f6f7f9; }
header { display: flex; align-items: center; justify-content: space-between; padding: 8px 16px; background: #1b2a41; color: #fff; }
h1 { font-size: 18px; margin: 0; }
.panel { padding: 8px 16px; background: #fff; border-bottom: 1px solid #dde1e6; }
form { display: flex; flex-wrap: wrap; gap: 8px; align-items: end; }
label { display: flex; flex-direction: column; font-size: 12px; color: #555; }
label.live { flex-direction: row; gap: 4px; align-items: center; }
input, select, button { font: inherit; padding: 3px 6px; }
.integrity { padding: 4px 8px; border-radius: 4px; display: flex; gap: 8px; align-items: center; }
.integrity.ok { background: #1f7a3a; }
.integrity.bad { background: #b3261e; }
.integrity.unknown { background: #5c6670; }
main { display: flex; gap: 12px; padding: 8px 16px; align-items: flex-start; }
table { border-collapse: collapse; background: #fff; flex: 1; font-size: 13px; }
th, td { text-align: left; padding: 3px 8px; border-bottom: 1px solid #eceff2; white-space: nowrap; }
tbody tr { cursor: pointer; }
tbody tr:hover { background: #eef3fb; }
tbody tr.selected { background: #d9e6fa; }
tbody tr.new { animation: flash 2s; }
@keyframes flash { from { background: #fff4c2; } to { background: transparent; } }
td.outcome-denied, td.outcome-failure { color: #b3261e; font-weight: 600; }
td.outcome-success { color: #1f7a3a; }
aside { width: 40%; background: #fff; border: 1px solid #dde1e6; padding: 8px 12px; position: sticky; top: 8px; }
aside dl { display: grid; grid-template-columns: max-content 1fr; gap: 2px 12px; }
aside dt { color: #555; }
aside dd { margin: 0; word-break: break-all; font-family: ui-monospace, monospace; }
pre { background: #f3f4f6; padding: 8px; overflow: auto; max-height: 50vh; }
#message { margin: 4px 0 0; min-height: 1.4em; color: #b3261e; }
`;

// Export buttons of the run page: the results the current filters select, as CSV or JSONL
// (GET /v1/runs/{id}/export, the same filters as the results table).

import { h, errorBox, note, fmtInt } from '../ui.js';
import { download, qs } from '../api.js';

export function exportBar(runId, filters, signal) {
  const msg = h('span', { class: 'muted small', 'aria-live': 'polite' });
  const button = (format, label) => h('button', { type: 'button', class: 'small', dataset: { export: format }, onclick: async (e) => {
    const b = e.currentTarget;
    b.disabled = true;
    msg.replaceChildren('Preparing the file…');
    try {
      const f = filters();
      const got = await download(`/v1/runs/${encodeURIComponent(runId)}/export` + qs({ format, ...f }),
        { signal, fallbackName: `${runId}.${format}` });
      msg.replaceChildren(note('ok', `Downloaded ${got.name} (${fmtInt(got.bytes)} bytes).`));
    } catch (err) {
      if (err.name !== 'AbortError') msg.replaceChildren(errorBox(err));
    } finally { b.disabled = false; }
  } }, label);
  return h('div', { class: 'row export-bar' },
    h('span', { class: 'muted small' }, 'Export the results these filters select:'),
    button('csv', 'Export CSV'), button('jsonl', 'Export JSONL'), msg);
}

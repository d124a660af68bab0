import { h, table, when, empty, pageHead, pager, field, showFieldError, errorBox, projPath } from '../ui.js';
import { api, qs } from '../api.js';
import { navigate } from '../router.js';

export async function projectsPage({ el, signal }) {
  const listBox = h('div');
  const cursors = [null];
  let pageNo = 0;

  async function load() {
    const data = await api('/v1/projects' + qs({ limit: 50, cursor: cursors[pageNo] }), { signal });
    cursors[pageNo + 1] = data.next_cursor;
    if (!data.items.length && pageNo === 0) {
      listBox.replaceChildren(empty('No projects yet',
        h('p', {}, 'Create one with the form above, or from a script:'),
        h('code', {}, `curl -X POST -H "X-API-Key: $KEY" -H 'content-type: application/json' -d '{"name":"web"}' ${location.origin}/v1/projects`)));
      return;
    }
    listBox.replaceChildren(
      table([
        { label: 'Project', cell: (p) => h('a', { href: projPath(p) }, p.name) },
        { label: 'Id', cell: (p) => h('code', {}, p.id), cls: 'hide-narrow' },
        { label: 'Created', cell: (p) => when(p.created_at) },
        { label: 'Links', cell: (p) => h('span', { class: 'badges' },
          h('a', { href: projPath(p, '/scorers') }, 'scorers'), ' · ', h('a', { href: projPath(p, '/datasets') }, 'datasets')) },
      ], data.items),
      pager({ page: pageNo + 1, hasPrev: pageNo > 0, hasNext: !!data.next_cursor,
        onPrev: () => { pageNo--; load().catch(showErr); }, onNext: () => { pageNo++; load().catch(showErr); } }));
  }
  const showErr = (e) => { if (e.name !== 'AbortError') listBox.replaceChildren(errorBox(e)); };

  const name = h('input', { type: 'text', name: 'name', required: true, placeholder: 'web' });
  const formErr = h('div');
  const form = h('form', {
    class: 'card section',
    onsubmit: async (e) => {
      e.preventDefault();
      formErr.replaceChildren();
      try {
        const p = await api('/v1/projects', { method: 'POST', body: { name: name.value.trim() } });
        navigate(projPath(p));
      } catch (err) {
        if (!showFieldError(form, err)) formErr.append(errorBox(err));
      }
    },
  }, h('div', { class: 'row' }, field('New project', name), h('button', { type: 'submit', class: 'primary' }, 'Create project')), formErr);

  el.append(pageHead('Projects'), form, listBox);
  await load();
}

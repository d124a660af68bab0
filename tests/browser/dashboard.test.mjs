// Browser test of the embedded dashboard: Debian's Chromium driven by playwright-core (no browser download).
//
//   GAVEL_URL=http://127.0.0.1:PORT GAVEL_KEY=gv_… FAKE_URL=http://127.0.0.1:PORT/v1 node dashboard.test.mjs seed.json
//
// seed.json (or env GAVEL_SEED with the same JSON): {"project": "web", "run_failed": "run_…", "run_passed": "run_…",
// "search": "London", "member_key": "gv_…" (optional: a member's key, to check the read-only views), "dataset": "ds_…" and
// "server_admin_key": "gv_…" (optional: the dataset items page, and the server admin's Orgs page), "gateway": {calls, hits,
// logged_project, logged_prompt} (optional: seeded gateway calls, for the gateway and settings pages), "red_team": {run,
// category, asr, safe_model} (optional: a finished red-team run against a leaky target, a whole-100% category and a
// model name the fake refuses everything for, for the red-team pages), "analysis": {run, buckets: {NAME: [index…]}, bucket,
// severity, bucket_severity: [index…]} (optional: a finished failure analysis, the items failing each bucket, and the
// items of `bucket` at `severity`)}. Screenshots go to SCREENSHOT_DIR (default: <repo>/target/screenshots).
// Exit 0 when every step passed; otherwise 1 with the failing step and why.

import { chromium } from 'playwright-core';
import { mkdirSync, readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const die = (msg) => { console.error(`dashboard test: ${msg}`); process.exit(2); };
const BASE = (process.env.GAVEL_URL || '').replace(/\/$/, '');
const KEY = process.env.GAVEL_KEY;
const FAKE = process.env.FAKE_URL;
if (!BASE || !KEY || !FAKE) die('set GAVEL_URL, GAVEL_KEY and FAKE_URL');
const seedText = process.argv[2] ? readFileSync(process.argv[2], 'utf8') : process.env.GAVEL_SEED;
if (!seedText) die('pass the seed JSON file as the first argument (or GAVEL_SEED)');
const SEED = JSON.parse(seedText);
for (const k of ['project', 'run_failed', 'run_passed']) if (!SEED[k]) die(`seed lacks "${k}"`);
const OUT = resolve(process.env.SCREENSHOT_DIR || resolve(here, '../../target/screenshots'));
mkdirSync(OUT, { recursive: true });
const origin = new URL(BASE).origin;
const T = 30000;

// ---------------------------------------------------------------- recording
const problems = [];          // console errors, page errors, foreign requests, unexpected HTTP errors
const httpErrors = [];        // {url, status, step}
let allowHttp = () => false;  // which HTTP error statuses the current step expects
let current = '(start)';
const results = [];

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  headless: true,
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
    '--disable-component-update', '--disable-sync'],
});
const context = await browser.newContext({ viewport: { width: 1280, height: 800 }, acceptDownloads: true });
await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin });
const page = await context.newPage();
page.setDefaultTimeout(T);
let requests = 0;
page.on('request', (req) => {
  requests++;
  const u = new URL(req.url());
  if (['data:', 'blob:', 'about:'].includes(u.protocol)) return;
  if (u.origin !== origin) problems.push(`[${current}] request to another host: ${req.method()} ${req.url()}`);
});
page.on('response', (res) => {
  if (res.status() < 400) return;
  const u = new URL(res.url());
  httpErrors.push({ url: u.pathname + u.search, status: res.status(), step: current });
  if (!allowHttp(res.status(), u)) problems.push(`[${current}] unexpected HTTP ${res.status()} for ${res.request().method()} ${u.pathname}${u.search}`);
});
page.on('console', (msg) => {
  if (msg.type() !== 'error') return;
  // Chromium logs every HTTP error response as a console error; those are judged by the response handler above.
  if (/^Failed to load resource: the server responded with a status of \d+/.test(msg.text())) return;
  problems.push(`[${current}] console error: ${msg.text()}`);
});
page.on('pageerror', (err) => problems.push(`[${current}] page error: ${err.message}`));

// ---------------------------------------------------------------- helpers
const shot = async (name) => page.screenshot({ path: resolve(OUT, `${name}.png`), fullPage: true });
async function step(name, fn) {
  current = name;
  const t0 = Date.now();
  const before = problems.length;
  try {
    await fn();
    if (problems.length > before) throw new Error(problems.slice(before).join('\n    '));
    results.push({ name, ok: true });
    console.log(`ok   ${name} (${Date.now() - t0} ms)`);
  } catch (e) {
    results.push({ name, ok: false, error: e.message.split('\n').slice(0, 6).join('\n    ') });
    console.log(`FAIL ${name}: ${e.message.split('\n').slice(0, 6).join('\n    ')}`);
    await shot(`FAILED-${name.replace(/\W+/g, '-')}`).catch(() => {});
    throw e;
  } finally { allowHttp = () => false; }
}
const expect = (cond, msg) => { if (!cond) throw new Error(msg); };
const heading = (text) => page.getByRole('heading', { level: 1, name: text });
const noOverflow = async (label) => {
  const w = await page.evaluate(() => document.documentElement.scrollWidth);
  const vw = page.viewportSize().width;
  expect(w <= vw + 1, `${label}: the page is ${w}px wide in a ${vw}px window (horizontal scrolling)`);
};
const waitResults = (pred) => page.waitForResponse((r) => r.url().includes(`/v1/runs/${SEED.run_failed}/results`) && pred(new URL(r.url()).searchParams));
const runUrl = `/projects/${encodeURIComponent(SEED.project)}/runs/${encodeURIComponent(SEED.run_failed)}`;

/** RFC 4180 CSV (quoted fields, doubled quotes, newlines inside quotes) into rows of cells. */
function parseCsv(text) {
  const rows = [];
  let row = [], cell = '', quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') { cell += '"'; i++; } else if (c === '"') quoted = false; else cell += c;
    } else if (c === '"') quoted = true;
    else if (c === ',') { row.push(cell); cell = ''; }
    else if (c === '\n' || c === '\r') {
      if (c === '\r' && text[i + 1] === '\n') i++;
      row.push(cell); rows.push(row); row = []; cell = '';
    } else cell += c;
  }
  if (cell || row.length) { row.push(cell); rows.push(row); }
  return rows;
}

// ---------------------------------------------------------------- the walk
let failed = false;
try {
  await step('sign-in page and a wrong key', async () => {
    allowHttp = (status, u) => status === 401 && u.pathname.startsWith('/v1/');
    await page.goto(BASE + '/');
    await page.waitForURL(/\/signin/);
    await heading('Sign in to gavel').waitFor();
    await shot('signin');
    await page.getByLabel('API key').fill('gv_' + 'x'.repeat(40));
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('alert').filter({ hasText: /unknown or revoked api key/i }).waitFor();
    await shot('signin-wrong-key');
  });

  await step('sign in and list projects', async () => {
    await page.getByLabel('API key').fill(KEY);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await heading('Projects').waitFor();
    await page.getByRole('link', { name: SEED.project, exact: true }).waitFor();
    const stored = await page.evaluate(() => Object.values(sessionStorage));
    expect(stored.includes(KEY), 'the key is kept in sessionStorage');
    await shot('projects');
  });

  await step('open the project: runs and trend chart', async () => {
    await page.getByRole('link', { name: SEED.project, exact: true }).click();
    await heading(SEED.project).waitFor();
    await page.locator('svg.chart circle').first().waitFor();
    const rows = await page.locator('tbody tr').count();
    expect(rows >= 2, `expected the seeded runs in the table, saw ${rows} rows`);
    await shot('project');
  });

  await step('open a run: summary, gate, scorers, results', async () => {
    await page.locator(`a[href$="/runs/${SEED.run_failed}"]`).first().click();
    await page.waitForURL((u) => u.pathname.endsWith(SEED.run_failed));
    await page.getByText('Pass rate', { exact: true }).first().waitFor();
    await page.getByText('Gate', { exact: true }).first().waitFor();
    await page.getByText(/^95% CI \d/).first().waitFor();
    await page.locator('tbody tr[data-index]').first().waitFor();
    await shot('run');
  });

  await step('filter to failed items', async () => {
    const resp = waitResults((q) => q.get('status') === 'failed');
    await page.getByRole('button', { name: 'Failed', exact: true }).click();
    const body = await (await resp).json();
    expect(body.items.length > 0, 'the seeded run has failed items');
    await page.waitForURL(/status=failed/);
    await page.waitForFunction((n) => document.querySelectorAll('tbody tr[data-index]').length === n, body.items.length);
    const verdicts = await page.locator('tbody tr[data-index] td.verdict').allTextContents();
    expect(verdicts.every((v) => v.trim() === 'failed'), `every row is failed: ${verdicts.slice(0, 5)}`);
  });

  await step('open an item: detail panel', async () => {
    await page.locator('tbody tr[data-index] button').first().click();
    const dlg = page.getByRole('dialog');
    await dlg.waitFor();
    for (const t of ['Input', 'Output', 'Scores']) await dlg.getByRole('heading', { name: t, exact: true }).waitFor();
    await dlg.locator('.score').first().waitFor();
    await shot('run-item');
    await page.keyboard.press('Escape');
    await dlg.waitFor({ state: 'detached' });
  });

  await step('search and scorer filter; the deep link survives a reload', async () => {
    if (SEED.search) {
      const resp = waitResults((q) => q.get('q') === SEED.search);
      await page.getByLabel('Search').fill(SEED.search);
      const body = await (await resp).json();
      const needle = SEED.search.toLowerCase();
      const hit = (v) => JSON.stringify(v ?? '').toLowerCase().includes(needle);
      expect(body.items.every((r) => hit(r.item.input) || hit(r.item.output)), 'every search hit holds the text');
      // Listen before acting: the answer can arrive before a listener set up afterwards.
      const cleared = waitResults((q) => !q.get('q'));
      await page.getByLabel('Search').fill('');
      await cleared;
    }
    const scorer = await page.locator('#results-scorer option').nth(1).getAttribute('value');
    const resp = waitResults((q) => q.get('scorer') === scorer);
    await page.getByLabel('Scorer').selectOption(scorer);
    await resp;
    await page.waitForURL(/scorer=/);
    await page.reload();
    await page.locator('tbody tr[data-index]').first().waitFor();
    expect(await page.getByRole('button', { name: 'Failed', exact: true }).getAttribute('aria-pressed') === 'true', 'the status filter survives the reload');
    expect(await page.getByLabel('Scorer').inputValue() === scorer, 'the scorer filter survives the reload');
  });

  await step('next page of results', async () => {
    await page.goto(BASE + runUrl);
    await page.locator('tbody tr[data-index]').first().waitFor();
    const next = page.getByRole('button', { name: 'Next →' }).last();
    if (await next.isEnabled()) {
      const first = await page.locator('tbody tr[data-index]').first().getAttribute('data-index');
      await next.click();
      await page.waitForFunction((f) => document.querySelector('tbody tr[data-index]')?.dataset.index !== f, first);
      await page.getByRole('button', { name: '← Previous' }).last().click();
      await page.waitForFunction((f) => document.querySelector('tbody tr[data-index]')?.dataset.index === f, first);
    }
  });

  await step('review an item from its panel, then from the review queue', async () => {
    await page.goto(BASE + runUrl);
    await page.locator('tbody tr[data-index="0"] button').click();
    const dlg = page.getByRole('dialog');
    await dlg.getByRole('heading', { name: 'Your review' }).waitFor();
    const ctl = dlg.locator('.review[data-scorer="relevance"]');
    await ctl.getByRole('textbox').fill('the judge is right: London is wrong');
    await ctl.getByRole('button', { name: 'Mark item 0 fail for relevance' }).click();
    await ctl.getByText('Saved: you said fail').waitFor();
    expect(await dlg.locator('.review').count() === 1, 'only the judge scorer (relevance) is offered for review');
    await shot('run-item-review');
    await page.keyboard.press('Escape');
    await dlg.waitFor({ state: 'detached' });
    await page.getByRole('link', { name: 'Review queue' }).click();
    await heading(/^Review queue/).waitFor();
    await page.locator('tbody tr[data-index]').first().waitFor();
    expect(await page.locator('tbody tr[data-index]').first().getAttribute('data-reason') === 'failed', 'judge failures first (the seed has no unsure items)');
    expect(await page.locator('tbody tr[data-index="0"]').count() === 0, 'the reviewed item is not on the first page: it goes last');
    const hidden = page.waitForResponse((r) => r.url().includes('/review-queue') && r.url().includes('exclude_reviewed=true'));
    await page.getByLabel('Hide items I reviewed').check();
    await hidden;
    // The answer is in; give the page its render before reading the rows.
    await page.waitForFunction(() => document.querySelector('tbody tr[data-index]')?.getAttribute('data-index') === '3', null, { timeout: 5000 }).catch(() => {});
    const first = page.locator('tbody tr[data-index]').first();
    expect(await first.getAttribute('data-index') === '3', 'item 3 (the next wrong one) leads the queue');
    await first.getByRole('button', { name: 'Mark item 3 pass for relevance' }).click();
    await first.getByText('Saved: you said pass').waitFor();
    await shot('review-queue');
  });

  await step("scorers: a judge scorer's agreement with people", async () => {
    await page.goto(BASE + `/projects/${encodeURIComponent(SEED.project)}/scorers`);
    await heading('Scorers').waitFor();
    await page.getByLabel('Name', { exact: true }).fill('relevance');
    await page.getByLabel('Type').selectOption('relevance');
    await page.getByLabel('Config (JSON)').fill('{}');
    await page.getByRole('button', { name: 'Create scorer' }).click();
    const cell = page.locator('[data-agreement="relevance"]');
    await cell.getByText(/accuracy/).waitFor();
    // Two reviews: item 0 judge fail / person fail (tn), item 3 judge fail / person pass (fn).
    const text = await cell.textContent();
    expect(text.includes('accuracy 50.0%') && text.includes('tn 1') && text.includes('fn 1') && text.includes('κ 0'), `agreement cell: ${text}`);
    expect((await page.locator('[data-agreement="mentions-paris"]').textContent()) === '—', 'no agreement for a heuristic');
    await shot('scorers-agreement');
    await page.goto(BASE + runUrl);
    await page.locator('tbody tr[data-index]').first().waitFor();
  });

  await step('compare two runs', async () => {
    await page.getByRole('link', { name: 'Compare', exact: true }).click();
    await heading('Compare runs').waitFor();
    await page.getByLabel('Base (before)').selectOption(SEED.run_passed);
    await page.getByLabel('Head (after)').selectOption(SEED.run_failed);
    await page.getByRole('button', { name: 'Compare', exact: true }).click();
    await page.getByRole('heading', { name: 'Per scorer' }).waitFor();
    await page.getByText('Beyond noise?', { exact: true }).first().waitFor();
    await page.getByRole('heading', { name: 'Items whose verdict changed' }).waitFor();
    await shot('compare');
  });

  await step('scorers: field error at the field, create, delete', async () => {
    await page.getByRole('link', { name: 'Scorers', exact: true }).click();
    await heading('Scorers').waitFor();
    allowHttp = (status) => status === 400;
    await page.getByLabel('Name', { exact: true }).fill('bad-regex');
    await page.getByLabel('Type').selectOption('regex_match');
    await page.getByLabel('Config (JSON)').fill('{"pattern": "("}');
    await page.getByRole('button', { name: 'Create scorer' }).click();
    await page.locator('.field[data-field="config"] .field-error:not([hidden])').waitFor();
    allowHttp = () => false;
    await page.getByLabel('Config (JSON)').fill('{"pattern": "^Paris"}');
    await page.getByLabel('Name', { exact: true }).fill('starts-paris');
    await page.getByRole('button', { name: 'Create scorer' }).click();
    await page.getByRole('cell', { name: 'starts-paris', exact: true }).waitFor();
    await shot('scorers');
    await page.getByRole('button', { name: 'Delete scorer starts-paris' }).click();
    await page.getByRole('dialog').getByRole('button', { name: 'Delete' }).click();
    await page.getByRole('cell', { name: 'starts-paris', exact: true }).waitFor({ state: 'detached' });
  });

  await step('datasets: line-numbered error, upload, delete', async () => {
    await page.getByRole('link', { name: 'Datasets', exact: true }).click();
    await heading('Datasets').waitFor();
    allowHttp = (status) => status === 400;
    await page.getByLabel('File (.jsonl, .csv or .json)').setInputFiles({ name: 'broken.jsonl', mimeType: 'application/x-ndjson',
      buffer: Buffer.from('{"input": "a", "output": "b"}\n{not json\n') });
    await page.getByRole('button', { name: 'Upload' }).click();
    await page.locator('.field[data-field="file"] .field-error:not([hidden])').filter({ hasText: /^line 2:/ }).waitFor();
    allowHttp = () => false;
    await page.getByLabel('File (.jsonl, .csv or .json)').setInputFiles({ name: 'tiny.jsonl', mimeType: 'application/x-ndjson',
      buffer: Buffer.from('{"input": "a", "output": "b"}\n{"input": "c", "output": "d"}\n') });
    await page.getByLabel('Name', { exact: true }).fill('tiny-upload');
    await page.getByRole('button', { name: 'Upload' }).click();
    await page.getByRole('cell', { name: 'tiny-upload', exact: true }).waitFor();
    await shot('datasets');
    await page.getByRole('button', { name: 'Delete dataset tiny-upload' }).click();
    await page.getByRole('dialog').getByRole('button', { name: 'Delete' }).click();
    await page.getByRole('cell', { name: 'tiny-upload', exact: true }).waitFor({ state: 'detached' });
  });

  await step('provider keys: add an openai_compatible key and test it', async () => {
    await page.getByRole('link', { name: 'Provider keys' }).click();
    await heading('Provider keys').waitFor();
    await page.getByLabel('Provider', { exact: true }).selectOption('openai_compatible');
    await page.getByLabel('Name', { exact: true }).fill('fake-local');
    await page.getByLabel('Secret key').fill('sk-fake-browser-0001');
    await page.getByLabel(/^Base URL/).fill(FAKE);
    await page.getByLabel(/^Default model/).fill('fake-model');
    await page.getByRole('button', { name: 'Add key' }).click();
    const row = page.locator('tr[data-key-name="fake-local"]');
    await row.waitFor();
    expect(await page.getByLabel('Secret key').inputValue() === '', 'the secret field is cleared after submit');
    expect((await row.innerText()).includes('sk-fake-••••'), 'the key prefix is masked');
    expect(!(await page.content()).includes('sk-fake-browser-0001'), 'the secret is nowhere in the page');
    await row.getByRole('button', { name: 'Test fake-local' }).click();
    await page.getByTestId('keys-flash').filter({ hasText: /Test of fake-local: ok/ }).waitFor();
    await row.locator('.badge', { hasText: /^ok$/ }).waitFor();
    await shot('provider-keys');
  });

  await step('usage', async () => {
    await page.getByRole('link', { name: 'Usage' }).click();
    await heading('Usage').waitFor();
    await page.getByText('Calls', { exact: true }).first().waitFor();
    await shot('usage');
  });

  await step('audit log', async () => {
    await page.getByRole('link', { name: 'Audit log' }).click();
    await heading('Audit log').waitFor();
    await page.locator('tbody tr').first().waitFor();
    await shot('audit-log');
  });

  await step('API keys', async () => {
    await page.getByRole('link', { name: 'API keys' }).click();
    await heading('API keys').waitFor();
    await page.locator('tbody tr').first().waitFor();
    await shot('api-keys');
  });

  if (SEED.gateway) {
    const G = SEED.gateway;
    const logRows = page.locator('[data-testid="request-log"] tbody tr[data-request-id]');
    const logged = (pred) => page.waitForResponse((r) => new URL(r.url()).pathname === '/v1/gateway/requests' && pred(new URL(r.url()).searchParams));
    await step('gateway: SDK box, request log with cache hit and miss, paging, filters', async () => {
      await page.getByRole('link', { name: 'Gateway', exact: true }).click();
      await heading('Gateway').waitFor();
      const baseUrl = origin + '/v1';
      expect((await page.getByTestId('gateway-base-url').innerText()).trim() === baseUrl, 'the base URL is this server + /v1');
      expect((await page.getByTestId('sdk-snippet').innerText()).includes(`base_url="${baseUrl}"`), 'the Python snippet names the base URL');
      await page.getByRole('button', { name: 'Copy snippet' }).click();
      expect((await page.evaluate(() => navigator.clipboard.readText())).includes('from openai import OpenAI'), 'the snippet is on the clipboard');
      await page.getByLabel('SDK language').selectOption('node');
      expect((await page.getByTestId('sdk-snippet').innerText()).includes(`baseURL: '${baseUrl}'`), 'the Node snippet names the base URL');
      await page.waitForFunction((n) => document.querySelectorAll('[data-testid="request-log"] tbody tr[data-request-id]').length === n, G.calls);
      expect(await page.locator('tr[data-cache="hit"]').count() === G.hits, 'the cached call shows as a hit');
      expect(await page.locator('tr[data-cache="miss"]').count() === G.calls - G.hits, 'the others are misses');
      await page.getByTestId('gateway-cards').getByText(`${G.hits} answered from cache`).waitFor();
      expect((await page.getByTestId('gateway-cards').innerText()).includes(`${(100 * G.hits / G.calls).toFixed(1)}%`), 'the cache hit rate counts every request');
      await shot('gateway');
      // A page of 10: Next shows the remaining 2, Previous the first 10 again.
      let resp = logged((q) => q.get('limit') === '10' && !q.get('cursor'));
      await page.getByLabel('Rows per page').selectOption('10');
      await page.getByRole('button', { name: 'Filter', exact: true }).click();
      await resp;
      await page.waitForURL(/limit=10/);
      await page.waitForFunction(() => document.querySelectorAll('[data-testid="request-log"] tbody tr[data-request-id]').length === 10);
      const firstId = await logRows.first().getAttribute('data-request-id');
      resp = logged((q) => !!q.get('cursor'));
      await page.getByRole('button', { name: 'Next →' }).click();
      await resp;
      await page.waitForFunction((n) => document.querySelectorAll('[data-testid="request-log"] tbody tr[data-request-id]').length === n, G.calls - 10);
      await page.getByText('Page 2', { exact: true }).waitFor();
      expect(await page.getByRole('button', { name: 'Next →' }).isDisabled(), 'the last page has no next');
      await page.getByRole('button', { name: '← Previous' }).click();
      await page.waitForFunction((f) => document.querySelector('[data-testid="request-log"] tbody tr[data-request-id]')?.dataset.requestId === f, firstId);
      // Server-side filters: the cache hit only; then the content-logged project, whose row opens its prompt.
      resp = logged((q) => q.get('cache') === 'hit');
      await page.getByLabel('Cache', { exact: true }).selectOption('hit');
      await page.getByRole('button', { name: 'Filter', exact: true }).click();
      await resp;
      // Not `every` alone: it is true of the empty table the page shows while it reloads.
      await page.waitForFunction(() => { const rows = [...document.querySelectorAll('[data-testid="request-log"] tbody tr[data-request-id]')]; return rows.length > 0 && rows.every((r) => r.dataset.cache === 'hit'); });
      expect(await logRows.count() === G.hits, 'one cache hit');
      expect(await logRows.first().getByText('not logged').count() === 1, 'a project without content logging keeps no text');
      await page.getByLabel('Cache', { exact: true }).selectOption('');
      await page.getByLabel('Project', { exact: true }).fill(G.logged_project);
      resp = logged((q) => q.get('project') === G.logged_project);
      await page.getByRole('button', { name: 'Filter', exact: true }).click();
      await resp;
      await page.locator('tr[data-logged="yes"]').waitFor();
      expect(await logRows.count() === 1, 'one call of the logged project');
      await logRows.first().getByRole('button', { name: /^Open the text of request/ }).click();
      const dlg = page.getByRole('dialog');
      await dlg.getByRole('heading', { name: 'Prompt', exact: true }).waitFor();
      expect((await dlg.getByTestId('logged-prompt').innerText()).includes(G.logged_prompt), 'the logged prompt is shown');
      expect((await dlg.getByTestId('logged-completion').innerText()).trim().length > 0, 'and its completion');
      await shot('gateway-logged-call');
      await page.keyboard.press('Escape');
      await dlg.waitFor({ state: 'detached' });
    });

    await step("API keys: a key's gateway limits, a server validation error at its field", async () => {
      await page.goto(BASE + '/api-keys');
      await heading('API keys').waitFor();
      await page.getByRole('button', { name: 'Edit limits of viewer' }).click();
      const dlg = page.getByRole('dialog');
      allowHttp = (status) => status === 400;
      await dlg.getByLabel('Requests per minute').fill('0');
      await dlg.getByRole('button', { name: 'Save limits' }).click();
      await dlg.locator('.field[data-field="limits.requests_per_min"] .field-error:not([hidden])').filter({ hasText: /between 1 and/ }).waitFor();
      allowHttp = () => false;
      await dlg.getByLabel('Requests per minute').fill('60');
      await dlg.getByLabel('Budget (USD)').fill('5');
      await dlg.getByLabel('Budget period').selectOption('day');
      await dlg.getByRole('button', { name: 'Save limits' }).click();
      await dlg.waitFor({ state: 'detached' });
      await page.locator('tr[data-api-key="viewer"] .limits').filter({ hasText: '60 req/min · $5.0000 per day' }).waitFor();
      await shot('api-key-limits');
    });

    await step('org settings: provider mode, an alias (and a server validation error), content logging; a reload keeps them', async () => {
      await page.getByRole('link', { name: 'Settings', exact: true }).click();
      await heading('Org settings').waitFor();
      expect(await page.locator('input[name="provider_mode"][value="byok_then_managed"]').isChecked(), 'the default mode is shown');
      await page.locator('input[name="provider_mode"][value="byok"]').check();
      await page.getByRole('button', { name: 'Add alias' }).click();
      const alias = page.locator('fieldset.alias').last();
      await alias.getByLabel('Alias name').fill('fast');
      await alias.getByLabel('Provider').first().selectOption('openai_compatible');
      await alias.getByLabel('Model').first().fill('fake-model');
      await alias.getByRole('button', { name: 'Add target' }).click();
      await alias.getByLabel('Provider').nth(1).selectOption('openai');
      allowHttp = (status) => status === 400;
      await page.getByRole('button', { name: 'Save settings' }).click();
      await alias.locator('.field-error:not([hidden])').filter({ hasText: /model must not be empty/ }).waitFor();
      await shot('settings-alias-error');
      allowHttp = () => false;
      await alias.getByLabel('Model').nth(1).fill('gpt-4o-mini');
      await alias.getByRole('button', { name: 'Move target up' }).nth(1).click();
      const saved = page.waitForResponse((r) => r.url().endsWith('/v1/org/settings') && r.request().method() === 'PATCH');
      await page.getByRole('button', { name: 'Save settings' }).click();
      const body = await (await saved).json();
      expect(body.provider_mode === 'byok', `saved mode: ${JSON.stringify(body)}`);
      expect(JSON.stringify(body.model_aliases.fast) === JSON.stringify([{ provider: 'openai', model: 'gpt-4o-mini' }, { provider: 'openai_compatible', model: 'fake-model' }]),
        `the alias in its new order: ${JSON.stringify(body.model_aliases)}`);
      await page.getByTestId('settings-flash').getByText(/^Saved/).waitFor();
      await page.getByTestId('serving-keys').getByText('none: calls answer BYOK_NO_KEY').first().waitFor();
      expect((await page.getByTestId('serving-keys').innerText()).includes('sk-judge••••'), 'the masked key serving openai_compatible');
      await page.getByRole('checkbox', { name: 'Log gateway call text of web' }).check();
      await page.getByText('web: gateway call text is now logged.').waitFor();
      await page.reload();
      await heading('Org settings').waitFor();
      expect(await page.locator('input[name="provider_mode"][value="byok"]').isChecked(), 'byok after the reload');
      const after = page.locator('fieldset.alias[data-alias="fast"]');
      expect(await after.getByLabel('Alias name').inputValue() === 'fast', 'the alias after the reload');
      const models = await after.getByLabel('Model').evaluateAll((els) => els.map((e) => e.value));
      expect(models.join() === 'gpt-4o-mini,fake-model', `the targets in order after the reload: ${models}`);
      expect(await page.getByRole('checkbox', { name: 'Log gateway call text of web' }).isChecked(), 'content logging of web after the reload');
      expect(!(await page.getByRole('checkbox', { name: `Log gateway call text of ${SEED.project}` }).isDisabled()), 'admins may switch it');
      await shot('settings');
      await page.getByRole('checkbox', { name: 'Log gateway call text of web' }).uncheck();
      await page.getByText('web: gateway call text is no longer logged.').waitFor();
    });
  }

  await step('run list: names or ids, label filter', async () => {
    const listed = page.waitForResponse((r) => /\/v1\/projects\/[^/]+\/runs\?/.test(r.url()) && r.request().method() === 'GET' && !r.url().includes('limit=200'));
    await page.goto(BASE + `/projects/${encodeURIComponent(SEED.project)}`);
    const runs = (await (await listed).json()).items;
    await page.locator('tbody tr').first().waitFor();
    for (const r of runs.slice(0, 3)) {
      const link = page.locator(`tbody a[href$="/runs/${r.id}"]`);
      const text = (await link.innerText()).trim();
      if (typeof r.name === 'string' && r.name) expect(text === r.name, `a named run shows its name: ${text} vs ${r.name}`);
      else expect(text === r.id.slice(0, 10) + '…', `a run without a name shows its short id: ${text}`);
      if (r.labels && r.labels.commit) expect((await link.locator('xpath=..').innerText()).includes(r.labels.commit.slice(0, 7)), 'the short sha is shown');
    }
    // The filter goes to the server as ?label=key:value (a server without labels refuses the parameter: 400).
    allowHttp = (status, u) => status === 400 && u.searchParams.get('label') === 'branch:main';
    const filtered = page.waitForRequest((r) => new URL(r.url()).searchParams.get('label') === 'branch:main');
    await page.getByLabel('Label (key:value)').fill('branch:main');
    await page.getByRole('button', { name: 'Filter', exact: true }).click();
    await filtered;
    await page.waitForURL(/label=branch%3Amain/);
    await page.locator('.empty, .alert').first().waitFor();
    await shot('runs-label-filter');
  });

  await step('compare side by side with a word diff', async () => {
    await page.goto(BASE + `/projects/${encodeURIComponent(SEED.project)}/compare?base=${SEED.run_passed}&head=${SEED.run_failed}`);
    const card = page.locator('section.sbs').first();
    await card.waitFor();
    await card.locator('ins.diff-ins').first().waitFor();
    await card.locator('del.diff-del').first().waitFor();
    const [baseText, headText] = await card.locator('pre.diff').allInnerTexts();
    expect(baseText.includes('Paris') && headText.includes('London'), `base and head outputs side by side: ${baseText} | ${headText}`);
    expect(headText.includes('<img src=x'), 'markup in an output stays text');
    expect(await page.locator('section.sbs img').count() === 0, 'no element was made from item text');
    const scoreRows = await card.locator('tbody tr').count();
    expect(scoreRows >= 2, `both runs' scores per scorer (${scoreRows} rows)`);
    const d = await page.evaluate(async () => { const m = await import('/diff.js'); return m.wordDiff('the cat sat', 'the dog sat').ops; });
    expect(JSON.stringify(d) === JSON.stringify([{ op: 'eq', text: 'the ' }, { op: 'del', text: 'cat' }, { op: 'ins', text: 'dog' }, { op: 'eq', text: ' sat' }]), `the word diff: ${JSON.stringify(d)}`);
    await shot('compare-side-by-side');
  });

  await step('start a run and watch it complete', async () => {
    await page.goto(BASE + `/projects/${encodeURIComponent(SEED.project)}`);
    await page.getByRole('link', { name: 'Start a run' }).click();
    await heading('Start a run').waitFor();
    allowHttp = () => false;
    await page.getByRole('button', { name: 'Start run' }).click();
    await page.locator('.field[data-field="scorers"] .field-error:not([hidden])').waitFor();
    await page.getByLabel('Dataset').selectOption({ label: 'capitals (120 items)' });
    await page.getByRole('group', { name: 'Stored scorers' }).getByLabel(/mentions-paris/).check();
    await page.getByRole('group', { name: 'Built-in scorer types' }).getByLabel('equals', { exact: true }).check();
    await page.getByLabel('Gate: minimum pass rate (%)').fill('90');
    await shot('start-run');
    const posted = page.waitForRequest((r) => r.method() === 'POST' && /\/v1\/projects\/[^/]+\/runs$/.test(new URL(r.url()).pathname));
    await page.getByRole('button', { name: 'Start run' }).click();
    const body = JSON.parse((await posted).postData());
    expect(body.dataset_id && body.scorers.join() === 'mentions-paris,equals' && body.gate.min_pass_rate === 0.9 && !body.target, `the run body: ${JSON.stringify(body)}`);
    await page.waitForURL(/\/runs\/run_/);
    await page.locator('.page-head .badge', { hasText: /^completed$/ }).waitFor({ timeout: 60000 });
    await page.getByText('Gate', { exact: true }).first().waitFor();
    await page.locator('tbody tr[data-index]').first().waitFor();
    await shot('started-run');
  });

  await step('export the filtered results as CSV', async () => {
    await page.goto(BASE + runUrl + '?status=failed');
    await page.locator('tbody tr[data-index]').first().waitFor();
    const dl = page.waitForEvent('download');
    const req = page.waitForRequest((r) => r.url().includes(`/v1/runs/${SEED.run_failed}/export`));
    await page.getByRole('button', { name: 'Export CSV' }).click();
    const q = new URL((await req).url()).searchParams;
    expect(q.get('format') === 'csv' && q.get('status') === 'failed', `the export carries the filter: ${q}`);
    const file = await dl;
    expect(file.suggestedFilename() === `${SEED.run_failed}.csv`, `file name ${file.suggestedFilename()}`);
    const text = readFileSync(await file.path(), 'utf8');
    const [header, ...rows] = parseCsv(text);
    expect(header.slice(0, 6).join() === 'index,id,input,output,expected,outcome', `CSV header: ${header}`);
    expect(rows.length === 40 && rows.every((r) => r[5] === 'failed'), `40 failed rows: ${rows.length}`);
    expect(rows.every((r) => r[3].startsWith('London <img')), 'outputs as they were');
    await page.getByText(/^Downloaded .*\.csv/).waitFor();
    await shot('run-export');
  });

  if (SEED.analysis) {
    const A = SEED.analysis;
    const faUrl = `/projects/${encodeURIComponent(SEED.project)}/runs/${encodeURIComponent(A.run)}`;
    const faResults = (pred) => page.waitForResponse((r) => new URL(r.url()).pathname === `/v1/runs/${A.run}/results` && pred(new URL(r.url()).searchParams));
    // Resolves once the results table shows rows, exactly `want` (an empty table while reloading does not count).
    const rowsAre = (want) => page.waitForFunction((w) => {
      const got = [...document.querySelectorAll('tbody tr[data-index]')].map((r) => Number(r.dataset.index)).sort((a, b) => a - b);
      return got.length > 0 && JSON.stringify(got) === JSON.stringify(w);
    }, [...want].sort((a, b) => a - b));
    const failsIn = (row, bucket) => (row.analysis?.checks || []).some((c) => c.bucket === bucket && c.decision === 'fail');

    await step('failure analysis: the bucket table; a bucket row filters the results, the URL keeps it', async () => {
      const all = faResults((q) => !q.get('bucket'));
      await page.goto(BASE + faUrl);
      await page.getByRole('heading', { name: 'Buckets', exact: true }).waitFor();
      const bucketRows = page.locator('tr[data-bucket]');
      await bucketRows.first().waitFor();
      const names = await bucketRows.evaluateAll((rs) => rs.map((r) => r.dataset.bucket));
      expect(JSON.stringify([...names].sort()) === JSON.stringify(Object.keys(A.buckets).sort()), `one row per failing bucket: ${names}`);
      expect(names[0] === A.bucket, `the bucket with the most failures leads: ${names}`);
      const lead = await bucketRows.first().innerText();
      expect(lead.includes(String(A.buckets[A.bucket].length)) && lead.includes('format_violation') && lead.includes('high'), `the leading bucket row: ${lead}`);
      expect(/critical/.test(await page.locator('tr[data-bucket="safety"]').innerText()), 'the leaked key is critical');
      expect(await bucketRows.first().locator('.bar span').count() === 1, 'each bucket row has its share bar');
      await all;
      await rowsAre([0, 1, 2, 3, 4, 5, 6]);
      await shot('analysis-run');

      // Listen before the click: the answer can come before a listener set up afterwards.
      const picked = faResults((q) => q.get('bucket') === 'tool_use');
      await page.locator('tr[data-bucket="tool_use"] td').first().click();
      const body = await (await picked).json();
      expect(body.items.length === A.buckets.tool_use.length && body.items.every((r) => failsIn(r, 'tool_use')), `the answer lists tool_use failures: ${body.items.map((r) => r.index)}`);
      await rowsAre(A.buckets.tool_use);
      await page.waitForURL((u) => u.searchParams.get('bucket') === 'tool_use');
      expect(await page.locator('#results-bucket').inputValue() === 'tool_use', 'the Bucket select follows the click');

      const picked2 = faResults((q) => q.get('bucket') === A.bucket);
      await page.locator(`tr[data-bucket="${A.bucket}"] td`).first().click();
      const body2 = await (await picked2).json();
      expect(body2.items.every((r) => failsIn(r, A.bucket)), 'every row fails a check of the bucket');
      await rowsAre(A.buckets[A.bucket]);
      await page.waitForURL((u) => u.searchParams.get('bucket') === A.bucket);
      await shot('analysis-bucket-filter');
    });

    await step('failure analysis: a severity filter narrows the bucket; a reload keeps both', async () => {
      const sev = faResults((q) => q.get('bucket') === A.bucket && q.get('severity') === A.severity);
      await page.locator('#results-severity').selectOption(A.severity);
      const body = await (await sev).json();
      expect(body.items.length === A.bucket_severity.length, `${A.bucket} at ${A.severity}: ${body.items.map((r) => r.index)}`);
      await rowsAre(A.bucket_severity);
      await page.waitForURL((u) => u.searchParams.get('bucket') === A.bucket && u.searchParams.get('severity') === A.severity);
      const again = faResults((q) => q.get('bucket') === A.bucket && q.get('severity') === A.severity);
      await page.reload();
      await again;
      await rowsAre(A.bucket_severity);
      expect(await page.locator('#results-bucket').inputValue() === A.bucket && await page.locator('#results-severity').inputValue() === A.severity,
        'the filters survive the reload');
      // The item's evidence: the rule that decided.
      await page.locator(`tbody tr[data-index="${A.bucket_severity[0]}"] button`).first().click();
      const dlg = page.getByRole('dialog');
      await dlg.waitFor();
      await dlg.getByText(/not valid JSON/).first().waitFor();
      await shot('analysis-item');
      await page.keyboard.press('Escape');
      await dlg.waitFor({ state: 'detached' });
    });
  }

  if (SEED.red_team) {
    const rtUrl = `/projects/${encodeURIComponent(SEED.project)}/runs/${encodeURIComponent(SEED.red_team.run)}`;
    await step('red team: the run page shows ASR per category with its interval, over-refusal and the gate', async () => {
      await page.goto(BASE + rtUrl);
      const cats = page.getByTestId('red-team-categories');
      const row = cats.locator(`tbody tr[data-name="${SEED.red_team.category}"]`);
      await row.waitFor();
      const text = await row.innerText();
      expect(text.includes(SEED.red_team.asr) && text.includes('LLM07') && /high|critical/.test(text), `the category row: ${text}`);
      const bar = await row.locator('svg.asr-bar').getAttribute('aria-label');
      expect(/attack success rate 100\.0%, 95% CI \d/.test(bar), `the ASR bar names its interval: ${bar}`);
      expect(await row.locator('svg.asr-bar line.asr-ci').count() === 3, 'the interval is drawn as a whisker');
      expect(await cats.locator('tbody tr').count() === 4, 'one row per category of the run');
      await page.getByTestId('red-team-transforms').locator('tbody tr[data-name="base64"]').waitFor();
      const over = await page.getByTestId('over-refusal').innerText();
      expect(/of \d+ benign probes refused/.test(over), `over-refusal beside the attack success: ${over}`);
      const cards = await page.getByTestId('red-team-cards').innerText();
      expect(/failed/.test(cards) && cards.includes('system_prompt_extraction') && /CI should fail/.test(cards), `the gate and its reason: ${cards}`);
      expect(await page.getByRole('heading', { name: 'Scorers' }).count() === 0, 'no scorer table for a red-team run');
      await shot('red-team-run');
    });

    await step('red team: filter successful attempts by category and open one from the keyboard', async () => {
      await page.getByRole('button', { name: 'Successful attacks', exact: true }).click();
      await page.getByLabel('Category', { exact: true }).selectOption(SEED.red_team.category);
      await page.waitForURL((u) => u.searchParams.get('outcome') === 'success' && u.searchParams.get('category') === SEED.red_team.category);
      const rows = page.locator('tbody tr[data-index]');
      await page.waitForFunction((c) => { const r = [...document.querySelectorAll('tbody tr[data-index]')]; return r.length > 0 && r.every((x) => x.dataset.category === c); }, SEED.red_team.category);
      const verdicts = await rows.locator('td.verdict').allTextContents();
      expect(verdicts.length === 4 && verdicts.every((v) => v.trim() === 'attack succeeded'), `four successful attacks: ${verdicts}`);
      await rows.first().getByRole('button').focus();
      await page.keyboard.press('Enter');
      const dlg = page.getByRole('dialog');
      await dlg.waitFor();
      for (const t of ['Attack sent', 'Response (secrets and PII masked)']) await dlg.getByRole('heading', { name: t, exact: true }).waitFor();
      expect((await dlg.getByTestId('attack-response').innerText()).includes('GV-CANARY-'), 'the leaked canary is in the response');
      const facts = await dlg.locator('dl.facts').innerText();
      expect(/Decided by\s+rule/.test(facts) && /OWASP\s+LLM07/.test(facts) && /Severity\s+(high|critical)/.test(facts), `the attempt's facts: ${facts}`);
      await dlg.locator('.badge', { hasText: /^attack succeeded$/ }).waitFor();
      await shot('red-team-attempt');
      await page.keyboard.press('Escape');
      await dlg.waitFor({ state: 'detached' });
      // A multi-turn attempt's transcript, as text (rows without one show none).
      expect(await dlg.count() === 0, 'the panel closed');
      await page.evaluate(async () => {
        const m = await import('/pages/redteam.js');
        m.openAttempt({ index: 7, item: { input: 'turn 2', output: 'ok' }, scores: [], attempt: { category: 'jailbreak', transform: 'none', attack: 'jb-x', success: true,
          severity: 'high', decided_by: 'judge', owasp: 'LLM01', response: 'Sure', transcript: [{ role: 'user', content: 'hi <b>there</b>' }, { role: 'assistant', content: 'Sure' }] } });
      });
      const t = page.getByRole('list', { name: 'Conversation with the target' });
      await t.waitFor();
      expect(await t.locator('li').count() === 2 && await page.locator('ol.transcript b').count() === 0, 'two turns, markup as text');
      await page.keyboard.press('Escape');
    });

    await step('red team: start a run from the form (a server field error at its field), the safe model over-refuses', async () => {
      await page.goto(BASE + `/projects/${encodeURIComponent(SEED.project)}`);
      await page.getByRole('link', { name: 'Red team', exact: true }).click();
      await heading('Red team').waitFor();
      const judgeKey = await page.locator('#rt-key option', { hasText: /^judge / }).getAttribute('value');
      await page.getByLabel('Provider key', { exact: true }).selectOption(judgeKey);
      await page.getByLabel('Model', { exact: true }).fill(SEED.red_team.safe_model);
      await page.getByLabel('Attempts per category').fill('1000');
      allowHttp = (status, u) => status === 400 && u.pathname.endsWith('/security/red-team');
      const refused = page.waitForResponse((r) => r.url().endsWith('/security/red-team') && r.status() === 400);
      await page.getByRole('button', { name: 'Start red team' }).click();
      await refused;
      const err = page.locator('.field[data-field="attempts_per_category"] .field-error:not([hidden])');
      await err.waitFor();
      expect((await err.innerText()).includes('MAX_ATTEMPTS_PER_CATEGORY'), `the server's message at the field: ${await err.innerText()}`);
      allowHttp = () => false;
      const cats = page.getByRole('group', { name: 'Categories' });
      for (const c of await cats.getByRole('checkbox').all()) await c.uncheck();
      await cats.getByLabel(/^jailbreak/).check();
      await cats.getByLabel(/^data_exfiltration/).check();
      await page.getByRole('group', { name: 'Transforms' }).getByLabel('rot13', { exact: true }).check();
      await page.getByLabel('Attempts per category').fill('2');
      await page.getByLabel('Cost limit (USD)').fill('5');
      await page.getByTestId('rt-estimate').filter({ hasText: '4 attacks (2 categories × 2)' }).waitFor();
      await shot('red-team-form');
      const posted = page.waitForRequest((r) => r.method() === 'POST' && r.url().endsWith('/security/red-team'));
      await page.getByRole('button', { name: 'Start red team' }).click();
      const body = JSON.parse((await posted).postData());
      expect(body.target.provider === 'openai_compatible' && body.target.model === SEED.red_team.safe_model && body.target.key_id === judgeKey
        && body.categories.join() === 'data_exfiltration,jailbreak' && body.transforms.join() === 'none,rot13'
        && body.attempts_per_category === 2 && body.cost_limit_usd === 5, `the red-team body: ${JSON.stringify(body)}`);
      await page.waitForURL(/\/runs\/run_/);
      await page.locator('.page-head .badge', { hasText: /^completed$/ }).waitFor({ timeout: 60000 });
      const cells = await page.getByTestId('red-team-categories').locator('tbody tr td:nth-child(2)').allInnerTexts();
      expect(cells.length === 2 && cells.every((c) => c.trim().startsWith('0.0%')), `no attack succeeded on the safe model: ${cells}`);
      const over = page.getByTestId('over-refusal');
      expect(/100\.0%/.test(await over.innerText()) && (await over.getAttribute('class')).includes('warn'), 'refusing everything is flagged');
      await over.getByText(/not evidence of safety/).waitFor();
      await page.locator('tbody tr[data-index]').first().waitFor();
      await shot('red-team-safe-run');
      await page.setViewportSize({ width: 400, height: 800 });
      await page.reload();
      await page.getByTestId('red-team-categories').waitFor();
      await page.waitForLoadState('networkidle');
      await noOverflow('narrow-red-team-run');
      await shot('narrow-red-team-run');
      await page.setViewportSize({ width: 1280, height: 800 });
    });
  }

  if (SEED.dataset) {
    await step('browse a dataset: items page by page', async () => {
      await page.goto(BASE + `/projects/${encodeURIComponent(SEED.project)}/datasets`);
      await page.getByRole('link', { name: 'capitals' }).click();
      await heading('capitals').waitFor();
      await page.locator('tbody tr[data-idx="0"]').waitFor();
      expect(await page.locator('tbody tr[data-idx]').count() === 50, 'a page of 50 items');
      await page.getByRole('button', { name: 'Next →' }).click();
      await page.locator('tbody tr[data-idx="50"]').waitFor();
      await page.getByRole('button', { name: 'Next →' }).click();
      await page.locator('tbody tr[data-idx="119"]').waitFor();
      expect(await page.getByRole('button', { name: 'Next →' }).isDisabled(), 'the last page has no next');
      await page.locator('tbody tr[data-idx="100"] button').click();
      await page.getByRole('dialog').getByRole('heading', { name: 'Input', exact: true }).waitFor();
      await shot('dataset-items');
      await page.keyboard.press('Escape');
    });
  }

  await step('unknown page and server error message', async () => {
    allowHttp = (status) => status === 404;
    await page.goto(BASE + '/projects/no-such-project');
    await page.getByRole('alert').first().waitFor();
    await heading('Something went wrong').waitFor();
    await shot('error-page');
  });

  await step('narrow window (400 px)', async () => {
    await page.setViewportSize({ width: 400, height: 800 });
    for (const [name, path] of [['narrow-projects', '/'], ['narrow-run', runUrl], ['narrow-provider-keys', '/provider-keys'], ['narrow-usage', '/usage'], ['narrow-gateway', '/gateway'], ['narrow-settings', '/settings']]) {
      await page.goto(BASE + path);
      await page.locator('main h1').first().waitFor();
      await page.waitForLoadState('networkidle');
      await noOverflow(name);
      await shot(name);
    }
    await page.setViewportSize({ width: 1280, height: 800 });
  });

  await step('keyboard: tab reaches the navigation with a visible focus ring', async () => {
    await page.goto(BASE + '/');
    await heading('Projects').waitFor();
    let found = false;
    for (let i = 0; i < 8 && !found; i++) {
      await page.keyboard.press('Tab');
      found = await page.evaluate(() => document.activeElement?.textContent === 'Provider keys'
        && getComputedStyle(document.activeElement).outlineStyle !== 'none');
    }
    expect(found, 'Tab reaches "Provider keys" and it shows a focus outline');
    await page.keyboard.press('Enter');
    await heading('Provider keys').waitFor();
  });

  await step('sign out', async () => {
    await page.getByRole('button', { name: 'Sign out' }).click();
    await heading('Sign in to gavel').waitFor();
    expect(!(await page.evaluate(() => Object.values(sessionStorage))).includes(KEY), 'the key is gone from sessionStorage');
  });
  if (SEED.member_key) {
    await step('member: read-only views, no admin pages', async () => {
      await page.getByLabel('API key').fill(SEED.member_key);
      await page.getByRole('button', { name: 'Sign in' }).click();
      await heading('Projects').waitFor();
      const nav = await page.locator('#nav').innerText();
      expect(!nav.includes('Audit log') && !nav.includes('API keys'), `a member sees no admin pages in the navigation: ${nav}`);
      await page.getByRole('link', { name: 'Provider keys' }).click();
      await heading('Provider keys').waitFor();
      await page.locator('tr[data-key-name="fake-local"]').waitFor();
      expect(await page.getByRole('button', { name: 'Add key' }).count() === 0, 'no Add key form for a member');
      expect(await page.getByRole('button', { name: /^(Test|Rotate|Delete) / }).count() === 0, 'no key actions for a member');
      await shot('member-provider-keys');
      for (const [path, title] of [['/audit-log', 'Audit log'], ['/api-keys', 'API keys']]) {
        await page.goto(BASE + path);
        await heading(title).waitFor();
        await page.getByText(/org admins/i).first().waitFor();
        expect(await page.getByRole('alert').count() === 0, `${path}: a note, not an error, for a member`);
      }
      if (SEED.gateway) {
        await page.goto(BASE + '/settings');
        await heading('Org settings').waitFor();
        expect(await page.locator('input[name="provider_mode"][value="byok"]').isChecked(), 'a member sees the mode');
        expect(await page.locator('input[name="provider_mode"]:not([disabled])').count() === 0, 'read-only for a member');
        expect(await page.getByRole('button', { name: 'Save settings' }).count() === 0, 'no Save for a member');
        expect(await page.getByRole('alert').count() === 0, 'a note, not an error, for a member');
        await shot('member-settings');
        await page.goto(BASE + '/gateway');
        await page.waitForFunction((n) => document.querySelectorAll('[data-testid="request-log"] tbody tr[data-request-id]').length === n, SEED.gateway.calls);
      }
      await page.goto(BASE + runUrl);
      await page.locator('tbody tr[data-index]').first().waitFor();
      await page.getByRole('button', { name: 'Sign out' }).click();
      await heading('Sign in to gavel').waitFor();
    });
  }
  if (SEED.server_admin_key) {
    await step('server admin: sign in, create an org, copy its key, sign in as the org', async () => {
      await page.goto(BASE + '/signin');
      await page.getByLabel('API key').fill(SEED.server_admin_key);
      await page.getByRole('button', { name: 'Sign in' }).click();
      await heading('Orgs').waitFor();
      await page.locator('tr[data-org="acme"]').waitFor();
      expect((await page.locator('#nav').innerText()).trim() === 'Orgs', 'the server admin sees the orgs only');
      await page.getByLabel('Org name').fill('beta');
      await page.getByRole('button', { name: 'Create org' }).click();
      const box = page.getByTestId('org-key');
      await box.waitFor();
      expect(/shown once/i.test(await box.innerText()), 'the key is marked as shown once');
      const key = (await box.locator('code.secret').innerText()).trim();
      expect(/^gv_[A-Za-z0-9]{32,}$/.test(key), `an API key is shown: ${key.slice(0, 6)}…`);
      await page.locator('tr[data-org="beta"]').waitFor();
      await box.getByRole('button', { name: 'Copy key' }).click();
      await box.getByRole('button', { name: 'Copied' }).waitFor();
      expect(await page.evaluate(() => navigator.clipboard.readText()) === key, 'the copy button put the key on the clipboard');
      await shot('orgs-created');
      await box.getByRole('button', { name: 'Sign in as beta' }).click();
      await heading('Projects').waitFor();
      expect((await page.locator('#who').innerText()).includes('beta'), 'acting as the new org');
      expect((await page.evaluate(() => Object.values(sessionStorage))).includes(key), 'signed in with the new key');
      await page.getByRole('link', { name: 'API keys' }).click();
      await heading('API keys').waitFor();
      await page.getByRole('button', { name: 'Sign out' }).click();
      await heading('Sign in to gavel').waitFor();
      await page.getByLabel('API key').fill(SEED.server_admin_key);
      await page.getByRole('button', { name: 'Sign in' }).click();
      await page.locator('tr[data-org="beta"]').waitFor();
      expect(!(await page.content()).includes(key), 'the key is never shown again');
      await page.getByRole('button', { name: 'Sign out' }).click();
      await heading('Sign in to gavel').waitFor();
    });
  }
} catch {
  failed = true;
} finally {
  await browser.close();
}

const passed = results.filter((r) => r.ok).length;
const bad = results.filter((r) => !r.ok);
if (problems.length && !bad.length) { failed = true; console.log(`FAIL page problems:\n  ${problems.join('\n  ')}`); }
console.log(`\n${requests} requests, all to ${origin}${problems.some((p) => p.includes('another host')) ? ' — NOT: see above' : ''}; ${httpErrors.length} expected HTTP error answers`);
console.log(`screenshots: ${OUT}`);
console.log(`dashboard: ${passed} passed, ${bad.length + (failed && !bad.length ? 1 : 0)} failed`);
process.exit(failed ? 1 : 0);

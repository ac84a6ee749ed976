// The web console (web/console), built as `npm run build` builds it and driven in a real browser
// (Debian's Chromium, by playwright-core) against a real server on a real SQLite file, auth on.
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { type Browser, chromium, type Locator, type Page } from 'playwright-core';
import { buildConsole } from '../scripts/build-console.mjs';
import { UserService } from '../src/domain/user-service.js';
import { ChangeFeed } from '../src/events/change-feed.js';
import { openStore } from '../src/store/open.js';
import { tempDir, until } from './support/helpers.js';
import { parseHttp, rawHttp } from './support/raw.js';
import { ROOT } from './support/readme.js';
import { type Stack, startStack } from './support/stack.js';
import { ADMIN_TOKEN, adminFetch, tokenOf } from './support/tokens.js';

const CHROMIUM = '/usr/bin/chromium';
const noBrowser = existsSync(CHROMIUM) ? undefined : `no browser at ${CHROMIUM}: apt-get install chromium`;
const SCREENSHOTS = join(ROOT, 'screenshots');

// Built as `npm run build` builds it, into a directory of this test's own.
const consoleDir = join(tempDir(), 'console');
const built = await buildConsole(consoleDir);

interface ErrorJson {
  error: { code: string; message: string; details: { field: string; description: string }[] };
}

describe('web console routes', () => {
  it('serves the page and the files the build wrote, openly, each with its type and caching; nothing else', async () => {
    const parent = join(consoleDir, '..');
    writeFileSync(join(parent, 'secret.js'), 'beside the console, never served');
    const { baseUrl, rest } = await startStack({}, { files: { consoleDir, benchResultsDir: join(parent, 'none') } });

    const page = await fetch(`${baseUrl}/`);
    assert.equal(page.status, 200, 'no token needed: the page asks for one');
    assert.equal(page.headers.get('content-type'), 'text/html; charset=utf-8');
    assert.equal(page.headers.get('cache-control'), 'no-cache');
    assert.match(page.headers.get('content-security-policy') ?? '', /default-src 'self'/);
    const html = await page.text();
    assert.ok(html.includes(`/console/${built.script}`) && html.includes(`/console/${built.stylesheet}`));

    for (const [file, type] of [
      [built.script, 'text/javascript; charset=utf-8'],
      [`${built.script}.map`, 'application/json; charset=utf-8'],
      [built.stylesheet, 'text/css; charset=utf-8'],
    ] as const) {
      const asset = await fetch(`${baseUrl}/console/${file}`);
      assert.equal(asset.status, 200, file);
      assert.equal(asset.headers.get('content-type'), type, file);
      assert.equal(
        asset.headers.get('cache-control'),
        'public, max-age=31536000, immutable',
        `${file}: named by its hash`,
      );
    }
    for (const path of [
      '/console/..%2Fsecret.js',
      '/console/%2E%2E%2Fsecret.js',
      '/console/..%5Csecret.js',
      '/console/missing.js',
      '/console/main.ts',
      '/console/index.html',
      '/console/',
      `/console/x/${built.script}`,
    ]) {
      const refused = await fetch(`${baseUrl}${path}`);
      assert.equal(refused.status, 404, path);
      assert.equal(((await refused.json()) as ErrorJson).error.code, 'ROUTE_NOT_FOUND', path);
    }
    // As sent, not as fetch would normalize it.
    for (const path of ['/console/../secret.js', `/console/../console/${built.script}`]) {
      const answer = parseHttp(
        await rawHttp(rest.port, `GET ${path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`),
      );
      assert.equal(answer.status, 404, path);
      assert.equal((answer.body as ErrorJson).error.code, 'ROUTE_NOT_FOUND', path);
    }

    const openapi = (await (await adminFetch(`${baseUrl}/openapi.json`)).json()) as { paths: Record<string, unknown> };
    assert.deepEqual(
      Object.keys(openapi.paths).filter((path) => path === '/' || path.startsWith('/console')),
      [],
      'the console is not part of the API',
    );
  });

  it('says to build the console when it is not built, and to run the bench when there is no report', async () => {
    const { baseUrl } = await startStack({}, { files: { consoleDir: tempDir(), benchResultsDir: tempDir() } });
    const page = await fetch(`${baseUrl}/`);
    assert.equal(page.status, 404);
    assert.equal(page.headers.get('content-type'), 'application/json; charset=utf-8');
    const body = (await page.json()) as ErrorJson;
    assert.deepEqual({ code: body.error.code, details: body.error.details }, { code: 'ROUTE_NOT_FOUND', details: [] });
    assert.match(body.error.message, /npm run build/);
    const report = await fetch(`${baseUrl}/console/bench-report`);
    assert.equal(report.status, 404);
    assert.match(((await report.json()) as ErrorJson).error.message, /npm run bench/);
  });

  it('serves the newest bench report, sandboxed', async () => {
    const results = tempDir();
    const runs = [
      ['2025-01-02T10-00-00-000Z', 'newer', 2_000_000_000],
      ['2025-01-01T10-00-00-000Z', 'older', 1_000_000_000],
    ] as const;
    for (const [name, text, time] of runs) {
      mkdirSync(join(results, name));
      writeFileSync(join(results, name, 'report.html'), `<p>${text}</p>`);
      utimesSync(join(results, name, 'report.html'), time, time);
    }
    mkdirSync(join(results, 'unfinished'));
    const { baseUrl } = await startStack({}, { files: { consoleDir, benchResultsDir: results } });
    const report = await fetch(`${baseUrl}/console/bench-report`);
    assert.equal(report.status, 200);
    assert.equal(await report.text(), '<p>newer</p>');
    assert.match(report.headers.get('content-security-policy') ?? '', /^sandbox/);
    assert.equal((await fetch(`${baseUrl}/console/bench-report`, { method: 'HEAD' })).status, 200, 'the page asks so');
  });
});

if (noBrowser && process.env.CI) {
  it('has a browser to test the web console in', () => assert.fail(`${noBrowser} (required in CI)`));
}

describe('web console in Chromium', { skip: noBrowser }, async () => {
  const browser: Browser = await chromium.launch({ executablePath: CHROMIUM });
  after(() => browser.close());
  const benchResultsDir = tempDir();
  mkdirSync(join(benchResultsDir, 'run'));
  writeFileSync(join(benchResultsDir, 'run', 'report.html'), '<h1>gRPC against REST, measured</h1>');
  const files = { consoleDir, benchResultsDir };
  let stack: Stack = await startStack({}, { files });
  const page: Page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
  // Every wait is bounded: a console that never shows what it should fails in seconds.
  page.setDefaultTimeout(15_000);
  const problems: string[] = [];
  page.on('pageerror', (error) => problems.push(error.message));
  after(() => assert.deepEqual(problems, [], 'no uncaught errors in the page'));

  /** Waits until the element shows text matching `pattern`. */
  const shows = (selector: string, pattern: RegExp) => page.locator(selector).filter({ hasText: pattern }).waitFor();
  const attribute = async (locator: Locator, name: string) => (await locator.getAttribute(name)) ?? '';
  /** A feed's revisions in the order they arrived (the list shows the newest first). */
  const revisionsOf = async (feed: 'sse' | 'connect') => {
    const items = await page.locator(`#feed-${feed}-list li`).all();
    const shown = await Promise.all(
      items.map(async (item) => [Number(await attribute(item, 'data-revision')), await attribute(item, 'data-type')]),
    );
    return shown.reverse() as [number, string][];
  };
  const useToken = async (token: string) => {
    await page.fill('#token', token);
    await page.click('#token-form button[type=submit]');
  };
  const feedItem = (feed: 'sse' | 'connect', text: string) =>
    page.locator(`#feed-${feed}-list li`).filter({ hasText: text });

  it('says clearly when the server refuses the token: none or an invalid one (401), too few rights (403)', async () => {
    await page.goto(`${stack.baseUrl}/`);
    await shows('#auth-status', /401 UNAUTHENTICATED.*no token/);
    await shows('#users-status', /401/);
    await page.locator('#feed-sse-state[data-state=refused]').waitFor();
    await page.locator('#feed-connect-state[data-state=refused]').waitFor();

    await useToken('not-a-token');
    await shows('#auth-status', /401 UNAUTHENTICATED.*invalid or expired/);
    await page.locator('#feed-sse-state[data-state=refused]').waitFor();
    await page.locator('#feed-connect-state[data-state=refused]').waitFor();

    await useToken(await tokenOf('user', 'someone'));
    await shows('#users-status', /Page 1/);
    await page.fill('#create-name', 'Not Allowed');
    await page.fill('#create-email', 'not.allowed@example.com');
    await page.click('#create-form button[type=submit]');
    await shows('#auth-status', /403 PERMISSION_DENIED.*lacks the rights/);
    await shows('#create-message', /403 PERMISSION_DENIED/);
  });

  it('creates a user through the form: it shows in the table and in both feeds, with the same revision', async () => {
    // A first watch starts "now": both feeds must be watching before the change, or one would miss
    // it. Connect says nothing until its first event, so the server tells: none watching, then two.
    await page.click('#token-forget');
    await page.locator('#feed-sse-state[data-state=refused]').waitFor();
    await page.locator('#feed-connect-state[data-state=refused]').waitFor();
    await until(() => stack.app.service.openWatches === 0, 'the old watches to end', 10_000);
    await useToken(ADMIN_TOKEN);
    await shows('#token-state', /role admin/);
    assert.equal(await page.locator('#auth-status').textContent(), '', 'a new token clears the refusal');
    await page.locator('#feed-sse-state[data-state=live]').waitFor();
    await until(() => stack.app.service.openWatches === 2, 'both feeds watching', 10_000);

    await page.fill('#create-name', 'Ada Console');
    await page.fill('#create-email', 'ada.console@example.com');
    await page.fill('#create-tags', 'console, browser');
    await page.click('#create-form button[type=submit]');
    await shows('#create-message', /Created Ada Console/);
    await page.locator('#users-body tr').filter({ hasText: 'ada.console@example.com' }).waitFor();

    const sse = feedItem('sse', 'ada.console@example.com');
    const connect = feedItem('connect', 'ada.console@example.com');
    await sse.waitFor();
    await connect.waitFor();
    assert.equal(await attribute(sse, 'data-type'), 'created');
    assert.equal(await attribute(connect, 'data-type'), 'created');
    assert.equal(await attribute(sse, 'data-revision'), await attribute(connect, 'data-revision'));
    await page.locator('#feed-connect-state[data-state=live]').waitFor();
    await page.locator('#feeds-compare[data-state=same]').waitFor();
  });

  it("shows the server's field errors next to their fields, and its message under the form", async () => {
    const bad = { name: '   ', email: 'not-an-email' };
    const server = (await (
      await adminFetch(`${stack.baseUrl}/users`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(bad),
      })
    ).json()) as ErrorJson;
    const said = (field: string) => server.error.details.find((d) => d.field === field)!.description;

    await page.fill('#create-name', bad.name);
    await page.fill('#create-email', bad.email);
    await page.click('#create-form button[type=submit]');
    await shows('#create-message', /400 INVALID_ARGUMENT/);
    for (const field of ['name', 'email']) {
      const control = page.locator(`#create-${field}`);
      assert.equal(await page.locator(`#create-${field}-error`).textContent(), said(field), field);
      assert.equal(await attribute(control, 'aria-invalid'), 'true', field);
      assert.ok((await attribute(control, 'aria-describedby')).split(' ').includes(`create-${field}-error`), field);
    }
    assert.equal(await page.locator('#create-tags').getAttribute('aria-invalid'), null, 'tags were fine');
    assert.equal(await page.evaluate('document.activeElement.id'), 'create-name', 'the first bad field has the focus');

    // Fixed, the errors go.
    await page.fill('#create-name', 'Grace Console');
    await page.fill('#create-email', 'grace.console@example.com');
    await page.click('#create-form button[type=submit]');
    await shows('#create-message', /Created Grace Console/);
    assert.equal(await page.locator('#create-email').getAttribute('aria-invalid'), null);
    assert.equal(await page.locator('#create-email-error').textContent(), '');
  });

  it('edits and deletes a user from the table, by keyboard; both feeds show each change', async () => {
    await page.getByRole('button', { name: 'Edit Ada Console' }).press('Enter');
    assert.equal(await page.evaluate('document.activeElement.id'), 'edit-name', 'the focus moves to the form');
    await page.getByLabel('Name', { exact: true }).nth(1).fill('Ada Lovelace');
    await page.getByRole('button', { name: 'Save changes' }).press('Enter');
    await shows('#edit-message', /Saved Ada Lovelace/);
    await page.locator('#users-body tr').filter({ hasText: 'Ada Lovelace' }).waitFor();
    for (const feed of ['sse', 'connect'] as const) {
      await page.locator(`#feed-${feed}-list li[data-type=updated]`).filter({ hasText: 'Ada Lovelace' }).waitFor();
    }

    page.once('dialog', (dialog) => void dialog.accept());
    await page.getByRole('button', { name: 'Delete user' }).click();
    await shows('#edit-message', /Deleted Ada Lovelace/);
    await page.locator('#users-body tr').filter({ hasText: 'Ada Lovelace' }).waitFor({ state: 'detached' });
    for (const feed of ['sse', 'connect'] as const) {
      await page.locator(`#feed-${feed}-list li[data-type=deleted]`).filter({ hasText: 'Ada Lovelace' }).waitFor();
    }
  });

  it('edits only the version the person saw (If-Match): a change made meanwhile is shown, not overwritten unseen', async () => {
    await page.fill('#create-name', 'Grace Conflict');
    await page.fill('#create-email', 'grace.conflict@example.com');
    await page.click('#create-form button[type=submit]');
    await shows('#create-message', /Created Grace Conflict/);
    await page.getByRole('button', { name: 'Edit Grace Conflict' }).click();
    const opened = (await stack.restClient.listUsers({ filter: 'Grace Conflict' })).users[0]!;

    // Someone else changes her tags while the form is open.
    await stack.restClient.updateUser(opened.id!, { tags: ['changed-elsewhere'] });
    await page.getByLabel('Name', { exact: true }).nth(1).fill('Grace Hopper');
    await page.getByRole('button', { name: 'Save changes' }).click();
    await shows('#edit-message', /Not saved: someone else changed this user.*tags “changed-elsewhere”/);
    assert.equal(await page.locator('#edit-message').getAttribute('data-kind'), 'conflict');
    assert.equal((await stack.restClient.getUser(opened.id!)).name, 'Grace Conflict', 'nothing was overwritten');
    assert.equal(await page.locator('#edit-name').inputValue(), 'Grace Hopper', "the person's edit is kept");
    assert.equal(
      await page.locator('#edit-tags').inputValue(),
      'changed-elsewhere',
      'a field they left shows what is stored',
    );

    // Told, the person saves again: now about the version they were shown.
    await page.getByRole('button', { name: 'Save changes' }).click();
    await shows('#edit-message', /Saved Grace Hopper/);
    const saved = await stack.restClient.getUser(opened.id!);
    assert.equal(saved.name, 'Grace Hopper');
    assert.deepEqual(saved.tags, ['changed-elsewhere'], 'the other change stays: only the name was sent');

    // A delete of a version that changed meanwhile is refused the same way.
    await stack.restClient.updateUser(opened.id!, { tags: ['again'] });
    page.once('dialog', (dialog) => void dialog.accept());
    await page.getByRole('button', { name: 'Delete user' }).click();
    await shows('#edit-message', /Not deleted: someone else changed this user/);
    await stack.restClient.getUser(opened.id!); // still there
    page.once('dialog', (dialog) => void dialog.accept());
    await page.getByRole('button', { name: 'Delete user' }).click();
    await shows('#edit-message', /Deleted Grace Hopper/);
  });

  it('times GetUser over REST, Connect JSON, Connect binary, gRPC-Web, GraphQL and tRPC', async () => {
    await page.fill('#latency-count', '10');
    await page.click('#latency-run');
    await shows('#latency-status', /Done/);
    const rows = page.locator('#latency-body tr');
    assert.deepEqual(await Promise.all((await rows.all()).map((row) => attribute(row, 'data-protocol'))), [
      'rest',
      'connect-json',
      'connect-binary',
      'grpc-web',
      'graphql',
      'trpc',
    ]);
    for (const row of await rows.all()) {
      const median = Number(await row.locator('.median').textContent());
      const p90 = Number(await row.locator('.p90').textContent());
      assert.ok(median > 0 && p90 >= median, `${await attribute(row, 'data-protocol')}: ${median} ${p90}`);
    }
  });

  it('shows the newest bench report', async () => {
    await page.frameLocator('#bench-frame').locator('h1', { hasText: 'gRPC against REST, measured' }).waitFor();
    assert.equal(await page.locator('#bench-link').getAttribute('href'), '/console/bench-report');
  });

  it('labels every control, and reads at desktop and phone width (feeds side by side, then stacked)', async (t) => {
    const unlabelled = await page.evaluate(
      "[...document.querySelectorAll('input, select, textarea')].filter((c) => c.labels.length === 0).map((c) => c.id)",
    );
    assert.deepEqual(unlabelled, []);
    mkdirSync(SCREENSHOTS, { recursive: true });
    const feeds = async () => ({
      sse: (await page.locator('#feed-sse-list').boundingBox())!,
      connect: (await page.locator('#feed-connect-list').boundingBox())!,
    });

    const desktop = join(SCREENSHOTS, 'console-desktop.png');
    await page.screenshot({ path: desktop, fullPage: true });
    const wide = await feeds();
    assert.ok(wide.connect.x > wide.sse.x + wide.sse.width - 1, 'side by side at 1280 px');
    t.diagnostic(`screenshot: ${desktop}`);

    await page.setViewportSize({ width: 375, height: 812 });
    const phone = join(SCREENSHOTS, 'console-phone.png');
    await page.screenshot({ path: phone, fullPage: true });
    const narrow = await feeds();
    assert.ok(narrow.connect.y > narrow.sse.y + narrow.sse.height - 1, 'one above the other at 375 px');
    assert.equal(await page.evaluate('document.documentElement.scrollWidth'), 375, 'no sideways scrolling');
    t.diagnostic(`screenshot: ${phone}`);
  });
  // Last: the restarted server is closed when the test that started it ends.
  it('resumes both feeds after a server restart, without gap or duplicate, the same on both', async () => {
    await feedItem('connect', 'grace.console@example.com').waitFor();
    await feedItem('sse', 'grace.console@example.com').waitFor();
    const port = stack.rest.port;
    const { db } = stack.config;
    await stack.close();
    await page.locator('#feed-sse-state:not([data-state=live])').waitFor();
    await page.locator('#feed-connect-state[data-state=reconnecting]').waitFor();

    // Another client changes the data while the server is down: the feeds must catch up on it.
    const { store } = await openStore(db);
    const feed = await ChangeFeed.start(store.changeLog);
    const offline = await new UserService(store, feed).createUser(
      { name: 'While Down', email: 'while.down@example.com' },
      { principal: { subject: 'other-client', role: 'admin' } },
    );
    await feed.close();
    await store.close();

    // The same port and database: to the page, the server went away and came back.
    stack = await startStack({ db, 'rest-port': String(port) }, { files });
    await feedItem('sse', 'while.down@example.com').waitFor();
    await feedItem('connect', 'while.down@example.com').waitFor();
    await page.locator('#feed-sse-state[data-state=live]').waitFor();
    await page.locator('#feed-connect-state[data-state=live]').waitFor();

    // And a change after the restart.
    const patched = await adminFetch(`${stack.baseUrl}/users/${offline.id}`, {
      method: 'PATCH',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'Back Up' }),
    });
    assert.equal(patched.status, 200);
    await feedItem('sse', 'Back Up').waitFor();
    await feedItem('connect', 'Back Up').waitFor();

    const sse = await revisionsOf('sse');
    const connect = await revisionsOf('connect');
    assert.deepEqual(sse, connect, 'both feeds list the same events');
    const revisions = sse.map(([revision]) => revision);
    const first = revisions[0]!;
    assert.deepEqual(
      revisions,
      revisions.map((_, i) => first + i),
      'strictly consecutive: no gap, no duplicate',
    );
    assert.deepEqual(
      sse.map(([, type]) => type),
      [
        'created',
        'created',
        'updated',
        'deleted',
        'created',
        'updated',
        'updated',
        'updated',
        'deleted',
        'created',
        'updated',
      ],
      "every change of this file's tests; the last two made while down, then after",
    );
    await page.locator('#feeds-compare[data-state=same]').waitFor();
    for (const feed of ['sse', 'connect']) {
      assert.match((await page.locator(`#feed-${feed}-counts`).textContent()) ?? '', / 0 gaps, 0 duplicates/);
    }
  });
});

import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ProcessProvider } from '../src/providers/process-provider.js';
import { balancer, call } from './helpers.js';

const CHROMIUM = process.env.RINGLB_CHROMIUM ?? '/usr/bin/chromium';
const HAVE_CHROMIUM = existsSync(CHROMIUM);
const IN_CI = process.env.CI === 'true';
const REPORTS = new URL('../reports/', import.meta.url);

type Started = Awaited<ReturnType<typeof balancer>>;

// In CI a missing browser is a failure, not a skip: .ci/run installs Debian's chromium.
describe.runIf(IN_CI && !HAVE_CHROMIUM)('the dashboard browser test in CI', () => {
  it('needs chromium', () => {
    throw new Error(`${CHROMIUM} is missing: apt-get install -y chromium (.ci/run does this)`);
  });
});

describe.skipIf(!HAVE_CHROMIUM)(`the dashboard in a real browser (${CHROMIUM})`, () => {
  let lb: Started;
  let context: BrowserContext;
  let page: Page;
  let profile: string;
  const consoleErrors: string[] = [];

  beforeAll(async () => {
    lb = await balancer();
    profile = mkdtempSync(join(tmpdir(), 'ringlb-chromium-'));
    context = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      headless: true,
      viewport: { width: 1280, height: 900 },
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
        '--no-first-run',
      ],
    });
    page = context.pages()[0] ?? (await context.newPage());
    page.on('console', (message) => {
      if (message.type() === 'error') consoleErrors.push(message.text());
    });
    page.on('pageerror', (error) => consoleErrors.push(error.message));
  });

  afterAll(async () => {
    await context?.close();
    await lb?.close();
    if (profile) rmSync(profile, { recursive: true, force: true });
  });

  /** Replica names drawn on the ring. */
  const drawn = () =>
    page.$$eval('#ring path[data-replica]', (paths) => [
      ...new Set(paths.map((p) => p.getAttribute('data-replica'))),
    ]);
  /** A replica's Address and Process cells. */
  const where = (name: string) =>
    page.$eval(`tr[data-replica="${name}"]`, (tr) =>
      [...tr.querySelectorAll('td.where span')].map((span) => span.textContent),
    );
  const rows = () =>
    page.$$eval('#replicas tbody tr', (trs) => trs.map((tr) => [tr.dataset.replica, tr.dataset.state]));

  it('loads with the 3 replicas drawn on the ring and listed', async () => {
    const started = Date.now();
    await page.goto(`${lb.url}/dashboard`);
    await page.locator('#ring path[data-replica]').first().waitFor();
    const firstSnapshot = await page.evaluate(
      () => performance.getEntriesByName('ringlb:first-snapshot')[0]?.startTime,
    );
    console.log(
      `dashboard: ring drawn ${Math.round(firstSnapshot!)} ms after navigation start (${Date.now() - started} ms as the test saw it)`,
    );
    expect(firstSnapshot).toBeLessThan(2_000);
    expect((await drawn()).sort()).toEqual(['Server 1', 'Server 2', 'Server 3']);
    expect(await rows()).toEqual([
      ['Server 1', 'healthy'],
      ['Server 2', 'healthy'],
      ['Server 3', 'healthy'],
    ]);
    await expect.poll(() => page.textContent('#conn')).toBe('live');
  });

  it('shows a 4th replica within 2 s of clicking "Add replica"', async () => {
    const clicked = Date.now();
    await page.click('#add');
    // Listed (as starting) at once; in the ring once its process answers its first heartbeat.
    await page.locator('tr[data-replica="Server 4"]').waitFor({ timeout: 2_000 });
    const listed = Date.now() - clicked;
    await page.locator('#ring path[data-replica="Server 4"]').first().waitFor({ timeout: 5_000 });
    await page.locator('tr[data-replica="Server 4"][data-state="healthy"]').waitFor({ timeout: 5_000 });
    console.log(
      `dashboard: added replica listed ${listed} ms, drawn healthy ${Date.now() - clicked} ms after the click`,
    );
    expect((await drawn()).sort()).toEqual(['Server 1', 'Server 2', 'Server 3', 'Server 4']);
    expect(lb.cluster.names()).toEqual(['Server 1', 'Server 2', 'Server 3', 'Server 4']);
  });

  it('drops a replica removed through the API within 1 s', async () => {
    const reply = await call(`${lb.url}/rm`, { method: 'POST', json: { hostnames: ['Server 4'] } });
    expect(reply.status).toBe(200);
    const removed = Date.now();
    await page.locator('tr[data-replica="Server 4"]').waitFor({ state: 'detached', timeout: 1_000 });
    console.log(`dashboard: removed replica gone ${Date.now() - removed} ms after the API answered`);
    expect((await drawn()).sort()).toEqual(['Server 1', 'Server 2', 'Server 3']);
    await page.locator('#timeline li[data-replica="Server 4"][data-to="draining"]').waitFor();
  });

  it('shows a replica killed with SIGKILL as down, then healthy again', async () => {
    const healthyEvents = () =>
      page.locator('#timeline li[data-replica="Server 2"][data-to="healthy"]').count();
    const before = await healthyEvents();
    // Every state the table row goes through, however briefly (rows are re-rendered per snapshot).
    await page.evaluate(() => {
      // Start from the row's state now, so that a re-render before the kill adds nothing.
      const now = document.querySelector<HTMLElement>('tr[data-replica="Server 2"]')?.dataset.state;
      const seen: string[] = now === undefined ? [] : [now];
      (window as unknown as { seenStates: string[] }).seenStates = seen;
      const record = () => {
        const state = document.querySelector<HTMLElement>('tr[data-replica="Server 2"]')?.dataset.state;
        if (state !== undefined && seen.at(-1) !== state) seen.push(state);
      };
      new MutationObserver(record).observe(document.querySelector('#replicas tbody')!, { childList: true });
    });
    const pid = (lb.provider as ProcessProvider).pidOf('Server 2')!;
    process.kill(pid, 'SIGKILL');
    const down = page.locator('#timeline li[data-replica="Server 2"][data-to="down"]');
    await down.waitFor({ timeout: 5_000 });
    expect(await down.textContent()).toMatch(/Server 2: healthy → down \(process: killed by SIGKILL\)/);
    await expect.poll(healthyEvents, { timeout: 10_000 }).toBe(before + 1);
    await page.locator('tr[data-replica="Server 2"][data-state="healthy"]').waitFor({ timeout: 5_000 });
    expect((await drawn()).sort()).toEqual(['Server 1', 'Server 2', 'Server 3']);
    const seen = await page.evaluate(() => (window as unknown as { seenStates: string[] }).seenStates);
    console.log(`dashboard: Server 2's row went through ${seen.join(' → ')}`);
    expect(seen.slice(0, 2)).toEqual(['healthy', 'down']);
    expect(seen.at(-1)).toBe('healthy');
    // The row names the new process, so an operator finds the replica with ps.
    const now = (lb.provider as ProcessProvider).pidOf('Server 2')!;
    expect(now).not.toBe(pid);
    await expect
      .poll(() => where('Server 2'))
      .toEqual([expect.stringMatching(/^127\.0\.0\.1:\d+$/), `pid ${now}`]);
    await page.locator('#timeline li[data-kind="ring"]').first().waitFor();
  });

  it('shows load figures, fits a phone screen, logged no console error, and saves a screenshot', async () => {
    // Traffic over every request slot for about 2 s (at most 4000 requests), so that each replica
    // shows req/s and p99.
    const until = Date.now() + 2_000;
    for (let id = 0; id < 4_000 && Date.now() < until; id += 16) {
      await Promise.all(
        Array.from({ length: 16 }, (_, i) =>
          call(`${lb.url}/home`, { headers: { 'x-request-id': String((id + i) % 512) } }),
        ),
      );
    }
    const load = () =>
      page.$$eval('#replicas tbody tr', (trs) =>
        trs.map((tr) => [...tr.querySelectorAll('td')].slice(4, 6).map((td) => td.textContent)),
      );
    await expect
      .poll(async () => (await load()).every(([rps, p99]) => Number(rps) > 0 && /^[\d.]+ ms$/.test(p99!)), {
        timeout: 5_000,
      })
      .toBe(true);
    // The replica table (address and process included) fits a laptop screen without scrolling.
    const tableOverflow = await page.$eval(
      '#replicas',
      (table) => table.scrollWidth - table.parentElement!.clientWidth,
    );
    expect(tableOverflow).toBeLessThanOrEqual(0);
    mkdirSync(REPORTS, { recursive: true });
    await page.screenshot({ path: new URL('dashboard.png', REPORTS).pathname, fullPage: true });

    await page.setViewportSize({ width: 390, height: 844 });
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    expect(overflow).toBeLessThanOrEqual(0);
    await page.screenshot({ path: new URL('dashboard-phone.png', REPORTS).pathname, fullPage: true });
    expect(consoleErrors).toEqual([]);
  });
});

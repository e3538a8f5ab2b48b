import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { book, createBuyers, createEvent, type TestEvent } from '../support/booking';
import { freshDatabase } from '../support/fresh-database';
import { ROOT } from '../support/processes';
import { payWithSimulator } from '../support/simulator';
import { createUser, startTestApp, type TestApp, type TestUser } from '../support/test-app';

const PASSWORD = 'correct horse battery';

/** The browser globals the page scripts below use (the project compiles without DOM types). */
interface Browser$ {
  sessionStorage: { length: number };
  localStorage: { length: number };
  marker?: number;
  document: {
    querySelector(selector: string): { textContent: string | null } | null;
    documentElement: { scrollWidth: number; clientWidth: number };
  };
}
/** Where the test leaves its screenshots (ignored by git; docs/dashboard.png is one of them). */
const SCREENSHOTS = join(ROOT, '.data', 'test', 'screenshots');

/** The dashboard in a real browser: sign in, watch an event sell, no reload. */
describe('GET /admin (the live dashboard, in Chromium)', () => {
  let testApp: TestApp;
  let browser: Browser;
  let admin: TestUser;
  let customer: TestUser;
  let headliner: TestEvent;

  beforeAll(async () => {
    const url = new URL(process.env.DATABASE_URL!);
    url.pathname = `${url.pathname}_dashboard`;
    await freshDatabase(url);
    testApp = await startTestApp({ DATABASE_URL: url.toString(), AUTH_RATE_LIMIT: '0' });
    admin = await createUser(testApp, { admin: true });
    customer = await createUser(testApp);
    headliner = await createEvent(testApp, admin, {
      name: 'Aurora Live — Arena Tour',
      startsAt: new Date(Date.now() + 7 * 24 * 3600 * 1000).toISOString(),
      ticketTypes: [
        { name: 'General Admission', price: 4500, quantity: 120 },
        { name: 'VIP', price: 15000, quantity: 20 },
      ],
    });
    const second = await createEvent(testApp, admin, {
      name: 'Jazz at the Docks',
      currency: 'eur',
      startsAt: new Date(Date.now() + 21 * 24 * 3600 * 1000).toISOString(),
      ticketTypes: [{ name: 'Seated', price: 3200, quantity: 60 }],
    });
    await createEvent(testApp, admin, { name: 'Spring Comedy Night' });
    // Some history on the second event so the page has figures to show.
    const early = await createBuyers(testApp, 4);
    for (const buyer of early) {
      const held = await book(testApp, buyer, second.id, {
        ticketTypeId: second.ticketTypes[0].id,
        quantity: 3,
      }).expect(201);
      await payWithSimulator(testApp, held.body.checkoutUrl);
    }
    mkdirSync(SCREENSHOTS, { recursive: true });
    browser = await chromium.launch({
      executablePath: '/usr/bin/chromium',
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
    });
  }, 120_000);
  afterAll(async () => {
    await browser?.close();
    await testApp?.close();
  });

  /** A fresh page that fails the test on any script error or CSP violation. */
  async function openDashboard(viewport = { width: 1280, height: 860 }) {
    const page = await browser.newPage({ viewport });
    const problems: string[] = [];
    page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
    page.on('console', (message) => {
      if (message.type() === 'error') problems.push(`console: ${message.text()}`);
    });
    await page.goto(`${testApp.url}/admin`);
    return { page, problems };
  }

  async function signIn(page: Page, email: string) {
    await page.fill('#email', email);
    await page.fill('#password', PASSWORD);
    await page.click('#login-submit');
  }

  const cell = (page: Page, eventId: string, key: string) =>
    page.locator(`tr[data-event-id="${eventId}"] td[data-key="${key}"]`);

  it('signs an admin in and follows sales live, without reloading', async () => {
    const { page, problems } = await openDashboard();
    await expect(page.isVisible('#login-form')).resolves.toBe(true);
    await signIn(page, admin.email);
    await page.waitForSelector(`tr[data-event-id="${headliner.id}"]`);
    await page.waitForSelector('#live[data-state="on"]');
    expect(await cell(page, headliner.id, 'sold').textContent()).toBe('0');
    expect(
      await page.evaluate(() => (globalThis as unknown as Browser$).sessionStorage.length),
    ).toBe(1);
    expect(await page.evaluate(() => (globalThis as unknown as Browser$).localStorage.length)).toBe(
      0,
    );
    // Marks this document: a reload would lose it.
    await page.evaluate(() => ((globalThis as unknown as Browser$).marker = 42));

    const buyers = await createBuyers(testApp, 5);
    const held = await Promise.all(
      buyers.map((buyer, i) =>
        book(testApp, buyer, headliner.id, {
          ticketTypeId: headliner.ticketTypes[i === 0 ? 1 : 0].id,
          quantity: 2,
        }).expect(201),
      ),
    );
    await page.waitForFunction(
      (id) =>
        (globalThis as unknown as Browser$).document.querySelector(
          `tr[data-event-id="${id}"] td[data-key="locked"]`,
        )?.textContent === '10',
      headliner.id,
    );
    for (const order of held.slice(0, 3)) await payWithSimulator(testApp, order.body.checkoutUrl);
    await page.waitForFunction(
      (id) =>
        (globalThis as unknown as Browser$).document.querySelector(
          `tr[data-event-id="${id}"] td[data-key="sold"]`,
        )?.textContent === '6',
      headliner.id,
    );
    expect(await cell(page, headliner.id, 'locked').textContent()).toBe('4');
    expect(await cell(page, headliner.id, 'available').textContent()).toBe('130');
    // Revenue follows shortly after (from the stats): 2 VIP + 4 GA.
    await page.waitForFunction(
      (id) =>
        (globalThis as unknown as Browser$).document
          .querySelector(`tr[data-event-id="${id}"] td[data-key="revenue"]`)
          ?.textContent?.includes('480'),
      headliner.id,
    );
    expect(await page.evaluate(() => (globalThis as unknown as Browser$).marker)).toBe(42);
    expect(Number((await page.textContent('#spark-total'))?.replace(/\D/g, ''))).toBe(18);
    expect(await page.locator('#sparkline path.line').count()).toBe(1);

    await page.screenshot({ path: join(SCREENSHOTS, 'dashboard.png'), fullPage: true });
    expect(problems).toEqual([]);
    await page.close();
  });

  it('reads well on a phone: each event as a card, nothing wider than the screen', async () => {
    const { page, problems } = await openDashboard({ width: 390, height: 844 });
    await signIn(page, admin.email);
    await page.waitForSelector(`tr[data-event-id="${headliner.id}"]`);
    const overflow = await page.evaluate(() => {
      const { documentElement } = (globalThis as unknown as Browser$).document;
      return documentElement.scrollWidth - documentElement.clientWidth;
    });
    expect(overflow).toBeLessThanOrEqual(0);
    expect(await page.isVisible('#events thead')).toBe(false);
    await page.screenshot({ path: join(SCREENSHOTS, 'dashboard-phone.png'), fullPage: true });
    expect(problems).toEqual([]);
    await page.close();
  });

  it('tells a customer the page is for admins, and a wrong password what went wrong', async () => {
    const { page } = await openDashboard();
    await signIn(page, customer.email);
    await page.waitForSelector('#login-error:not([hidden])');
    expect(await page.textContent('#login-error')).toContain('not an admin');
    expect(
      await page.evaluate(() => (globalThis as unknown as Browser$).sessionStorage.length),
    ).toBe(0);

    await page.fill('#email', admin.email);
    await page.fill('#password', 'wrong password!');
    await page.click('#login-submit');
    await page.waitForFunction(
      () =>
        !(globalThis as unknown as Browser$).document
          .querySelector('#login-error')
          ?.textContent?.includes('not an admin'),
    );
    expect(await page.textContent('#login-error')).toMatch(/\S/);
    expect(await page.isVisible('#dashboard')).toBe(false);
    await page.close();
  });
});

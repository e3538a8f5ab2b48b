import type { TestApp } from './test-app';

/** The buyer follows the checkout link to the payment simulator and presses Pay. */
export async function payWithSimulator(testApp: TestApp, checkoutUrl: string): Promise<void> {
  const link = new URL(checkoutUrl);
  const toSession = await testApp
    .http()
    .get(`${link.pathname}${link.search}`)
    .redirects(0)
    .expect(303);
  const page = new URL(toSession.headers.location);
  await testApp
    .http()
    .post(`${page.pathname}/pay`)
    .set('Content-Type', 'text/plain')
    .send('')
    .redirects(0)
    .expect(303);
}

import { formatMoney, renderSimulatorPage } from './payment-pages';

describe('payment pages', () => {
  it('formats minor units the way each currency writes them', () => {
    expect(formatMoney(2500, 'usd')).toBe('$25.00');
    expect(formatMoney(2500, 'jpy')).toBe('¥2,500');
  });

  it('a closed session offers no payment', () => {
    const page = renderSimulatorPage({
      sessionId: 'sim_cs_1',
      eventName: 'Gala',
      tickets: [{ label: 'GA-000001', typeName: 'GA', price: 2500 }],
      totalAmount: 2500,
      currency: 'usd',
      open: false,
    });
    expect(page).toContain('no longer open');
    expect(page).not.toContain('<form');
  });
});

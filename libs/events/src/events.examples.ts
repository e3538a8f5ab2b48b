/** Examples for the OpenAPI document (Swagger UI's "Try it out" starts from these). */
export const CREATE_EVENT_EXAMPLE = {
  name: 'Spring Tour',
  description: 'The opening night.',
  venue: 'Arena',
  startsAt: '2027-05-01T19:00:00.000Z',
  currency: 'usd',
  maxTicketsPerOrder: 6,
  ticketTypes: [
    { name: 'General Admission', price: 2500, quantity: 5000 },
    { name: 'VIP', price: 9000, quantity: 200 },
  ],
};

const { ticketTypes: createdTypes, ...createdEvent } = CREATE_EVENT_EXAMPLE;

/** The event CREATE_EVENT_EXAMPLE made, two tickets into its sale. */
export const EVENT_EXAMPLE = {
  id: '0193a5b2-8d2f-7c4b-8a1f-3e5d7b9c2f40',
  ...createdEvent,
  status: 'on_sale',
  ticketTypes: [
    {
      id: '0193a5b2-8d30-7d5c-9b2a-4f6e8c0d3a51',
      ...createdTypes[0],
      available: 4998,
      locked: 2,
      sold: 0,
    },
    {
      id: '0193a5b2-8d31-7e6d-8c3b-5a7f9d1e4b62',
      ...createdTypes[1],
      available: 200,
      locked: 0,
      sold: 0,
    },
  ],
  createdAt: '2026-12-01T09:35:00.000Z',
  updatedAt: '2026-12-01T09:35:00.000Z',
};

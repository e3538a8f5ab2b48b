/** Examples for the OpenAPI document (Swagger UI's "Try it out" starts from these). */
export const REGISTER_EXAMPLE = {
  email: 'ada@example.com',
  password: 'correct horse battery',
  name: 'Ada Lovelace',
  phone: '+44 20 7946 0958',
};

export const USER_EXAMPLE = {
  id: '0193a5b2-7c1e-7b3a-9f0e-2d4c6a8b1e3f',
  email: 'ada@example.com',
  name: 'Ada Lovelace',
  phone: '+44 20 7946 0958',
  role: 'customer',
  createdAt: '2026-12-01T09:30:00.000Z',
};

export const LOGIN_EXAMPLE = { email: 'ada@example.com', password: 'correct horse battery' };

export const TOKEN_EXAMPLE = {
  accessToken: 'eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIwMTkzYTViMiJ9.c2lnbmF0dXJl',
  tokenType: 'Bearer',
  expiresIn: 3600,
};

export * from './door.dto';
export * from './door.errors';
export * from './door.module';
export * from './e-tickets.service';
export * from './ticket-code';
export * from './ticket-pdf';
export * from './ticket-signing-keys';

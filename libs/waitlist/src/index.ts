export * from './past-event-waitlist.job';
export * from './waitlist.dto';
export * from './waitlist.errors';
export * from './waitlist.module';
export * from './waitlist.service';
export * from './waitlist-offer.consumer';
export * from './waitlist-offers';

import { join } from 'node:path';
import { DataSource } from 'typeorm';
import { loadEnvironment } from '@app/config';
import { typeormOptions } from './typeorm-options';

/** For the TypeORM CLI (`npm run migration:*`); needs DATABASE_URL. */
const environment = loadEnvironment();
if (!environment.DATABASE_URL) {
  throw new Error(
    'The TypeORM CLI needs DATABASE_URL (the embedded database is started by the app).',
  );
}

export default new DataSource({
  ...typeormOptions(environment.DATABASE_URL, 2),
  entities: [join(__dirname, '..', '..', '*', 'src', '**', '*.entity.js')],
});

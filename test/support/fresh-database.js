// CommonJS (typed by fresh-database.d.ts): the bench, run by plain `node`, uses it too.
const { Client } = require('pg');

/** Creates the database of `url` if it is missing, then empties its schema. */
async function freshDatabase(url) {
  const admin = new Client({
    connectionString: Object.assign(new URL(url), { pathname: '/postgres' }).toString(),
  });
  await admin.connect();
  const database = url.pathname.slice(1);
  const exists = await admin.query('SELECT 1 FROM pg_database WHERE datname = $1', [database]);
  if (exists.rowCount === 0) await admin.query(`CREATE DATABASE "${database}"`);
  await admin.end();

  const db = new Client({ connectionString: url.toString() });
  await db.connect();
  await db.query('DROP SCHEMA IF EXISTS public CASCADE; CREATE SCHEMA public');
  await db.end();
}

module.exports = { freshDatabase };

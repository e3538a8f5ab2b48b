// Preloaded into the server by the soak (node --require): writes the process's memory use
// to SOAK_MEMORY_FILE every second, so the soak reads RSS and heap without touching the app.
const { writeFileSync } = require('node:fs');
const { setInterval } = require('node:timers');

const file = process.env.SOAK_MEMORY_FILE;
if (file) {
  setInterval(() => {
    writeFileSync(file, JSON.stringify({ at: Date.now(), ...process.memoryUsage() }));
  }, 1000).unref();
}

// Many clients downloading GET /users/export at once, as fast as they read, in a process of their
// own: their reading (hundreds of MB) stays off the event loop of the process that measures the
// server. Usage: node export-readers.ts BASE_URL COUNT [ACCEPT]. Prints one JSON line: each
// export's status and line count, and how long they all took.
import http from 'node:http';

const [base, count = '1', accept = 'application/x-ndjson'] = process.argv.slice(2);
if (!base) throw new Error('usage: node export-readers.ts BASE_URL COUNT [ACCEPT]');

function read(): Promise<{ status: number; lines: number; bytes: number; error?: string }> {
  return new Promise((resolve) => {
    const request = http.get(`${base}/users/export`, { agent: false, headers: { accept } }, (response) => {
      let lines = 0;
      let bytes = 0;
      response.on('data', (chunk: Buffer) => {
        bytes += chunk.length;
        for (let at = chunk.indexOf(10); at !== -1; at = chunk.indexOf(10, at + 1)) lines++;
      });
      response.on('end', () => resolve({ status: response.statusCode ?? 0, lines, bytes }));
      response.on('error', (error) =>
        resolve({ status: response.statusCode ?? 0, lines, bytes, error: error.message }),
      );
    });
    request.on('error', (error) => resolve({ status: 0, lines: 0, bytes: 0, error: error.message }));
  });
}

const started = performance.now();
const exports = await Promise.all(Array.from({ length: Number(count) }, read));
process.stdout.write(JSON.stringify({ exports, ms: Math.round(performance.now() - started) }) + '\n');

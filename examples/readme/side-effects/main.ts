// main.ts — the entry module imports the server; code registered in the entry itself could
// not be offloaded (see "How a worker finds your code").
import './reports.ts';

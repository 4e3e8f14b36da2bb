// SPDX-License-Identifier: AGPL-3.0-or-later
// A webhook receiver for bench/outbound/run.sh: plain HTTP on 127.0.0.1 (the server runs with
// --outbound-allow-private), answers 200 at once and counts what it got. Prints its port on the
// first line; on SIGUSR2 prints "COUNT n" (the requests so far) to stdout.
import { createServer } from 'node:http';

let n = 0;
const srv = createServer((req, res) => {
  req.resume();
  req.on('end', () => {
    n++;
    res.writeHead(200, { 'Content-Type': 'text/plain' });
    res.end('ok');
  });
});
srv.keepAliveTimeout = 60000;
srv.listen(0, '127.0.0.1', () => console.log(srv.address().port));
process.on('SIGUSR2', () => console.log(`COUNT ${n}`));
process.on('SIGTERM', () => process.exit(0));

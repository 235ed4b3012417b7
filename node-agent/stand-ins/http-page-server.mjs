// A stand-in for the nginx and httpd images under the local process runtime: it serves a page
// on $HOST:$PORT that names the server and the pod, so a test can tell images apart and see
// traffic spread over pods; `?sleep=<ms>` makes a slow request. Plain JavaScript on purpose: each container starts a bare `node`,
// without a TypeScript loader's start-up time and memory.
import http from 'node:http';
import os from 'node:os';

const flavour = process.env.SKIFF_PAGE_SERVER ?? 'nginx';
const host = process.env.HOST ?? '127.0.0.1';
const port = Number(process.env.PORT ?? 80);
const podName = process.env.POD_NAME ?? process.env.HOSTNAME ?? os.hostname();

const pages = {
  nginx: (pod) =>
    `<!DOCTYPE html>\n<html>\n<head><title>Welcome to nginx!</title></head>\n<body>\n<h1>Welcome to nginx!</h1>\n<p>Served by pod ${pod} (Skiff local stand-in for the nginx image).</p>\n</body>\n</html>\n`,
  httpd: (pod) => `<html><body><h1>It works!</h1>\n<p>Served by pod ${pod} (Skiff local stand-in for the httpd image).</p></body></html>\n`,
};
const page = (pages[flavour] ?? pages.nginx)(podName);

const server = http.createServer((request, response) => {
  // `?sleep=<ms>` answers after a while, as a slow request would (up to 10 s).
  const sleep = Math.min(10_000, Number(new URL(request.url ?? '/', 'http://stand-in').searchParams.get('sleep')) || 0);
  if (sleep > 0) setTimeout(() => answer(request, response), sleep);
  else answer(request, response);
});

function answer(request, response) {
  console.log(
    `${request.socket.remoteAddress} - - [${new Date().toISOString()}] "${request.method} ${request.url} HTTP/${request.httpVersion}" 200 ${Buffer.byteLength(page)}`,
  );
  response.writeHead(200, {
    'content-type': 'text/html',
    server: flavour === 'httpd' ? 'Apache (skiff stand-in)' : 'nginx (skiff stand-in)',
    'x-skiff-pod': podName,
  });
  response.end(request.method === 'HEAD' ? undefined : page);
}

server.on('error', (error) => {
  console.error(`${flavour} stand-in: cannot listen on ${host}:${port}: ${error.message}`);
  process.exit(1);
});
server.listen(port, host, () => console.log(`${flavour} stand-in for pod ${podName} listening on ${host}:${port}`));

for (const signal of ['SIGTERM', 'SIGINT']) {
  process.on(signal, () => {
    console.log(`${flavour} stand-in: ${signal} received, shutting down`);
    server.close(() => process.exit(0));
    server.closeAllConnections();
    // A connection accepted mid-shutdown must not keep the process alive past its grace period.
    setTimeout(() => process.exit(0), 1000).unref();
  });
}

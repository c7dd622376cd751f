import { createRequire } from 'node:module';
import path from 'node:path';
import { Router } from 'express';

/** swagger-ui-dist's files, served from this host: the docs page needs no CDN and passes a 'self'-only CSP. */
const SWAGGER_UI_DIR = path.dirname(createRequire(import.meta.url).resolve('swagger-ui-dist/package.json'));
const ASSETS = new Set(['swagger-ui.css', 'index.css', 'swagger-ui-bundle.js', 'swagger-ui-standalone-preset.js', 'favicon-32x32.png', 'favicon-16x16.png']);

// Relative URLs, so that the page also works behind a proxy that adds a path prefix.
const PAGE = `<!DOCTYPE html>
<html lang="en">
  <head>
    <meta charset="UTF-8">
    <title>sandq API</title>
    <link rel="stylesheet" type="text/css" href="docs/swagger-ui.css" />
    <link rel="stylesheet" type="text/css" href="docs/index.css" />
    <link rel="icon" type="image/png" href="docs/favicon-32x32.png" sizes="32x32" />
  </head>
  <body>
    <div id="swagger-ui"></div>
    <script src="docs/swagger-ui-bundle.js" charset="UTF-8"></script>
    <script src="docs/swagger-ui-standalone-preset.js" charset="UTF-8"></script>
    <script src="docs/sandq-docs.js" charset="UTF-8"></script>
  </body>
</html>
`;

const INITIALIZER = `window.onload = function () {
  window.ui = SwaggerUIBundle({
    url: 'openapi.json',
    dom_id: '#swagger-ui',
    deepLinking: true,
    presets: [SwaggerUIBundle.presets.apis, SwaggerUIStandalonePreset],
    layout: 'StandaloneLayout',
  });
};
`;

/** `GET /openapi.json` (the document) and `GET /docs` (Swagger UI over it). */
export function docsRouter(document: Record<string, unknown>): Router {
  const router = Router();
  const body = JSON.stringify(document);

  router.get('/openapi.json', (_req, res) => {
    res.type('application/json').send(body);
  });

  router.get('/docs', (req, res) => {
    // The page's relative URLs are written for /docs, not /docs/.
    if (req.path.endsWith('/')) return res.redirect(301, '../docs');
    res.type('html').send(PAGE);
  });

  router.get('/docs/sandq-docs.js', (_req, res) => {
    res.type('text/javascript').send(INITIALIZER);
  });

  router.get('/docs/:asset', (req, res, next) => {
    const asset = String(req.params.asset);
    if (!ASSETS.has(asset)) return next();
    res.sendFile(path.join(SWAGGER_UI_DIR, asset), { maxAge: '1h' });
  });

  return router;
}

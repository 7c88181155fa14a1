// Jest on Node 20 cannot require() ES modules; @fastify/static (CommonJS) requires
// content-disposition 3 (ES module only) for download headers, which the tests never use.
// Node itself loads the real package (require(esm) works in Node 20.19+).
function create(filename) {
  return filename
    ? `attachment; filename="${String(filename).replace(/["\\]/g, '')}"`
    : 'attachment';
}
module.exports = { create };

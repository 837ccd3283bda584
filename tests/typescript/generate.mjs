// Generate TypeScript types from an OpenAPI document with openapi-typescript's Node API,
// typing `format: binary` (file parts of multipart bodies, downloads) as Blob, as its
// documentation shows: `node generate.mjs <openapi.json> <out.d.ts>`.
import { readFileSync, writeFileSync } from "node:fs";
import openapiTS, { astToString } from "openapi-typescript";
import ts from "typescript";

const [source, target] = process.argv.slice(2);
const BLOB = ts.factory.createTypeReferenceNode(ts.factory.createIdentifier("Blob"));
const document = JSON.parse(readFileSync(source, "utf8"));
const ast = await openapiTS(document, {
  transform(schema) {
    if (schema.format === "binary") {
      return BLOB;
    }
    return undefined;
  },
});
writeFileSync(target, astToString(ast));

// Checks responses against the app's own OpenAPI document: the status must be documented for
// the operation, and the body must match the schema documented for that status.
import { Ajv, type ValidateFunction } from 'ajv';
import addFormatsModule from 'ajv-formats';

// ajv-formats is CommonJS with a default export.
const addFormats = addFormatsModule as unknown as (ajv: Ajv) => Ajv;

interface Operation {
  parameters?: { in: string; name: string; schema: object }[];
  requestBody?: { content: Record<string, { schema: object }> };
  responses: Record<string, { content?: Record<string, { schema: object }> }>;
}
export interface OpenApiDocument {
  paths: Record<string, Record<string, Operation>>;
}

export interface Conformance {
  /** The documented operations, e.g. `['GET', '/users/{id}']`. */
  operations: [method: string, path: string, operation: Operation][];
  /** Problems with one response, or [] if it conforms. */
  check(method: string, url: string, status: number, contentType: string | undefined, body: string): string[];
  /** The operation template a concrete URL belongs to. */
  route(method: string, url: string): string | undefined;
}

export function conformance(doc: OpenApiDocument): Conformance {
  const ajv = new Ajv({ strict: false, allErrors: true });
  addFormats(ajv);
  const validators = new Map<string, ValidateFunction>();
  const operations: Conformance['operations'] = [];
  for (const [path, methods] of Object.entries(doc.paths)) {
    for (const [method, operation] of Object.entries(methods)) operations.push([method.toUpperCase(), path, operation]);
  }
  const matchers = operations.map(([method, path]) => ({
    method,
    path,
    regex: new RegExp(`^${path.replace(/\{\w+\}/g, '[^/]+')}$`),
  }));
  const route = (method: string, url: string) => {
    const pathname = url.split('?')[0]!;
    return matchers.find((m) => m.method === method && m.regex.test(pathname))?.path;
  };
  return {
    operations,
    route,
    check(method, url, status, contentType, body) {
      const path = route(method, url);
      if (!path) return [`${method} ${url} is not a documented operation`];
      const documented = doc.paths[path]![method.toLowerCase()]!.responses[String(status)];
      const where = `${method} ${path} ${status}`;
      if (!documented)
        return [
          `${where}: status not documented (documented: ${Object.keys(doc.paths[path]![method.toLowerCase()]!.responses).join(', ')})`,
        ];
      if (status === 204) return body === '' ? [] : [`${where}: a 204 with a body`];
      const contents = Object.entries(documented.content ?? {});
      if (contents.length === 0) return [`${where}: no documented content`];
      // The media type answered must be one documented for this status.
      const [mediaType, media] = contents.find(([type]) => contentType?.startsWith(type)) ?? [];
      if (!mediaType || !media) {
        return [`${where}: content type ${contentType}, documented ${contents.map(([type]) => type).join(' or ')}`];
      }
      // NDJSON: each line is one value of the documented schema.
      let values: unknown[] = [body];
      try {
        if (mediaType === 'application/json') values = [JSON.parse(body)];
        else if (mediaType === 'application/x-ndjson')
          values =
            body === ''
              ? []
              : body
                  .replace(/\n$/, '')
                  .split('\n')
                  .map((line) => JSON.parse(line) as unknown);
      } catch {
        return [`${where}: body is not ${mediaType}: ${body.slice(0, 100)}`];
      }
      const key = `${where} ${mediaType}`;
      let validate = validators.get(key);
      if (!validate) validators.set(key, (validate = ajv.compile(media.schema)));
      for (const value of values) {
        if (!validate(value)) return [`${where}: ${ajv.errorsText(validate.errors)} in ${body.slice(0, 200)}`];
      }
      return [];
    },
  };
}

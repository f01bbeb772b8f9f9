/*
 * What a Tidings body is on the wire: UTF-8 JSON, with the content type `application/json` (or
 * none) and no content encoding. A delivery passes these checks before its body is parsed; the
 * ones that fail are dead-lettered (`content-type`, `content-encoding`). Both checks are a string
 * comparison for what Tidings publishes, and a regular expression only for anything else.
 */

/** `application/json`, any case, optionally `; charset=utf-8` (any case, the value optionally quoted). */
const JSON_CONTENT_TYPE = /^application\/json[ \t]*(?:;[ \t]*charset[ \t]*=[ \t]*(?:utf-8|"utf-8")[ \t]*)?$/i;

/** `utf-8` or `identity`, any case: the body is as it was written. */
const IDENTITY_ENCODING = /^(?:utf-8|identity)$/i;

/**
 * Whether a delivery's content type is one Tidings reads: none (a foreign producer may send
 * none), `application/json`, or `application/json; charset=utf-8`, the type and the charset
 * in any case. `text/plain`, `application/json-patch+json` or another charset are not.
 */
export function isJsonContentType(contentType: string | undefined): boolean {
  return contentType === undefined || contentType === 'application/json' || contentType === '' || JSON_CONTENT_TYPE.test(contentType);
}

/**
 * Whether a delivery's content encoding leaves the body as it was written: none, `utf-8` or
 * `identity`, in any case. A compressed body (`gzip`, `deflate`, `br`) is not JSON.
 */
export function isIdentityEncoding(contentEncoding: string | undefined): boolean {
  return contentEncoding === undefined || contentEncoding === '' || IDENTITY_ENCODING.test(contentEncoding);
}

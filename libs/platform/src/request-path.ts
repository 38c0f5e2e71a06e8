/**
 * A request URL's path, without its query string: what routes, logs and refusals name (tokens
 * may travel in a query). Copies only when there is a query: it runs on every request.
 */
export function pathOf(url: string): string {
  const query = url.indexOf('?');
  return query === -1 ? url : url.slice(0, query);
}

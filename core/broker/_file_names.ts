/**
 * The file name under which a name a peer chose (a message type, a
 * connector name) is kept in a state directory: percent-encoded, so it holds
 * no `/`, and never `.` or `..`, which would name the directory itself or its
 * parent (a type `..` put its queue in `STATE_DIR` and lost it at the next
 * start). `dots`: every `.` encoded (`%2E`), so the name cannot end like the
 * `NAME.handed` files kept beside it either. Names read back from disk go
 * through `decodeURIComponent`, which takes both forms.
 */
export function fileNameOf(name: string, options: { dots?: boolean } = {}): string {
  const encoded = encodeURIComponent(name);
  if (options.dots) return encoded.replaceAll(".", "%2E");
  return encoded === "." || encoded === ".." ? encoded.replaceAll(".", "%2E") : encoded;
}

/** The `reason` label values of `sockkit_connections_refused_total`. */
export const REFUSAL_REASONS = [
  "no_cert",
  "unknown",
  "revoked",
  "expired",
  "cap",
  "timeout",
  "handshake",
  "other",
] as const;

/** One of {@linkcode REFUSAL_REASONS}. */
export type RefusalReason = typeof REFUSAL_REASONS[number];

const RULES: ReadonlyArray<[RegExp, RefusalReason]> = [
  [/no client certificate/i, "no_cert"],
  [/revoked|revocation list/i, "revoked"],
  [/expired/i, "expired"],
  [/no TLS handshake within|timed? ?out/i, "timeout"],
  [/not allowed|unknown ca|certificate unknown|self.signed|unable to verify|claims/i, "unknown"],
  [/server full|limit|too many|cap\b/i, "cap"],
  [/TLS handshake failed/i, "handshake"],
];

/**
 * Maps a listener's refusal text (the `reason` of `ListenOptions.onRefused`)
 * to a bounded label value, so a peer cannot create new series by choosing
 * what goes wrong.
 *
 * @example
 * ```ts
 * refusalReason("client certificate expired on 2026-01-01T00:00:00.000Z"); // "expired"
 * ```
 */
export function refusalReason(text: string): RefusalReason {
  for (const [re, reason] of RULES) if (re.test(text)) return reason;
  return "other";
}

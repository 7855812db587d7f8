/** How the broadcast date is written: `date` (`2026-11-24`) or `iso` (`2026-11-24T13:05:09.123Z`). */
export type DateFormat = "date" | "iso";

/** The accepted {@linkcode DateFormat} values. */
export const DATE_FORMATS = ["date", "iso"] as const satisfies readonly DateFormat[];

/**
 * Formats the broadcast date in UTC: `YYYY-MM-DD` for `"date"`, an ISO 8601
 * timestamp with milliseconds and `Z` for `"iso"`.
 *
 * @example
 * ```ts
 * formatDate(new Date(Date.UTC(2026, 10, 24, 13, 5)), "date"); // "2026-11-24"
 * ```
 */
export function formatDate(date: Date, format: DateFormat): string {
  const iso = date.toISOString();
  return format === "iso" ? iso : iso.slice(0, 10);
}

const DATE_LINE = /^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2}))?$/;

/** Whether `text` looks like a date written by {@linkcode formatDate} (either format). */
export function isDateText(text: string): boolean {
  return DATE_LINE.test(text);
}

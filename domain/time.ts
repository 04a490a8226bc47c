/** A day in milliseconds: dates here are UTC instants, and a day is 24 hours. */
export const DAY_MS = 86_400_000;

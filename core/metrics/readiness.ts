/** Whether a daemon can serve now, and why (the body of `/readyz`). */
export interface Readiness {
  /** `true`: ready to serve (`/readyz` answers 200), `false`: 503. */
  ready: boolean;
  /** One line for the operator, e.g. `"redis reachable"` or `"index not built yet"`. */
  detail: string;
}

/** Reports a daemon's {@linkcode Readiness}; called on every `/readyz` request. */
export type ReadinessCheck = () => Readiness | Promise<Readiness>;

/**
 * `sockkit demo`: runs each service on loopback with throwaway certificates
 * (and a private `redis-server` where a service needs Redis), exercises it
 * once and reports what happened in a few lines. Services contribute a
 * {@linkcode DemoStep} to the registry in `steps.ts` (imported directly by
 * `cmd/demo.ts`, not re-exported here, so service demos can import this
 * module's types without an import cycle).
 *
 * @module
 */
export * from "./context.ts";
export * from "./run_demo.ts";
export * from "./redis_process.ts";

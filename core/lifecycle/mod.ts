/**
 * Process lifecycle: SIGINT/SIGTERM start a graceful drain of a server
 * (stop accepting, finish or persist in-flight work, close), after which the
 * command exits 0; SIGHUP reloads certificates, allow-list, revocations and
 * reloadable settings ({@linkcode settingsReload} reads them again and names
 * the changes only a restart applies); {@linkcode runDaemon} ties both to the
 * metrics and health endpoint.
 *
 * @module
 */
export * from "./shutdown.ts";
export * from "./reload.ts";
export * from "./reloadable_check.ts";
export * from "./settings_reload.ts";
export * from "./daemon.ts";
export * from "./find_daemon.ts";

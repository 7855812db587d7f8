/** A usage or configuration error: the CLI prints its message and exits with code 2. */
export class ConfigError extends Error {
  override name = "ConfigError";
  /** The process exit code for this error (2). */
  readonly exitCode = 2;
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
  }
}

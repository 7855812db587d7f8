/**
 * The one place that loads `@peculiar/x509`. The library needs a Reflect
 * metadata polyfill loaded before it (tsyringe), so every PKI file imports
 * `x509` from here instead of from the package.
 *
 * @module
 */
import "reflect-metadata";
import * as x509 from "@peculiar/x509";

export { x509 };

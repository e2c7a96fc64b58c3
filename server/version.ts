/** Tessera's version, shown in INFO and at start. */
export const VERSION = "0.1.0";

/**
 * `deno task serve`: starts a Tessera server.
 *
 *   --port 9221 --bind 127.0.0.1 --dir ./data --shards <cores> --requirepass secret
 *   --config tessera.conf (redis.conf-style `key value` lines; flags win) --loglevel notice
 *   Any other `--name value` is applied as the config setting `name` (e.g. --appendfsync always).
 */
import {
  configure,
  getConsoleSink,
  getLogger,
  getTextFormatter,
  type LogLevel,
} from "@logtape/logtape";
import { applyConfigFile, applySetting, defaultConfig } from "./server/config.ts";
import { TesseraServer } from "./server/server.ts";

/** Redis log levels mapped to logtape's. */
function logLevel(name: string): LogLevel {
  switch (name) {
    case "debug":
      return "debug";
    case "verbose":
      return "info";
    case "notice":
      return "info";
    case "warning":
      return "warning";
    default:
      return "info";
  }
}

function parseFlags(argv: string[]): Map<string, string> {
  const flags = new Map<string, string>();
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (!a.startsWith("--")) throw new Error(`unexpected argument '${a}'`);
    const eq = a.indexOf("=");
    if (eq !== -1) flags.set(a.slice(2, eq), a.slice(eq + 1));
    else {
      const v = argv[i + 1];
      if (v === undefined) throw new Error(`missing value for ${a}`);
      flags.set(a.slice(2), v);
      i++;
    }
  }
  return flags;
}

async function main(): Promise<void> {
  const config = defaultConfig();
  let flags: Map<string, string>;
  try {
    flags = parseFlags(Deno.args);
    const file = flags.get("config");
    if (file !== undefined) applyConfigFile(config, await Deno.readTextFile(file));
    for (const [k, v] of flags) if (k !== "config") applySetting(config, k, v, true);
  } catch (e) {
    console.error(`tessera: ${e instanceof Error ? e.message : e}`);
    Deno.exit(1);
  }
  await configure({
    sinks: { console: getConsoleSink({ formatter: getTextFormatter({ value: "bare" }) }) },
    loggers: [
      { category: ["tessera"], lowestLevel: logLevel(config.loglevel), sinks: ["console"] },
      { category: ["logtape", "meta"], lowestLevel: "warning", sinks: ["console"] },
    ],
  });
  const log = getLogger(["tessera"]);
  let server: TesseraServer;
  try {
    server = await TesseraServer.start(config);
  } catch (e) {
    log.fatal("cannot start: {message}", { message: e instanceof Error ? e.message : String(e) });
    Deno.exit(1);
  }
  const stop = () => void server.close();
  Deno.addSignalListener("SIGINT", stop);
  Deno.addSignalListener("SIGTERM", stop);
  await server.closed;
  Deno.removeSignalListener("SIGINT", stop);
  Deno.removeSignalListener("SIGTERM", stop);
  log.info("bye");
  Deno.exit(0);
}

if (import.meta.main) await main();

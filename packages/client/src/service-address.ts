import { credentials as grpcCredentials, type ChannelCredentials } from "@grpc/grpc-js";
import { O3mlError } from "@o3ml/errors";
import { channelCredentials, type ClientTls } from "./tls.js";

/** Where clients look for the service when O3ML_SERVICE is unset (the address `o3ml serve` listens on by default). */
export const DEFAULT_SERVICE_ADDRESS = "127.0.0.1:7433";

/** Every form of service address clients accept, as error messages and `--help` name them. */
export const SERVICE_ADDRESS_FORMS = "host:port, http://host:port, https://host:port (TLS) or unix:/path/to/socket";

/**
 * A service address as gRPC dials it. `https://` turns TLS on (with the
 * O3ML_TLS_* files when set, else the system's CAs), `http://` says
 * plaintext; a bare host:port or a unix socket leaves it to O3ML_TLS_*, as
 * before these forms existed.
 */
export interface ServiceAddress {
  /** host:port, [v6]:port or unix:path: what grpc-js takes as a target. */
  target: string;
  tls: "on" | "off" | "from-settings";
}

const HOST_PORT = /^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9_](?:[A-Za-z0-9_.-]*[A-Za-z0-9_])?):(\d{1,5})$/;

/**
 * Reads an address in any of SERVICE_ADDRESS_FORMS; anything else is
 * INVALID_ARGUMENT naming `source` (O3ML_SERVICE, --service) and the forms.
 */
export function parseServiceAddress(value: string, source = "O3ML_SERVICE"): ServiceAddress {
  const bad = (why: string) =>
    new O3mlError("INVALID_ARGUMENT", `${source} is ${JSON.stringify(value)}: not a service address (${why}); give ${SERVICE_ADDRESS_FORMS}`, { setting: source });
  const text = value.trim();
  const socket = unixSocketPath(text);
  if (socket !== undefined) {
    if (!socket) throw bad("a unix socket is unix:/path/to/socket");
    return { target: `unix:${socket}`, tls: "from-settings" };
  }
  const scheme = /^([A-Za-z][A-Za-z0-9+.-]*):\/\//.exec(text)?.[1]?.toLowerCase();
  if (scheme === undefined) {
    const m = HOST_PORT.exec(text);
    if (!m) throw bad("expected host:port");
    return { target: withPort(m[1]!, m[2]!, bad), tls: "from-settings" };
  }
  if (scheme !== "http" && scheme !== "https") throw bad(`${scheme}:// is not a scheme the service speaks`);
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw bad("not a URL");
  }
  if (!url.hostname) throw bad("the URL names no host");
  if (url.username || url.password || url.search || url.hash || (url.pathname !== "/" && url.pathname !== "")) {
    throw bad("a service URL is scheme://host:port, with no path, query or credentials");
  }
  // URL leaves out a scheme's default port; gRPC needs it spelled out.
  const port = url.port || (scheme === "https" ? "443" : "80");
  return { target: withPort(url.hostname, port, bad), tls: scheme === "https" ? "on" : "off" };
}

/**
 * The socket path of a `unix:` address, in gRPC's spellings: unix:path
 * (relative or absolute) and unix:///absolute/path. undefined when `text` is
 * no unix: address; "" when it is one that names no usable path.
 */
export function unixSocketPath(text: string): string | undefined {
  if (!text.startsWith("unix:")) return undefined;
  const absolute = text.startsWith("unix://");
  const path = text.slice(absolute ? "unix://".length : "unix:".length);
  return absolute && !path.startsWith("/") ? "" : path;
}

function withPort(host: string, port: string, bad: (why: string) => O3mlError): string {
  const n = Number(port);
  if (!Number.isInteger(n) || n < 1 || n > 65535) throw bad(`port ${port} is not from 1 to 65535`);
  return `${host}:${n}`;
}

/**
 * The channel to `address`, else to O3ML_SERVICE, else to the default
 * address: the address as given (for messages), its gRPC target, and
 * credentials from the scheme and `tls`, the client's O3ML_TLS_* files.
 */
export function serviceChannel(address: string | undefined, tls: ClientTls | undefined): { address: string; target: string; credentials: ChannelCredentials } {
  const source = address === undefined ? "O3ML_SERVICE" : "the address given";
  const given = address ?? (process.env.O3ML_SERVICE || DEFAULT_SERVICE_ADDRESS);
  const parsed = parseServiceAddress(given, source);
  if (parsed.tls === "off" && tls) {
    throw new O3mlError(
      "INVALID_ARGUMENT",
      `${given} asks for plaintext (http://), but O3ML_TLS_CA, O3ML_TLS_CERT or O3ML_TLS_KEY is set: write https:// for TLS, or unset them`,
      { setting: source },
    );
  }
  // https:// with no O3ML_TLS_CA trusts the system's CAs, as a browser would.
  const credentials = parsed.tls === "on" && !tls ? grpcCredentials.createSsl() : channelCredentials(tls);
  return { address: given, target: parsed.target, credentials };
}

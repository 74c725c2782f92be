import type { HeadObjectCommand } from "@aws-sdk/client-s3";

/** O3's network status of an object, from HeadObject response headers. */
export interface NetworkHeaders {
  /** "done" once the data reached the Akave network. */
  networkState?: string;
  networkRootCid?: string;
}

/**
 * Makes `command` remember the raw headers of its HTTP response. O3's
 * `Network-State` and `Network-Root-Cid` are not in the S3 model, so the
 * SDK's deserializer drops them; a middleware on this one command reads them
 * from the response before that happens. Call the returned function after
 * the command has been sent.
 */
export function captureNetworkHeaders(command: HeadObjectCommand): () => NetworkHeaders {
  let headers: Record<string, string | undefined> = {};
  command.middlewareStack.add(
    (next) => async (args) => {
      const result = await next(args);
      const raw = (result.response as { headers?: Record<string, string> } | undefined)?.headers ?? {};
      headers = Object.fromEntries(Object.entries(raw).map(([k, v]) => [k.toLowerCase(), v]));
      return result;
    },
    { step: "deserialize", name: "o3mlNetworkHeaders" },
  );
  return () => {
    const out: NetworkHeaders = {};
    if (headers["network-state"]) out.networkState = headers["network-state"];
    if (headers["network-root-cid"]) out.networkRootCid = headers["network-root-cid"];
    return out;
  };
}

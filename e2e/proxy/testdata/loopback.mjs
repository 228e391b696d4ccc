// Preloaded (node --import) before e2e/conformance's client.mjs: the
// names in OPSMCP_LOOPBACK_NAMES resolve to 127.0.0.1 without any DNS
// query, so the TypeScript client reaches the proxies by the public names
// their certificate and routes carry (mcp.example.internal...).
import dns from "node:dns";

const names = new Set((process.env.OPSMCP_LOOPBACK_NAMES ?? "").split(",").filter(Boolean));
const lookup = dns.lookup;
dns.lookup = function (host, opts, cb) {
  if (typeof opts === "function") {
    cb = opts;
    opts = {};
  }
  if (!names.has(host)) {
    return lookup.call(this, host, opts, cb);
  }
  if (opts?.all) {
    return process.nextTick(cb, null, [{ address: "127.0.0.1", family: 4 }]);
  }
  return process.nextTick(cb, null, "127.0.0.1", 4);
};

// The official TypeScript SDK's client against one opsmcp server: it
// lists the tools and prompts, calls one tool and gets one prompt, and
// prints what it saw as one JSON object on stdout for the Go test to
// judge. Its one argument is a JSON object:
//   {transport: "stdio"|"http"|"sse", url, token, command, args, env,
//    tool, arguments, prompt, promptArguments}
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { SSEClientTransport } from "@modelcontextprotocol/sdk/client/sse.js";

const cfg = JSON.parse(process.argv[2]);
const headers = cfg.token ? { Authorization: `Bearer ${cfg.token}` } : {};

let transport;
switch (cfg.transport) {
  case "stdio":
    transport = new StdioClientTransport({ command: cfg.command, args: cfg.args ?? [], env: cfg.env ?? {}, stderr: "inherit" });
    break;
  case "http":
    transport = new StreamableHTTPClientTransport(new URL(cfg.url + "/mcp"), { requestInit: { headers } });
    break;
  case "sse":
    // The EventSource GET needs the token too: eventSourceInit's fetch.
    transport = new SSEClientTransport(new URL(cfg.url + "/sse"), {
      requestInit: { headers },
      eventSourceInit: { fetch: (url, init) => fetch(url, { ...init, headers: { ...(init?.headers ?? {}), ...headers } }) },
    });
    break;
  default:
    throw new Error(`unknown transport ${cfg.transport}`);
}

const client = new Client({ name: "opsmcp-e2e-ts", version: "1.0.0" });
const out = { transport: cfg.transport };
try {
  await client.connect(transport);
  out.server = client.getServerVersion();
  out.protocolVersion = transport.protocolVersion ?? null;
  out.sessionId = transport.sessionId ?? null;
  const tools = await client.listTools();
  out.tools = tools.tools.map((t) => t.name);
  const res = await client.callTool({ name: cfg.tool, arguments: cfg.arguments ?? {} });
  out.call = {
    isError: res.isError ?? false,
    text: (res.content ?? []).filter((c) => c.type === "text").map((c) => c.text).join("\n"),
    structured: res.structuredContent ?? null,
  };
  const prompts = await client.listPrompts();
  out.prompts = prompts.prompts.map((p) => ({ name: p.name, arguments: (p.arguments ?? []).map((a) => a.name) }));
  if (cfg.prompt) {
    const p = await client.getPrompt({ name: cfg.prompt, arguments: cfg.promptArguments ?? {} });
    out.prompt = p.messages.map((m) => (m.content.type === "text" ? m.content.text : "")).join("\n");
  }
} catch (e) {
  out.error = String(e?.stack ?? e);
}
await client.close().catch(() => {});
process.stdout.write(JSON.stringify(out) + "\n");
process.exit(out.error ? 1 : 0);

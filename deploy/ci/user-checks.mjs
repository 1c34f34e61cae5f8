// What deploy/ci/container-check.sh asks of a running gateway, checked the way a user's program would see it.
//   node user-checks.mjs <dir with node_modules> <check> <args...>
//     models <base url> <id>...               GET /v1/models lists these ids (prints the list)
//     description <base url> <id> <text>      that model's moa.description is <text>
//     stream <base url> <model>               a streamed answer through the official OpenAI Node SDK
//     completion <base url> <model>           a non-streamed answer in which every agent answered
//     json-logs <stdout file> <stderr file> <canary>
//                                             stdout is compact JSON log lines only, one says where it listens, and
//                                             neither stream contains the canary (a secret the container was given)
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";

const [depsDir, check, ...args] = process.argv.slice(2);
const require = createRequire(path.join(path.resolve(depsDir ?? "."), "package.json"));

const fail = (message) => {
  console.error(`FAILED ${check}: ${message}`);
  process.exit(1);
};

async function getJson(url) {
  const response = await fetch(url);
  if (response.status !== 200) fail(`GET ${url} answered ${response.status}`);
  return response.json();
}

const checks = {
  async models(baseUrl, ...ids) {
    const list = await getJson(`${baseUrl}/v1/models`);
    const served = list.data.map((m) => m.id);
    const missing = ids.filter((id) => !served.includes(id));
    if (list.object !== "list" || missing.length > 0) fail(`missing ${missing.join(", ")}; served: ${served.join(", ")}`);
    console.log(`models: ${list.data.map((m) => `${m.id} (${m.owned_by})`).join(", ")}`);
  },

  async description(baseUrl, id, expected) {
    const model = await getJson(`${baseUrl}/v1/models/${id}`);
    if (model.moa?.description !== expected) fail(`${id} has description ${JSON.stringify(model.moa?.description)}`);
    console.log(`model ${id}: description from the mounted configuration`);
  },

  async stream(baseUrl, model) {
    const OpenAI = require("openai");
    const client = new OpenAI({ baseURL: `${baseUrl}/v1`, apiKey: "unused", maxRetries: 0, timeout: 60_000 });
    const stream = await client.chat.completions.create({
      model,
      stream: true,
      stream_options: { include_usage: true },
      messages: [{ role: "user", content: "Why is the sky blue?" }],
    });
    let text = "";
    let contentChunks = 0;
    let finishReason;
    let usage;
    for await (const chunk of stream) {
      const choice = chunk.choices[0];
      if (choice?.delta?.content) {
        text += choice.delta.content;
        contentChunks++;
      }
      finishReason ??= choice?.finish_reason ?? undefined;
      usage ??= chunk.usage ?? undefined;
    }
    // Several content chunks: the answer arrived as a stream, not as one block at the end.
    if (contentChunks < 2 || text.trim() === "") fail(`${contentChunks} content chunk(s): ${JSON.stringify(text)}`);
    if (finishReason !== "stop" && finishReason !== "length") fail(`finish_reason ${finishReason}`);
    if (!(usage?.total_tokens > 0) || usage.moa?.model !== model) fail(`usage ${JSON.stringify(usage)}`);
    console.log(`stream ${model}: ${contentChunks} chunks, finish_reason ${finishReason}, ` +
      `${usage.moa.upstream_calls} upstream calls: ${JSON.stringify(text.slice(0, 60))}...`);
  },

  async completion(baseUrl, model) {
    const response = await fetch(`${baseUrl}/v1/chat/completions`, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ model, messages: [{ role: "user", content: "Say hello." }] }),
    });
    const body = await response.json();
    if (response.status !== 200) fail(`HTTP ${response.status}: ${JSON.stringify(body)}`);
    const text = body.choices?.[0]?.message?.content ?? "";
    const moa = body.usage?.moa;
    const agents = [...(moa?.layers ?? []).flatMap((layer) => layer.agents), moa?.aggregator].filter(Boolean);
    const failed = agents.filter((agent) => agent.status !== "answered");
    if (text.trim() === "" || agents.length === 0 || agents.length !== moa.upstream_calls || failed.length > 0) {
      fail(`answer ${JSON.stringify(text)}; agents ${JSON.stringify(agents.map((a) => `${a.model}: ${a.status}`))}`);
    }
    console.log(`completion ${model}: ${agents.length} upstream calls answered: ${JSON.stringify(text.slice(0, 60))}...`);
  },

  async "json-logs"(stdoutFile, stderrFile, canary) {
    const stdout = readFileSync(stdoutFile, "utf8");
    const stderr = readFileSync(stderrFile, "utf8");
    const lines = stdout.split("\n").filter((line) => line.trim() !== "");
    if (lines.length === 0) fail("no log line on stdout");
    const events = lines.map((line, i) => {
      try {
        return JSON.parse(line);
      } catch {
        return fail(`stdout line ${i + 1} is not JSON: ${line.slice(0, 120)}`);
      }
    });
    // Serilog's compact JSON: @t the timestamp, @mt the message template, @l the level unless it is Information.
    const malformed = events.findIndex((e) => !e["@t"] || !e["@mt"]);
    if (malformed >= 0) fail(`line ${malformed + 1} lacks @t or @mt: ${lines[malformed]}`);
    const listening = events.find((e) => e["@mt"].startsWith("Now listening on"));
    if (!listening) fail("no 'Now listening on' event");
    if (!canary) fail("no canary given");
    if (stdout.includes(canary) || stderr.includes(canary)) fail("the canary secret appears in the logs");
    console.log(`logs: ${events.length} JSON lines on stdout, e.g. ${JSON.stringify(listening)}; no secret`);
  },
};

if (!checks[check]) fail(`unknown check; use one of ${Object.keys(checks).join(", ")}`);
await checks[check](...args);

// What deploy/ci/compose-and-manifests-check.sh asks of a gateway in the docker-compose stack, over plain HTTP.
//   node user-checks.mjs <check> <args...>
//     models <base url> <id>...               GET /v1/models lists these ids (prints the list)
//     completion <base url> <model>           a non-streamed answer in which every agent answered
//     shared-limit <base url> <key> <limit>   of 2 x limit + 4 requests in a row with the key, exactly limit are admitted
const [check, ...args] = process.argv.slice(2);

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

  async ["shared-limit"](baseUrl, key, limit) {
    // One at a time, so that only the minute's count can refuse them (not the key's requests in flight).
    const count = 2 * Number(limit) + 4;
    const outcomes = [];
    for (let i = 0; i < count; i++) {
      const response = await fetch(`${baseUrl}/v1/models`, { headers: { Authorization: `Bearer ${key}` } });
      const body = await response.json();
      outcomes.push(response.status === 200 ? "200" : `${response.status} ${body.error?.code}`);
    }
    const admitted = outcomes.filter((outcome) => outcome === "200").length;
    const refused = outcomes.filter((outcome) => outcome === "429 rate_limit_exceeded").length;
    if (admitted !== Number(limit) || refused !== count - admitted) fail(`of ${count} requests ${admitted} admitted, ${refused} refused: ${outcomes.join(", ")}`);
    console.log(`shared-limit: of ${count} requests in a row, ${admitted} admitted and ${refused} refused with 429 rate_limit_exceeded, as the key's limit of ${limit} a minute says`);
  },
};

if (!checks[check]) fail(`unknown check; use one of ${Object.keys(checks).join(", ")}`);
await checks[check](...args);

// What deploy/ci/compose-and-manifests-check.sh asks of a gateway in the docker-compose stack, over plain HTTP.
//   node user-checks.mjs <check> <args...>
//     models <base url> <id>...               GET /v1/models lists these ids (prints the list)
//     completion <base url> <model>           a non-streamed answer in which every agent answered
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
};

if (!checks[check]) fail(`unknown check; use one of ${Object.keys(checks).join(", ")}`);
await checks[check](...args);

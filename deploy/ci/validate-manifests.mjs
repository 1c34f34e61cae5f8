// Validates deploy/kubernetes without a cluster:
//  1. every manifest against the Kubernetes OpenAPI schema (types, required fields, formats, enums), through the
//     validators that the npm package kubernetes-models compiles from that schema;
//  2. no unknown fields (a misspelt `readinessProbes` passes a plain schema check and is dropped by the API
//     server), by type-checking each object against the package's TypeScript interfaces;
//  3. what no schema sees: the objects refer to each other correctly, the probes, security settings and
//     termination grace match the gateway, and the ConfigMap's override file is JSON, mounted as a directory (so
//     that its updates reach the pods) and named by MOAGATEWAY_CONFIG.
//
//   usage: node validate-manifests.mjs <manifest dir> <repository appsettings.json> <dir with node_modules>
// The last folder must hold kubernetes-models, yaml and typescript (deploy/ci/compose-and-manifests-check.sh installs them).
import { readFileSync, readdirSync, writeFileSync, existsSync } from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";

const [manifestDir, appsettingsPath, depsDir] = process.argv.slice(2);
if (!depsDir) {
  console.error("usage: node validate-manifests.mjs <manifest dir> <appsettings.json> <deps dir>");
  process.exit(2);
}
const require = createRequire(path.join(path.resolve(depsDir), "package.json"));
const YAML = require("yaml");
const ts = require("typescript");

// The gateway's shutdown drain when configuration does not set it (MoaGateway:ShutdownDrainSeconds).
const DEFAULT_DRAIN_SECONDS = 30;
const problems = [];
const fail = (where, message) => problems.push(`${where}: ${message}`);
const report = () => {
  if (problems.length === 0) return;
  console.error(`Kubernetes manifests: ${problems.length} problem(s)`);
  for (const problem of problems) console.error(`  - ${problem}`);
  process.exit(1);
};

// --- Load: kustomization resources, plus templates (*.example.yaml) that are applied by hand.
const kustomization = YAML.parse(readFileSync(path.join(manifestDir, "kustomization.yaml"), "utf8"));
const yamlFiles = readdirSync(manifestDir).filter((f) => /\.ya?ml$/.test(f) && f !== "kustomization.yaml").sort();
for (const file of yamlFiles) {
  if (!kustomization.resources.includes(file) && !file.endsWith(".example.yaml")) {
    fail(file, "is neither listed in kustomization.yaml nor a *.example.yaml template");
  }
}
for (const file of kustomization.resources) {
  if (!existsSync(path.join(manifestDir, file))) fail("kustomization.yaml", `lists ${file}, which does not exist`);
}

const objects = [];
for (const file of yamlFiles) {
  YAML.parseAllDocuments(readFileSync(path.join(manifestDir, file), "utf8")).forEach((doc, index) => {
    const where = `${file}#${index + 1}`;
    for (const error of [...doc.errors, ...doc.warnings]) fail(where, `YAML: ${error.message}`);
    const object = doc.toJS();
    if (object) objects.push({ where, object });
  });
}

// --- 1. Schema validation.
const typed = [];
for (const { where, object } of objects) {
  const { apiVersion, kind } = object;
  let Model;
  try {
    Model = require(`kubernetes-models/${apiVersion}/${kind}`)[kind];
  } catch {
    fail(where, `unknown apiVersion/kind ${apiVersion}/${kind}`);
    continue;
  }
  typed.push({ where, object, apiVersion, kind });
  try {
    new Model(object).validate();
  } catch (error) {
    fail(where, `schema: ${error.message}`);
  }
}

// --- 2. Unknown fields: one TypeScript declaration per object, typed with the kind's interface.
const lines = [];
const origins = [];
typed.forEach(({ where, object, apiVersion, kind }, i) => {
  lines.push(`import type { I${kind} as T${i} } from "kubernetes-models/${apiVersion}/${kind}";`);
  const body = `export const o${i}: T${i} = ${JSON.stringify(object, null, 2)};`.split("\n");
  origins.push({ from: lines.length, to: lines.length + body.length, where });
  lines.push(...body);
});
const checkFile = path.join(path.resolve(depsDir), "manifests-check.ts");
writeFileSync(checkFile, lines.join("\n") + "\n");
const program = ts.createProgram([checkFile], {
  noEmit: true, strict: true, skipLibCheck: true,
  module: ts.ModuleKind.NodeNext, moduleResolution: ts.ModuleResolutionKind.NodeNext,
});
for (const diagnostic of ts.getPreEmitDiagnostics(program)) {
  const message = ts.flattenDiagnosticMessageText(diagnostic.messageText, " ");
  const line = diagnostic.file?.getLineAndCharacterOfPosition(diagnostic.start ?? 0).line ?? -1;
  const origin = origins.find((o) => line >= o.from && line < o.to);
  fail(origin?.where ?? "type check", message);
}

// The checks below read fields that only the schema guarantees, and the spec the schema leaves optional.
for (const { where, kind, object } of typed) {
  if (!["ConfigMap", "Secret"].includes(kind) && !object.spec) fail(where, "has no spec");
}
report();

// --- 3. Cross-references and gateway-specific settings.
const find = (kind) => typed.filter((t) => t.kind === kind);
const one = (kind, name) => {
  const found = find(kind).filter((t) => name === undefined || t.object.metadata?.name === name);
  if (found.length !== 1) fail("manifests", `expected one ${kind}${name ? ` named ${name}` : ""}, found ${found.length}`);
  return found[0];
};
const matches = (selector = {}, labels = {}) =>
  Object.keys(selector).length > 0 && Object.entries(selector).every(([k, v]) => labels[k] === v);

// The gateway's own objects are named moagateway; others (redis.yaml) are checked where the gateway refers to them.
const deployment = one("Deployment", "moagateway");
const service = one("Service", "moagateway");
const hpa = one("HorizontalPodAutoscaler");
const pdb = one("PodDisruptionBudget");
const configMap = one("ConfigMap");
const secret = one("Secret");

if (deployment && configMap && secret && service && hpa && pdb) {
  const d = deployment.where;
  const spec = deployment.object.spec;
  const pod = spec.template.spec;
  const podLabels = spec.template.metadata?.labels;
  const container = pod.containers.find((c) => c.name === "gateway");
  if (!container) fail(d, "has no container named gateway");

  if (!matches(spec.selector.matchLabels, podLabels)) fail(d, "selector does not match the pod template's labels");
  if (!matches(service.object.spec.selector, podLabels)) fail(service.where, "selector matches no gateway pod");
  if (!matches(pdb.object.spec.selector?.matchLabels, podLabels)) fail(pdb.where, "selector matches no gateway pod");
  if (pdb.object.spec.minAvailable !== 1) fail(pdb.where, "minAvailable should be 1");
  const target = hpa.object.spec.scaleTargetRef;
  if (target.kind !== "Deployment" || target.name !== deployment.object.metadata.name) {
    fail(hpa.where, `scaleTargetRef ${target.kind}/${target.name} is not the gateway's Deployment`);
  }
  if (!(hpa.object.spec.minReplicas >= 2)) fail(hpa.where, "minReplicas below 2 leaves no replica during a rollout or drain");
  if (!hpa.object.spec.metrics?.some((m) => m.type === "Resource" && m.resource?.name === "cpu")) {
    fail(hpa.where, "has no CPU target");
  }

  if (container) {
    const portNames = (container.ports ?? []).map((p) => p.name);
    if (!service.object.spec.ports?.length) fail(service.where, "has no ports");
    for (const port of service.object.spec.ports ?? []) {
      if (!portNames.includes(port.targetPort)) fail(service.where, `targetPort ${port.targetPort} is no container port name`);
    }
    const probePath = (probe) => probe?.httpGet?.path;
    if (probePath(container.livenessProbe) !== "/healthz") fail(d, "livenessProbe must be GET /healthz");
    if (probePath(container.readinessProbe) !== "/readyz") fail(d, "readinessProbe must be GET /readyz");
    if (container.ports?.[0]?.containerPort !== 8080) fail(d, "the gateway image listens on 8080");
    for (const probe of ["startupProbe", "livenessProbe", "readinessProbe"]) {
      if (container[probe]?.httpGet?.port !== "http") fail(d, `${probe} must use the public port (http)`);
    }

    // Prometheus scrapes the management port, which the gateway opens only when MoaGateway__Management__Port is set
    // and which no Service may expose: /metrics is for the scraper, not for clients.
    const annotations = spec.template.metadata?.annotations ?? {};
    const metricsPort = (container.ports ?? []).find((p) => p.name === "metrics")?.containerPort;
    const managementPort = (container.env ?? []).find((e) => e.name === "MoaGateway__Management__Port")?.value;
    if (annotations["prometheus.io/scrape"] === "true") {
      if (metricsPort === undefined) fail(d, "scraped, but has no container port named metrics");
      if (String(metricsPort) !== managementPort) fail(d, `port metrics (${metricsPort}) is not MoaGateway__Management__Port (${managementPort})`);
      if (annotations["prometheus.io/port"] !== String(metricsPort)) fail(d, `prometheus.io/port is not the metrics port ${metricsPort}`);
      if (annotations["prometheus.io/path"] !== "/metrics") fail(d, "prometheus.io/path must be /metrics");
    }
    for (const port of service.object.spec.ports ?? []) {
      if (port.targetPort === "metrics" || (metricsPort !== undefined && port.targetPort === metricsPort)) {
        fail(service.where, "exposes the management port; /metrics must stay off the Service");
      }
    }
    if (!container.resources?.requests || !container.resources?.limits) fail(d, "needs resource requests and limits");

    if (pod.securityContext?.runAsNonRoot !== true) fail(d, "pod securityContext needs runAsNonRoot: true");
    if (container.securityContext?.readOnlyRootFilesystem !== true) fail(d, "needs readOnlyRootFilesystem: true");
    const mounts = container.volumeMounts ?? [];
    const volume = (name) => pod.volumes?.find((v) => v.name === name);
    const tmp = mounts.find((m) => m.mountPath === "/tmp");
    if (!tmp || !volume(tmp.name)?.emptyDir) fail(d, "a read-only root needs an emptyDir at /tmp");

    // The ConfigMap as a directory (a subPath mount never sees updates), its file named by MOAGATEWAY_CONFIG.
    const configFile = (container.env ?? []).find((e) => e.name === "MOAGATEWAY_CONFIG")?.value ?? "";
    const configMount = mounts.find((m) => m.mountPath === path.posix.dirname(configFile));
    const configVolume = configMount && volume(configMount.name);
    const configKey = path.posix.basename(configFile);
    if (configVolume?.configMap?.name !== configMap.object.metadata.name || configMount.subPath) {
      fail(d, `must mount ConfigMap ${configMap.object.metadata.name} as a directory (no subPath) where MOAGATEWAY_CONFIG points`);
    }
    if (!(configKey in (configMap.object.data ?? {}))) fail(configMap.where, `has no key ${configKey}, the file MOAGATEWAY_CONFIG names`);
    const secretRefs = (container.envFrom ?? []).map((e) => e.secretRef?.name);
    if (!secretRefs.includes(secret.object.metadata.name)) fail(d, `envFrom does not use Secret ${secret.object.metadata.name}`);
    for (const [key, value] of Object.entries(secret.object.stringData ?? {})) {
      if (value !== "") fail(secret.where, `${key} must stay empty in the template: keys never go into the repository`);
    }

    // The kubelet's grace period covers the preStop hook and the drain that follows SIGTERM.
    let settings;
    try {
      settings = JSON.parse(configMap.object.data?.[configKey]);
    } catch (error) {
      fail(configMap.where, `${configKey} is not valid JSON: ${error.message}`);
    }
    const shipped = JSON.parse(readFileSync(appsettingsPath, "utf8"));
    const drain = settings?.MoaGateway?.ShutdownDrainSeconds ?? shipped.MoaGateway?.ShutdownDrainSeconds ?? DEFAULT_DRAIN_SECONDS;
    const preStop = container.lifecycle?.preStop?.exec?.command;
    const pause = preStop?.[0] === "sleep" ? Number(preStop[1]) : 0;
    if (!(pause > 0)) fail(d, "needs a preStop sleep so endpoints are removed before SIGTERM");
    const grace = pod.terminationGracePeriodSeconds ?? 30;
    if (!(grace > pause + drain)) {
      fail(d, `terminationGracePeriodSeconds ${grace} must exceed preStop ${pause} s + drain ${drain} s`);
    }

    // SharedState:Redis: no password in a ConfigMap; a host that is a Service of these manifests must reach one Redis pod.
    const redis = settings?.MoaGateway?.SharedState?.Redis;
    if (typeof redis === "string" && redis !== "") {
      if (/(^|,)\s*password\s*=/i.test(redis)) {
        fail(configMap.where, "SharedState:Redis holds a password: name that Redis in the Secret (MoaGateway__SharedState__Redis) instead");
      }
      const [host, port = "6379"] = redis.split(",")[0].trim().split(":");
      const redisService = find("Service").find((s) => s.object.metadata.name === host.split(".")[0]);
      const servicePort = redisService && (redisService.object.spec.ports ?? []).find((p) => String(p.port) === port);
      if (redisService && !servicePort) fail(redisService.where, `has no port ${port}, which SharedState:Redis names`);
      if (servicePort) checkRedisPods(redisService, servicePort);
    }
  }
}

/** The pods behind the Redis Service that SharedState:Redis names: exactly one Redis, never the gateway's own pods. */
function checkRedisPods(redisService, servicePort) {
  const selected = find("Deployment").filter((t) => matches(redisService.object.spec.selector, t.object.spec.template.metadata?.labels));
  const serving = selected.filter((t) => t.object.spec.template.spec.containers
    .some((c) => (c.ports ?? []).some((p) => p.name === servicePort.targetPort || p.containerPort === servicePort.targetPort)));
  if (serving.length === 0) fail(redisService.where, `selects no pod with the container port ${servicePort.targetPort}`);
  for (const t of selected) {
    if (t.object.metadata.name === deployment.object.metadata.name) fail(redisService.where, "selects the gateway's own pods");
    if ((t.object.spec.replicas ?? 1) !== 1) fail(t.where, "more than one Redis would split the counts: replicas must be 1");
  }
}

report();
console.log(`Kubernetes manifests valid: ${typed.map((t) => `${t.kind}/${t.object.metadata.name}`).join(", ")}`);

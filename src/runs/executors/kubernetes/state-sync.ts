/**
 * Managed Meltano state inside a run's Pod (no bucket to configure): the
 * main container's entrypoint downloads the deployment's states into
 * Meltano's local filesystem state backend (`<dir>/<state id>/state.json`,
 * as `_LocalFilesystemStateStoreManager` lays it out) before `meltano`
 * starts, runs the pipeline, and afterwards — success, failure or SIGTERM
 * (cancel, deadline): Meltano checkpoints partial progress — uploads every
 * state the pipeline wrote, by the ids Meltano itself gave them. It talks to
 * the API's `/internal/runs/<run>/states` with the run-scoped credential the
 * run's Secret holds. A deployment's own MELTANO_STATE_BACKEND_URI wins: the
 * service then mints no credential and this wrapper is not used.
 */
import type { V1EnvVar } from '@kubernetes/client-node';
import type { RunSpec } from '../executor.js';

/** Pipeline env (from the run's Secret) that switches managed state on. */
export const MANAGED_STATE_ENV = {
  token: 'MC_STATE_TOKEN',
  apiUrl: 'MC_STATE_API_URL',
} as const;

export const STATE_DIR = '/workspace/meltano-state';
const SEEN_FILE = '/workspace/meltano-state.loaded.json';

export function usesManagedState(spec: RunSpec): boolean {
  return Boolean(spec.env[MANAGED_STATE_ENV.token] && spec.env[MANAGED_STATE_ENV.apiUrl]);
}

/**
 * The helper, run with the image's Python (Meltano's image has it; no other
 * tool is assumed). `download` writes every state and remembers what it
 * wrote; `upload` sends each state.json that is new or changed. Requests are
 * retried a few times (an API rolling restart); a state that cannot be
 * stored makes the command fail, so the run says so.
 */
export const STATE_SYNC_PY = String.raw`
import json, os, sys, time, urllib.error, urllib.parse, urllib.request
base = os.environ["MC_STATE_API_URL"].rstrip("/") + "/internal/runs/" + urllib.parse.quote(os.environ["MELTANO_CLOUD_RUN_ID"], safe="") + "/states"
root, seen = os.environ["MC_STATE_DIR"], os.environ["MC_STATE_SEEN"]
def canon(value): return json.dumps(value, sort_keys=True, separators=(",", ":"))
def call(method, url, body=None):
    data = None if body is None else json.dumps(body).encode()
    headers = {"Authorization": "Bearer " + os.environ["MC_STATE_TOKEN"], "Content-Type": "application/json"}
    for attempt in range(5):
        try:
            with urllib.request.urlopen(urllib.request.Request(url, data=data, method=method, headers=headers), timeout=30) as res:
                text = res.read()
                return json.loads(text) if text else None
        except urllib.error.HTTPError as error:
            if error.code < 500 or attempt == 4: raise SystemExit("[meltano-cloud] Meltano state: %s %s answered %d: %s" % (method, url.split("/internal/")[0], error.code, error.read()[:300].decode("utf-8", "replace")))
        except OSError as error:
            if attempt == 4: raise SystemExit("[meltano-cloud] Meltano state: the API is unreachable (%s)" % error)
        time.sleep(2 ** attempt)
def usable(sid): return sid not in ("", ".", "..") and "/" not in sid and "\0" not in sid
if sys.argv[1] == "download":
    os.makedirs(root, exist_ok=True)
    loaded = {}
    for state in call("GET", base)["states"]:
        sid = state["state_id"]
        if not usable(sid): continue
        os.makedirs(os.path.join(root, sid), exist_ok=True)
        with open(os.path.join(root, sid, "state.json"), "w") as f: json.dump(state["value"], f)
        loaded[sid] = canon(state["value"])
    with open(seen, "w") as f: json.dump(loaded, f)
    print("[meltano-cloud] Meltano state: %d state(s) of this deployment loaded" % len(loaded), flush=True)
else:
    loaded = json.load(open(seen)) if os.path.exists(seen) else {}
    stored = []
    for sid in sorted(os.listdir(root)) if os.path.isdir(root) else []:
        path = os.path.join(root, sid, "state.json")
        if not os.path.isfile(path): continue
        try: value = json.load(open(path))
        except ValueError: continue
        if not isinstance(value, dict) or loaded.get(sid) == canon(value): continue
        call("PUT", base + "/" + urllib.parse.quote(sid, safe=""), {"value": value})
        stored.append(sid)
    print("[meltano-cloud] Meltano state: " + ("stored " + ", ".join(stored) if stored else "no state written"), flush=True)
`.trim();

/** Plain (non-secret) env of the main container for managed state. */
export function managedStateEnv(): V1EnvVar[] {
  return [
    { name: 'MC_STATE_DIR', value: STATE_DIR },
    { name: 'MC_STATE_SEEN', value: SEEN_FILE },
    { name: 'MELTANO_STATE_BACKEND_URI', value: `file://${STATE_DIR}` },
    { name: 'MC_STATE_SYNC_PY', value: STATE_SYNC_PY },
  ];
}

/**
 * Wraps the pipeline script: states in, the pipeline as a child (SIGTERM is
 * passed on and waited for, so a cancelled or timed-out run still stores its
 * partial state within the Pod's grace period), states out, the pipeline's
 * exit code. A successful pipeline whose state cannot be stored fails.
 */
export function withManagedState(pipelineScript: string): string {
  return [
    'python3 -c "$MC_STATE_SYNC_PY" download || exit 1',
    `/bin/sh -c ${shellQuoteForWrapper(pipelineScript)} &`,
    'child=$!',
    `trap 'kill -TERM "$child" 2>/dev/null' TERM INT`,
    'wait "$child"; code=$?',
    // wait returns early (>128) when a trapped signal arrives: wait for the pipeline itself.
    'while kill -0 "$child" 2>/dev/null; do wait "$child"; code=$?; done',
    'python3 -c "$MC_STATE_SYNC_PY" upload || { [ "$code" -ne 0 ] || code=1; }',
    'exit "$code"',
  ].join('\n');
}

function shellQuoteForWrapper(value: string): string {
  return `'${value.replace(/'/g, `'\\''`)}'`;
}

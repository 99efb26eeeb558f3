#!/bin/sh
# scripts/demo.sh - a five-node Shoal mesh on loopback, shown and cleaned up.
#
# Run by `make demo` (SHOAL_BIN=build/rel). It generates a cluster keyring,
# generates a root signing key, gives every site its own simulated
# Kubernetes cluster (tests/fakekube: a fake API server over HTTPS whose
# controller marks pods running; no container runs), starts DEMO_NODES (5)
# shoald on 127.0.0.1 with the fast test profile trusting the key, waits
# until every node sees every other alive, prints `shoalctl members`, signs
# an App intent (a Deployment, a Service and a ConfigMap) and submits it to
# one node, shows it arriving on every node, its objects landing in the
# clusters of the sites it selects and nowhere else, each of those sites
# reporting it ready (GET /v1/self/intents), the fleet's status from a site
# the intent does not select (shoalctl wait, shoalctl status: every site's
# replicated health record), shows a crash being detected (shoalctl top sites),
# deletes the intent (pruned from every cluster), and stops everything. A
# trap kills every process this script started and removes its temporary
# directory, however the script ends (error, Ctrl-C, SIGTERM).
#
# DEMO_KUBECONFIG=PATH (or KUBECONFIG=PATH) puts site-1 on that real cluster
# instead of a simulated one; the demo's objects go to namespace shoal-demo
# and are pruned again before the demo ends.
#
# POSIX sh: `make demo` runs it with `sh`, which is dash on Debian.
set -eu

N=${DEMO_NODES:-5}
PROFILE=${DEMO_PROFILE:-fast}
BIN=${SHOAL_BIN:-build/rel}
case $BIN in /*) ;; *) BIN=$(pwd)/$BIN ;; esac
SHOALD=$BIN/shoald
SHOALCTL=$BIN/shoalctl
PY=/usr/bin/python3
[ -x "$PY" ] || PY=python3
REPO=$(cd "$(dirname "$0")/.." && pwd)
REAL_KC=${DEMO_KUBECONFIG:-${KUBECONFIG:-}}
REAL_KC=${REAL_KC%%:*} # the first file of a KUBECONFIG list, as shoald reads it

for b in "$SHOALD" "$SHOALCTL"; do
	if [ ! -x "$b" ]; then
		echo "demo: $b is not built (run: make)" >&2
		exit 1
	fi
done

if [ -d /dev/shm ] && [ -w /dev/shm ]; then root=/dev/shm; else root=${TMPDIR:-/tmp}; fi
TMP=$(mktemp -d "$root/shoal-demo.XXXXXX")
PIDS=""

cleanup() {
	status=$?
	trap - EXIT INT TERM
	if [ -n "$PIDS" ]; then
		# Graceful first (SIGTERM = leave the mesh), then no mercy.
		for p in $PIDS; do kill -TERM "$p" 2>/dev/null || true; done
		i=0
		while [ $i -lt 50 ]; do
			alive=""
			for p in $PIDS; do kill -0 "$p" 2>/dev/null && alive="$alive $p"; done
			[ -z "$alive" ] && break
			sleep 0.1
			i=$((i + 1))
		done
		for p in $PIDS; do kill -KILL "$p" 2>/dev/null || true; done
		wait 2>/dev/null || true
	fi
	if [ $status -ne 0 ] && [ -d "$TMP" ]; then
		for f in "$TMP"/*.err; do
			[ -s "$f" ] && { echo "--- $f"; tail -n 20 "$f"; }
		done >&2
	fi
	rm -rf "$TMP"
	exit $status
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# ---- ports: gossip 7600+i, API 7680+i, moved up by 1000 while any is taken --
port_taken() {
	if command -v ss >/dev/null 2>&1; then
		[ -n "$(ss -Htuln "sport = :$1" 2>/dev/null)" ]
	else
		return 1
	fi
}
GOSSIP_BASE=7600
API_BASE=7680
tries=0
while :; do
	busy=""
	i=1
	while [ $i -le "$N" ]; do
		port_taken $((GOSSIP_BASE + i)) && busy=y
		port_taken $((API_BASE + i)) && busy=y
		i=$((i + 1))
	done
	[ -z "$busy" ] && break
	tries=$((tries + 1))
	if [ $tries -ge 20 ]; then
		echo "demo: no free ports found" >&2
		exit 1
	fi
	GOSSIP_BASE=$((GOSSIP_BASE + 1000))
	API_BASE=$((API_BASE + 1000))
done
api() { echo "127.0.0.1:$((API_BASE + $1))"; }
# Milliseconds since the epoch (GNU date; whole seconds elsewhere).
now_ms() {
	t=$(date +%s%3N)
	case $t in
	*N*) echo $(($(date +%s) * 1000)) ;;
	*) echo "$t" ;;
	esac
}
elapsed() { echo "$(($(now_ms) - $1))" | awk '{ printf "%.1f", $1 / 1000 }'; }

# ---- keyring and nodes ------------------------------------------------------
echo "== generating a cluster key (shoalctl keyring generate)"
"$SHOALCTL" keyring generate >"$TMP/keyring.master"
chmod 600 "$TMP/keyring.master"

echo "== generating a root signing key (shoalctl keygen); every node trusts it"
"$SHOALCTL" keygen --out "$TMP/root" >/dev/null

# ---- one Kubernetes cluster per site ------------------------------------------
echo "== giving every site its own Kubernetes cluster"
echo "   NOTE: these clusters are SIMULATED by tests/fakekube, a fake Kubernetes API server"
echo "   (real HTTPS, server-side apply, watches); its controller marks pods running after"
echo "   1 s. No container actually runs."
i=1
while [ $i -le "$N" ]; do
	if [ $i -eq 1 ] && [ -n "$REAL_KC" ]; then
		if [ ! -r "$REAL_KC" ]; then
			echo "demo: cannot read the kubeconfig $REAL_KC" >&2
			exit 1
		fi
		echo "   site-1: the REAL cluster of $REAL_KC (its current context)"
		i=$((i + 1))
		continue
	fi
	"$PY" "$REPO/tests/fakekube/fakekube.py" --port 0 --dir "$TMP/kube-$i" --controller \
		--ready-delay 1 >"$TMP/kube-$i.out" 2>"$TMP/kube-$i.err" &
	PIDS="$PIDS $!"
	i=$((i + 1))
done
i=1
while [ $i -le "$N" ]; do
	if [ $i -eq 1 ] && [ -n "$REAL_KC" ]; then
		i=$((i + 1))
		continue
	fi
	start=$(now_ms)
	while [ ! -s "$TMP/kube-$i.out" ]; do
		if [ $(($(now_ms) - start)) -ge 30000 ]; then
			echo "demo: fakekube for site-$i did not start" >&2
			cat "$TMP/kube-$i.err" >&2
			exit 1
		fi
		sleep 0.1
	done
	echo "   site-$i: simulated cluster at https://127.0.0.1:$(cat "$TMP/kube-$i/port")"
	i=$((i + 1))
done
kubeconfig_of() {
	if [ "$1" -eq 1 ] && [ -n "$REAL_KC" ]; then echo "$REAL_KC"; else echo "$TMP/kube-$1/kubeconfig"; fi
}

regions="eu-west eu-west us-east us-east ap-south"
# Where each site stands on the dashboard's map (lat lon): Dublin, Frankfurt,
# Virginia, Oregon, Singapore.
geos="53.35,-6.26 50.11,8.68 38.03,-78.48 45.52,-122.68 1.35,103.82"
echo "== starting $N shoald on 127.0.0.1 (profile $PROFILE), data under $TMP"
i=1
while [ $i -le "$N" ]; do
	name=site-$i
	region=$(echo "$regions" | cut -d' ' -f$(((i - 1) % 5 + 1)))
	geo=$(echo "$geos" | cut -d' ' -f$(((i - 1) % 5 + 1)))
	cp "$TMP/keyring.master" "$TMP/$name.keyring" # each node rewrites its own
	set -- --name "$name" --bind "127.0.0.1:$((GOSSIP_BASE + i))" --api "$(api $i)" \
		--data-dir "$TMP/$name" --keyring "$TMP/$name.keyring" --profile "$PROFILE" \
		--label "region=$region" --label "tier=demo" --trust "$TMP/root.pub" \
		--kubeconfig "$(kubeconfig_of $i)" \
		--annotation "geo.shoal.io/lat=${geo%,*}" --annotation "geo.shoal.io/lon=${geo#*,}"
	[ $i -gt 1 ] && set -- "$@" --join "127.0.0.1:$((GOSSIP_BASE + 1))"
	mkdir -p "$TMP/$name"
	"$SHOALD" "$@" >"$TMP/$name.log" 2>"$TMP/$name.err" &
	PIDS="$PIDS $!"
	last_pid=$!
	echo "   $name  gossip 127.0.0.1:$((GOSSIP_BASE + i))  api $(api $i)  pid $!"
	i=$((i + 1))
done

# ---- wait until every node sees all N alive (bounded) -----------------------
alive_seen_by() {
	"$SHOALCTL" members --node "$(api "$1")" --timeout 2000 2>/dev/null |
		awk 'NR > 1 && $3 == "alive"' | wc -l
}
echo "== waiting for the mesh to converge"
start=$(now_ms)
while :; do
	done_nodes=0
	i=1
	while [ $i -le "$N" ]; do
		[ "$(alive_seen_by $i)" -eq "$N" ] && done_nodes=$((done_nodes + 1))
		i=$((i + 1))
	done
	[ $done_nodes -eq "$N" ] && break
	if [ $(($(now_ms) - start)) -ge 30000 ]; then
		echo "demo: the mesh did not converge within 30 s" >&2
		exit 1
	fi
	sleep 0.2
done
echo "   converged in $(elapsed "$start") s: every node sees $N alive"
echo
echo "\$ shoalctl members --node $(api 1)"
"$SHOALCTL" members --node "$(api 1)"
echo
echo "\$ shoalctl keyring list --node $(api 3)"
"$SHOALCTL" keyring list --node "$(api 3)"

# ---- an intent, signed once, held by every node ------------------------------
cat >"$TMP/kuard.yaml" <<'YAML'
apiVersion: shoal.io/v1
kind: App
metadata: {name: kuard}
spec:
  target: {selector: "region in (eu-west,us-east)"}
  strategy: {maxUnavailable: 1}
  namespace: shoal-demo
  manifests: |
    apiVersion: v1
    kind: ConfigMap
    metadata: {name: kuard-config}
    data: {color: blue}
    ---
    apiVersion: apps/v1
    kind: Deployment
    metadata:
      name: kuard
    spec:
      replicas: 2
      selector: {matchLabels: {app: kuard}}
      template:
        metadata: {labels: {app: kuard}}
        spec:
          containers:
          - name: kuard
            image: gcr.io/kuar-demo/kuard-amd64:blue
            envFrom: [{configMapRef: {name: kuard-config}}]
    ---
    apiVersion: v1
    kind: Service
    metadata: {name: kuard}
    spec:
      selector: {app: kuard}
      ports: [{port: 80, targetPort: 8080}]
YAML
echo
echo "== an App intent, signed with the root key and submitted to site-2 only"
echo "\$ shoalctl apply -f kuard.yaml --key root.key --node $(api 2)"
start=$(now_ms)
"$SHOALCTL" apply -f "$TMP/kuard.yaml" --key "$TMP/root.key" --node "$(api 2)"
holders() {
	h=0
	i=1
	while [ $i -le "$N" ]; do
		"$SHOALCTL" get intents --node "$(api $i)" -o json 2>/dev/null |
			grep -q '"name": *"kuard"' && h=$((h + 1))
		i=$((i + 1))
	done
	echo $h
}
while [ "$(holders)" -lt "$N" ]; do
	if [ $(($(now_ms) - start)) -ge 30000 ]; then
		echo "demo: the intent did not reach every node within 30 s" >&2
		exit 1
	fi
	sleep 0.1
done
echo "   on all $N nodes within $(elapsed "$start") s (verified against the root key at each)"
i=1
while [ $i -le "$N" ]; do
	echo "\$ shoalctl get intents --node $(api $i)"
	"$SHOALCTL" get intents --node "$(api $i)"
	i=$((i + 1))
done

# ---- the intent takes effect: each selected site applies it to its cluster ------
# site_intents I: "state pods reason" of kuard in site I's GET /v1/self/intents
# ("none" when the site does not work on it).
site_intents() {
	"$PY" - "$(api "$1")" <<'PY'
import json, sys, urllib.request
body = json.load(urllib.request.urlopen(f"http://{sys.argv[1]}/v1/self/intents", timeout=3))
for it in body["intents"]:
    if it["kind"] == "App" and it["name"] == "kuard":
        pods = ",".join(f"{k}={v}" for k, v in it["pods"].items() if v) or "-"
        print(it["state"], pods, it["reason"] or "-")
        break
else:
    print("none")
PY
}
# cluster_objects I: the kuard objects in site I's cluster, as kubectl would list them.
cluster_objects() {
	if [ "$1" -eq 1 ] && [ -n "$REAL_KC" ]; then
		if command -v kubectl >/dev/null 2>&1; then
			kubectl --kubeconfig "$REAL_KC" -n shoal-demo get deploy,svc,cm 2>&1 | sed 's/^/      /'
		else
			echo "      (kubectl not installed; GET /v1/self/intents above is site-1's word)"
		fi
		return
	fi
	"$PY" - "$TMP/kube-$1" <<'PY'
import json, ssl, sys, urllib.request
d = sys.argv[1]
port = open(d + "/port").read().strip()
token = open(d + "/token").read().strip()
ctx = ssl.create_default_context(cafile=d + "/ca.crt")
def get(path):
    req = urllib.request.Request(f"https://127.0.0.1:{port}{path}",
                                 headers={"Authorization": "Bearer " + token})
    return json.load(urllib.request.urlopen(req, context=ctx, timeout=3))["items"]
rows = []
for path, kind in (("/apis/apps/v1/namespaces/shoal-demo/deployments", "deployment"),
                   ("/api/v1/namespaces/shoal-demo/services", "service"),
                   ("/api/v1/namespaces/shoal-demo/configmaps", "configmap")):
    for o in get(path):
        if "applyset.kubernetes.io/part-of" not in o["metadata"].get("labels", {}):
            continue
        extra = ""
        if kind == "deployment":
            st = o.get("status", {})
            extra = f"  ready {st.get('readyReplicas', 0)}/{o['spec'].get('replicas', 1)}"
        rows.append(f"      {kind}/{o['metadata']['name']}{extra}")
print("\n".join(rows) if rows else "      (nothing of kuard)")
PY
}
selected="1 2 3 4" # region in (eu-west,us-east)
echo
echo "== each site applies it to its own cluster only if the intent selects the site"
start=$(now_ms)
for i in $selected; do
	while :; do
		state=$(site_intents $i | cut -d' ' -f1)
		[ "$state" = ready ] && break
		if [ $(($(now_ms) - start)) -ge 60000 ]; then
			echo "demo: kuard not ready on site-$i within 60 s: $(site_intents $i)" >&2
			exit 1
		fi
		sleep 0.2
	done
done
echo "   ready on sites $selected within $(elapsed "$start") s of the apply"
i=1
while [ $i -le "$N" ]; do
	region=$(echo "$regions" | cut -d' ' -f$(((i - 1) % 5 + 1)))
	echo "   site-$i (region=$region): GET /v1/self/intents -> kuard $(site_intents $i)"
	cluster_objects $i
	i=$((i + 1))
done

# ---- the fleet's view, from a site the intent does not select ----------------
echo
echo "== the whole fleet from any node: site-$N (not selected) answers from the sites' health records"
echo "\$ shoalctl wait App/kuard --for ready --node $(api "$N")"
"$SHOALCTL" wait App/kuard --for ready --timeout 60s --node "$(api "$N")"
echo "\$ shoalctl status --node $(api "$N")"
"$SHOALCTL" status --node "$(api "$N")"

# ---- a crash, detected by the others ----------------------------------------
victim=$N
victim_pid=$last_pid
echo
echo "== kill -9 site-$victim (pid $victim_pid); the others detect it"
kill -KILL "$victim_pid"
start=$(now_ms)
while :; do
	state=$("$SHOALCTL" members --node "$(api 1)" --timeout 2000 2>/dev/null |
		awk -v n="site-$victim" '$1 == n { print $3 }')
	[ "$state" = dead ] && break
	if [ $(($(now_ms) - start)) -ge 30000 ]; then
		echo "demo: site-$victim not seen dead within 30 s (state: $state)" >&2
		exit 1
	fi
	sleep 0.2
done
echo "   site-1 sees it dead after $(elapsed "$start") s"
echo "\$ shoalctl members --node $(api 2)"
"$SHOALCTL" members --node "$(api 2)"
echo "\$ shoalctl top sites --node $(api 2)"
"$SHOALCTL" top sites --node "$(api 2)"

# ---- the intent deleted: pruned from every cluster ---------------------------
echo
echo "== shoalctl delete App kuard: every selected site prunes what it applied"
echo "\$ shoalctl delete App kuard --key root.key --node $(api 1)"
"$SHOALCTL" delete App kuard --key "$TMP/root.key" --node "$(api 1)"
start=$(now_ms)
for i in $selected; do
	while [ "$(site_intents $i)" != none ]; do
		if [ $(($(now_ms) - start)) -ge 60000 ]; then
			echo "demo: kuard not pruned from site-$i within 60 s" >&2
			exit 1
		fi
		sleep 0.2
	done
done
echo "   pruned from sites $selected within $(elapsed "$start") s; site-2's cluster now holds:"
cluster_objects 2

echo
echo "== done; stopping the mesh"

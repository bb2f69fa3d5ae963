#!/usr/bin/env bash
# taosim sweep on Kubernetes: fills in the two Job templates beside this script (the shard
# count N is set here, once), creates the sweep's ConfigMap, runs the shards' Indexed Job,
# waits until it is complete or has failed, then runs the merge Job and waits for it.
#
#   kubectl apply -f deploy/k8s/taosim-sweeps-pvc.yaml     # once per cluster (edit its class)
#   SWEEP=scenarios/sweeps/halving-timing.toml IMAGE=registry.example.com/taosim:abc123 \
#     SHARDS=16 bash deploy/k8s/taosim-sweep.sh
#
# Settings (environment variables):
#   SWEEP      the sweep file (required); `base = "../X.toml"` names the image's
#              /opt/taosim/scenarios/X.toml, as for the sweeps in scenarios/sweeps/
#   IMAGE      the image with taosim, built from the Dockerfile (required)
#   SHARDS     N, the number of shards: the Job's completions (default 8)
#   PARALLEL   shard pods at once (default: SHARDS)
#   CPUS       CPUs requested by each shard pod, used as its sweep threads (default 1)
#   SWEEP_ID   names the Jobs (taosim-sweep-ID, taosim-merge-ID), the ConfigMap and the folder
#              /data/ID on the volume: lower-case letters, digits and '-', at most 40
#              (default: the sweep file's name and the UTC time, e.g. halving-timing-20261206-071500)
#   TIMEOUT_S  seconds to wait for the shards (default 21600: 6 h); MERGE_TIMEOUT_S (default 3600)
#   POLL_S     seconds between two looks at a Job's status (default 10)
#   KUBECTL    the kubectl command (default kubectl), e.g. KUBECTL="kubectl --namespace sims"
#   RENDER_ONLY=DIR  only write the filled-in Jobs into DIR (no cluster needed)
#
# Waiting ends as soon as a Job has failed (condition Failed or FailureTarget), not at the
# timeout: exit 1, naming the Job and the commands that show why. A shard pod that exits 2 (bad
# input) fails its index at once; other failures are retried 3 times per index. Completed runs
# stay on the volume: run again with the same SWEEP_ID, SWEEP and SHARDS to resume (the old Jobs
# of that SWEEP_ID are replaced). Bad settings exit 2 before anything is created.
set -euo pipefail

die() {
  echo "error: $*" >&2
  exit 2
}

failed() {
  echo "error: $*" >&2
  exit 1
}

positive() { # NAME VALUE
  [[ $2 =~ ^[1-9][0-9]*$ ]] || die "$1 must be a whole number >= 1 (got '$2')"
}

here=$(dirname "$0")
[[ -n ${SWEEP:-} ]] || die "set SWEEP to the sweep file"
[[ -f $SWEEP ]] || die "SWEEP=$SWEEP: no such file"
image=${IMAGE:-}
[[ -n $image ]] || die "set IMAGE to an image with taosim (docker build -t NAME . at the repository root)"
[[ $image =~ ^[A-Za-z0-9][A-Za-z0-9._/:@-]*$ ]] || die "IMAGE=$image is not an image reference"
shards=${SHARDS:-8}
positive SHARDS "$shards"
parallel=${PARALLEL:-$shards}
positive PARALLEL "$parallel"
cpus=${CPUS:-1}
positive CPUS "$cpus"
timeout_s=${TIMEOUT_S:-21600}
positive TIMEOUT_S "$timeout_s"
merge_timeout_s=${MERGE_TIMEOUT_S:-3600}
positive MERGE_TIMEOUT_S "$merge_timeout_s"
poll_s=${POLL_S:-10}
positive POLL_S "$poll_s"
if [[ -n ${SWEEP_ID:-} ]]; then
  sweep_id=$SWEEP_ID
else
  stem=$(basename "$SWEEP" .toml | tr '[:upper:]' '[:lower:]' | sed -e 's/[^a-z0-9]/-/g' -e 's/^-*//')
  sweep_id="${stem:0:24}-$(date -u +%Y%m%d-%H%M%S)"
  sweep_id=${sweep_id#-}
fi
[[ $sweep_id =~ ^[a-z0-9]([a-z0-9-]{0,38}[a-z0-9])?$ ]] ||
  die "SWEEP_ID=$sweep_id: use lower-case letters, digits and '-' (not first or last), at most 40"

sweep_job="taosim-sweep-$sweep_id"
merge_job="taosim-merge-$sweep_id"
config="taosim-sweep-$sweep_id"

render() { # TEMPLATE OUTPUT
  sed -e "s|\${SWEEP_ID}|$sweep_id|g" -e "s|\${SHARDS}|$shards|g" -e "s|\${PARALLEL}|$parallel|g" \
    -e "s|\${CPUS}|$cpus|g" -e "s|\${IMAGE}|$image|g" "$1" >"$2"
  if grep -nE '\$\{[A-Z_]+\}' "$2" >&2; then die "$1: a placeholder above was not filled in"; fi
}

if [[ -n ${RENDER_ONLY:-} ]]; then
  mkdir -p "$RENDER_ONLY"
  render "$here/taosim-sweep-job.yaml" "$RENDER_ONLY/$sweep_job.yaml"
  render "$here/taosim-sweep-merge.yaml" "$RENDER_ONLY/$merge_job.yaml"
  echo "wrote $RENDER_ONLY/$sweep_job.yaml and $RENDER_ONLY/$merge_job.yaml; the ConfigMap is:"
  echo "  kubectl create configmap $config --from-file=sweep.toml=$SWEEP"
  exit 0
fi

read -r -a kubectl <<<"${KUBECTL:-kubectl}"
command -v "${kubectl[0]}" >/dev/null || die "${kubectl[0]} not found: install kubectl or set KUBECTL"
if command -v "${TAOSIM:-taosim}" >/dev/null; then
  "${TAOSIM:-taosim}" check "$SWEEP" >/dev/null # bad sweep: its error and exit 2 here
fi
"${kubectl[@]}" get pvc taosim-sweeps -o name >/dev/null ||
  die "no PersistentVolumeClaim taosim-sweeps: set its storageClassName and kubectl apply -f $here/taosim-sweeps-pvc.yaml"

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
render "$here/taosim-sweep-job.yaml" "$work/sweep-job.yaml"
render "$here/taosim-sweep-merge.yaml" "$work/merge-job.yaml"
"${kubectl[@]}" create configmap "$config" --from-file=sweep.toml="$SWEEP" --dry-run=client -o yaml \
  >"$work/configmap.yaml"

# Waits for job/NAME to complete; exit 1 as soon as it has failed, or after TIMEOUT seconds.
wait_job() { # NAME TIMEOUT
  local name=$1 deadline=$((SECONDS + $2)) conditions
  local why="kubectl describe job/$name; kubectl logs -l job-name=$name --tail=50 --prefix"
  while true; do
    conditions=$("${kubectl[@]}" get job "$name" \
      -o jsonpath='{range .status.conditions[?(@.status=="True")]}{.type}{" "}{end}') ||
      failed "cannot read the status of job/$name"
    case " $conditions " in
      *" Complete "*) return 0 ;;
      *" Failed "* | *" FailureTarget "*)
        failed "job/$name failed (see: $why). Completed runs are kept in /data/$sweep_id; resume with SWEEP_ID=$sweep_id and the same SWEEP and SHARDS" ;;
    esac
    ((SECONDS < deadline)) ||
      failed "job/$name is not complete after $2 s (pods Pending or still running; see: $why). Raise TIMEOUT_S, or resume later with SWEEP_ID=$sweep_id"
    sleep "$poll_s"
  done
}

"${kubectl[@]}" delete job "$sweep_job" "$merge_job" --ignore-not-found >/dev/null
"${kubectl[@]}" apply -f "$work/configmap.yaml" >/dev/null
"${kubectl[@]}" apply -f "$work/sweep-job.yaml" >/dev/null
echo "job/$sweep_job: $shards shards of $SWEEP into /data/$sweep_id (waiting up to $timeout_s s)"
wait_job "$sweep_job" "$timeout_s"
"${kubectl[@]}" apply -f "$work/merge-job.yaml" >/dev/null
echo "job/$merge_job: merging into /data/$sweep_id/merged (waiting up to $merge_timeout_s s)"
wait_job "$merge_job" "$merge_timeout_s"
echo "merged: /data/$sweep_id/merged on the volume taosim-sweeps"

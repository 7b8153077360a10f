#!/usr/bin/env bash
# Side-by-side benchmark of the release binary against Terraform, through the
# command line as users run them (issue 17). Not part of the test suite.
#
#   bash scripts/bench-vs-terraform.sh [SIZES...]      default: 1000 10000
#
# For each size N it generates, in a scratch directory:
#   - N chained data resources: resource i's input is resource i/10's id
#     (stackc: `stackc_data`; Terraform: `terraform_data`, which needs no
#     provider download), and times, for both tools: the check (`stackc
#     check` / `terraform validate`), the plan from no state, the apply, and
#     the no-op plan against the full state;
#   - N `service` instances (every tenth with autoscale), and times `stackc
#     build --target kubernetes` (manifest files: into an empty directory,
#     and again into the same one) and `--format json`.
# Each figure is the best of RUNS runs (default 3; plans and checks only,
# applies run once), with peak resident memory from GNU time. Ratios are
# Terraform's time over stackc's. Terraform columns are left empty when
# `terraform` is not on the PATH. TF_APPLY_MAX (default 1000) bounds the
# sizes at which Terraform's apply is run (10k takes minutes). STACKC names
# another binary to measure (default: builds and uses target/release/stackc).
set -euo pipefail
cd "$(dirname "$0")/.."

SIZES=("$@")
[ ${#SIZES[@]} -eq 0 ] && SIZES=(1000 10000)
RUNS="${RUNS:-3}"
TF_APPLY_MAX="${TF_APPLY_MAX:-1000}"

if [ ! -x /usr/bin/time ]; then
  echo "bench-vs-terraform: needs GNU time (/usr/bin/time; Debian package 'time')" >&2
  exit 1
fi
if [ -z "${STACKC:-}" ]; then
  cargo build --release --quiet
  STACKC="$PWD/target/release/stackc"
fi
HAVE_TF=
if command -v terraform >/dev/null 2>&1; then HAVE_TF=1; fi

WORK=$(mktemp -d "${TMPDIR:-/tmp}/stackc-bench.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
export TF_IN_AUTOMATION=1 CHECKPOINT_DISABLE=1 TF_CLI_CONFIG_FILE=/dev/null

# measure DIR CMD...: runs the command in DIR (output discarded), prints
# "seconds peak_kib"; fails loudly when the command fails.
measure() {
  local dir="$1"
  shift
  local out
  out=$(cd "$dir" && /usr/bin/time -f '%e %M' "$@" 2>&1 >/dev/null | tail -n 1) || {
    echo "bench-vs-terraform: failed in $dir: $*" >&2
    (cd "$dir" && "$@" >&2) || true
    exit 1
  }
  echo "$out"
}

# best DIR CMD...: the best (lowest time) of $RUNS runs, with that run's peak.
best() {
  local best_t= best_m= t m i
  for i in $(seq 1 "$RUNS"); do
    read -r t m < <(measure "$@")
    if [ -z "$best_t" ] || awk -v a="$t" -v b="$best_t" 'BEGIN { exit !(a < b) }'; then
      best_t=$t
      best_m=$m
    fi
  done
  echo "$best_t $best_m"
}

gen_chain() {
  local n="$1" dir="$2" i
  mkdir -p "$dir/stackc" "$dir/tf"
  {
    echo 'resource "stackc_data" "n0" {'
    echo '  input = "root"'
    echo '}'
    for ((i = 1; i < n; i++)); do
      printf 'resource "stackc_data" "n%d" {\n  input = stackc_data.n%d.id\n}\n' "$i" $((i / 10))
    done
  } >"$dir/stackc/main.stack.hcl"
  {
    echo 'resource "terraform_data" "n0" {'
    echo '  input = "root"'
    echo '}'
    for ((i = 1; i < n; i++)); do
      printf 'resource "terraform_data" "n%d" {\n  input = terraform_data.n%d.id\n}\n' "$i" $((i / 10))
    done
  } >"$dir/tf/main.tf"
}

gen_services() {
  local n="$1" dir="$2" i
  mkdir -p "$dir"
  {
    echo 'target "kubernetes" {}'
    for ((i = 0; i < n; i++)); do
      printf 'service "s%d" {\n  image = "registry.example/app:1"\n  port  = 8080\n' "$i"
      if ((i % 10 == 0)); then
        printf '  autoscale = { min = 2, max = 6, cpu_target = 70 }\n'
      fi
      printf '}\n'
    done
  } >"$dir/main.stack.hcl"
}

row() { # name stackc_t stackc_m tf_t tf_m
  local ratio="" mem_ratio=""
  if [ -n "$4" ]; then
    ratio=$(awk -v a="$4" -v b="$2" 'BEGIN { if (b > 0) printf "%.0fx", a / b; else print "inf" }')
    mem_ratio=$(awk -v a="$3" -v b="$5" 'BEGIN { printf "%.2f", a / b }')
  fi
  printf '%-26s %9s %9s %9s %9s %8s %9s\n' "$1" "$2" "$(($3 / 1024))" "${4:--}" \
    "$([ -n "$5" ] && echo $(($5 / 1024)) || echo -)" "${ratio:--}" "${mem_ratio:--}"
}

echo "stackc $("$STACKC" --version | head -n 1)${HAVE_TF:+; $(terraform version | head -n 1)}; best of $RUNS"
printf '%-26s %9s %9s %9s %9s %8s %9s\n' measure "stackc_s" "stackc_MB" "tf_s" "tf_MB" "tf/stackc" "mem_ratio"
for n in "${SIZES[@]}"; do
  dir="$WORK/chain-$n"
  gen_chain "$n" "$dir"
  S="$dir/stackc"
  T="$dir/tf"
  tf_check=("" "") tf_plan=("" "") tf_apply=("" "") tf_noop=("" "")
  read -r s_check_t s_check_m < <(best "$S" "$STACKC" check .)
  read -r s_plan_t s_plan_m < <(best "$S" "$STACKC" plan .)
  read -r s_apply_t s_apply_m < <(measure "$S" "$STACKC" apply . --auto-approve)
  read -r s_noop_t s_noop_m < <(best "$S" "$STACKC" plan .)
  if [ -n "$HAVE_TF" ]; then
    (cd "$T" && terraform init -input=false >/dev/null)
    read -r -a tf_check < <(best "$T" terraform validate)
    read -r -a tf_plan < <(best "$T" terraform plan -input=false -lock=false)
    if [ "$n" -le "$TF_APPLY_MAX" ]; then
      read -r -a tf_apply < <(measure "$T" terraform apply -input=false -auto-approve)
      read -r -a tf_noop < <(best "$T" terraform plan -input=false -lock=false)
    fi
  fi
  row "check ${n}" "$s_check_t" "$s_check_m" "${tf_check[0]:-}" "${tf_check[1]:-}"
  row "plan ${n}" "$s_plan_t" "$s_plan_m" "${tf_plan[0]:-}" "${tf_plan[1]:-}"
  row "apply ${n}" "$s_apply_t" "$s_apply_m" "${tf_apply[0]:-}" "${tf_apply[1]:-}"
  row "no-op plan ${n}" "$s_noop_t" "$s_noop_m" "${tf_noop[0]:-}" "${tf_noop[1]:-}"

  sdir="$WORK/services-$n"
  gen_services "$n" "$sdir"
  # Into a new, empty directory each run (a build leaves unchanged
  # manifests alone, so a rebuild into the same directory is cheaper), then
  # again into the last run's directory: the rebuild.
  read -r b_t b_m < <(best "$sdir" bash -c 'exec "$0" build . --target kubernetes -o "$(mktemp -d -p .)"' "$STACKC")
  last=$(ls -td "$sdir"/tmp.* | head -n 1)
  read -r r_t r_m < <(best "$sdir" "$STACKC" build . --target kubernetes -o "$last")
  read -r j_t j_m < <(best "$sdir" "$STACKC" build . --target kubernetes --format json)
  row "build k8s ${n} services" "$b_t" "$b_m" "" ""
  row "rebuild k8s ${n} services" "$r_t" "$r_m" "" ""
  row "build json ${n} services" "$j_t" "$j_m" "" ""
done

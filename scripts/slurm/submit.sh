#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
#
# Runs one snapsim campaign as a Slurm job array of shards plus a merge (docs/slurm.md).
#
#   scripts/slurm/submit.sh OUTDIR N [campaign flags...]
#
# Submits three jobs and prints their ids:
#   - an array of N tasks; task I runs `snapsim campaign FLAGS --shard I/N --out OUTDIR/shard-I`
#     (requeueable: a preempted or requeued task resumes its shard where it stopped);
#   - a merge job (afterok on the array): `snapsim report merge OUTDIR/merged OUTDIR/shard-0 ...`;
#   - a check job (afterany on the array): says which tasks failed and how to rerun them, and
#     cancels the merge job, which afterok would otherwise leave pending for ever.
# The job scripts, their output and each task's exit status are in OUTDIR/slurm/.
#
# Submitting the same command again (same N and flags) to the same OUTDIR resumes every shard.
#
# Settings (environment):
#   SNAPSIM             the snapsim binary (default: snapsim on PATH, else build-rel/cli/snapsim
#                       or build/cli/snapsim in this checkout); it, the scenario files and OUTDIR
#                       must be at the same paths on the compute nodes
#   SNAPSIM_SLURM_CPUS  CPUs per task, also the campaign's --jobs unless FLAGS give one (default 1)
#   SNAPSIM_SBATCH_ARGS extra sbatch options for all three jobs, split on whitespace
#                       (e.g. "--partition=long --time=7:00:00 --account=storage")
#   sbatch's own SBATCH_PARTITION, SBATCH_TIMELIMIT, SBATCH_ACCOUNT, SBATCH_QOS, ... apply too.
# Exit status: 0 submitted, 1 sbatch refused a job, 2 bad arguments or settings.
set -euo pipefail

prog=submit.sh
usage() {
  cat <<'EOF'
usage: scripts/slurm/submit.sh OUTDIR N [campaign flags...]
Submits a Slurm job array of N tasks (task I: snapsim campaign FLAGS --shard I/N --out
OUTDIR/shard-I), a merge job into OUTDIR/merged after all tasks succeed, and a check job that
reports failed tasks. Prints the job ids; details in docs/slurm.md.
Environment: SNAPSIM, SNAPSIM_SLURM_CPUS (default 1), SNAPSIM_SBATCH_ARGS, SBATCH_* of sbatch.
EOF
}
die() {  # one line on stderr, exit 2
  echo "$prog: $*" >&2
  exit 2
}

if [ $# -ge 1 ] && { [ "$1" = "-h" ] || [ "$1" = "--help" ]; }; then
  usage
  exit 0
fi
[ $# -ge 2 ] || die "needs OUTDIR and N (see --help)"
outdir_arg=$1
tasks=$2
shift 2
flags=("$@")

[ -n "$outdir_arg" ] || die "OUTDIR is empty"
# Slurm reads the output paths from #SBATCH lines (split on blanks, % is a pattern).
[[ "$outdir_arg" != *[[:space:]%]* ]] || die "OUTDIR must not contain blanks or %: '$outdir_arg'"
[[ "$tasks" =~ ^[1-9][0-9]{0,5}$ ]] || die "N must be a whole number from 1, not '$tasks'"
for f in "${flags[@]}"; do
  case "$f" in
    --shard | --shard=* | --out | --out=*) die "$f is set by submit.sh (one shard per task, OUTDIR/shard-I)" ;;
  esac
done
cpus=${SNAPSIM_SLURM_CPUS:-1}
[[ "$cpus" =~ ^[1-9][0-9]{0,3}$ ]] || die "SNAPSIM_SLURM_CPUS must be a whole number from 1, not '$cpus'"
read -r -a sbatch_extra <<<"${SNAPSIM_SBATCH_ARGS:-}"
for a in "${sbatch_extra[@]+"${sbatch_extra[@]}"}"; do
  case "$a" in
    --array | --array=* | -a | --dependency | --dependency=* | -d | --output=* | --output | -o | --error | --error=* | -e)
      die "SNAPSIM_SBATCH_ARGS: $a is set by submit.sh" ;;
  esac
done
command -v sbatch >/dev/null 2>&1 || die "sbatch not found: run this on a Slurm submit host"

repo_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
snapsim="${SNAPSIM:-}"
if [ -z "$snapsim" ]; then
  if command -v snapsim >/dev/null 2>&1; then
    snapsim="$(command -v snapsim)"
  elif [ -x "$repo_dir/build-rel/cli/snapsim" ]; then
    snapsim="$repo_dir/build-rel/cli/snapsim"
  else
    snapsim="$repo_dir/build/cli/snapsim"
  fi
fi
if ! [ -f "$snapsim" ] || ! [ -x "$snapsim" ]; then die "no snapsim binary at '$snapsim' (set SNAPSIM)"; fi
snapsim="$(cd "$(dirname "$snapsim")" && pwd)/$(basename "$snapsim")"

outdir="$(realpath -m "$outdir_arg")"
slurm_dir="$outdir/slurm"
[ ! -e "$outdir" ] || [ -d "$outdir" ] || die "OUTDIR $outdir exists and is not a directory"

# What this submission is; a resubmission must be the same campaign (the shards resume).
args_text="$(printf 'tasks %s\n' "$tasks"; printf 'flag %s\n' "${flags[@]+"${flags[@]}"}")"
if [ -f "$slurm_dir/submit.args" ]; then
  if [ "$(cat "$slurm_dir/submit.args")" != "$args_text" ]; then
    die "$outdir holds another submission (see $slurm_dir/submit.args): use a new OUTDIR"
  fi
elif [ -d "$outdir" ] && [ -n "$(ls -A "$outdir")" ]; then
  die "$outdir is not empty and holds no submission of submit.sh: use a new OUTDIR"
fi
# Two submissions must never write the same shards at once.
if [ -f "$slurm_dir/jobs" ]; then
  previous_ids="$(sed -n 's/^[a-z]*=\([0-9][0-9]*\)$/\1/p' "$slurm_dir/jobs" | paste -sd, -)"
  if [ -n "$previous_ids" ]; then
    queued="$(squeue -h -j "$previous_ids" -o %i 2>/dev/null || true)"
    if [ -n "$queued" ]; then
      die "jobs $previous_ids of the previous submission to $outdir are still queued: wait, or scancel $(echo "$previous_ids" | tr , ' ')"
    fi
  fi
fi

# The campaign checks its flags before anything else and --out last: given a regular file as
# --out, valid flags end in exactly that complaint, and nothing runs.
probe="$(mktemp "${TMPDIR:-/tmp}/snapsim-submit.XXXXXX")"
trap 'rm -f "$probe"' EXIT
probe_status=0
probe_err="$("$snapsim" campaign "${flags[@]+"${flags[@]}"}" --shard "0/$tasks" --out "$probe" 2>&1 \
  >/dev/null)" || probe_status=$?
if [ "$probe_status" -ne 2 ] || [[ "$probe_err" != *"--out $probe exists and is not a directory"* ]]; then
  [ -n "$probe_err" ] || probe_err="snapsim campaign exited $probe_status"
  die "bad campaign flags: $(printf '%s' "$probe_err" | head -n 1)"
fi

mkdir -p "$slurm_dir" 2>/dev/null || die "cannot create $slurm_dir"
printf '%s\n' "$args_text" >"$slurm_dir/submit.args"
rm -f "$slurm_dir"/shard-*.status "$slurm_dir/merge.status" "$slurm_dir/FAILED"

# Does FLAGS set --jobs? Else the campaign gets one worker per CPU of the task.
jobs_flag=(--jobs "$cpus")
for f in "${flags[@]+"${flags[@]}"}"; do
  case "$f" in --jobs | --jobs=*) jobs_flag=() ;; esac
done

q() {  # shell-quoted words for the generated scripts, separated by blanks
  local words
  printf -v words '%q ' "$@"
  printf '%s' "${words% }"
}
last=$((tasks - 1))
shard_dirs=""
for ((i = 0; i < tasks; i++)); do shard_dirs+=" $(q "$outdir/shard-$i")"; done
extra_directive=""
if [ ${#sbatch_extra[@]} -gt 0 ]; then extra_directive="#SBATCH ${sbatch_extra[*]}"; fi
campaign_cmd=("$snapsim" campaign "${flags[@]+"${flags[@]}"}" "${jobs_flag[@]+"${jobs_flag[@]}"}")
scenario_env=""
if [ -n "${SNAPSIM_SCENARIO_DIR:-}" ]; then
  scenario_env="export SNAPSIM_SCENARIO_DIR=$(q "$SNAPSIM_SCENARIO_DIR")"
fi

# The status of every task, as the check and the merge job read it: 0 none found, 1 findings
# (both a finished shard), 2 bad input, 130 stopped (preempted, cancelled, time limit), else
# failed; no file: the task did not get to the end (killed, node lost, never ran).
status_check="$(cat <<EOF
slurm_dir=$(q "$slurm_dir")
tasks=$tasks
failed=()
failed_ids=""
for ((i = 0; i < tasks; i++)); do
  s=\$(cat "\$slurm_dir/shard-\$i.status" 2>/dev/null || echo none)
  case "\$s" in
    0 | 1) continue ;;
    none) failed+=("task \$i: ended without a status (killed, node lost, or never ran); see \$slurm_dir/shard-\$i.out") ;;
    2) failed+=("task \$i: bad input (exit 2); see \$slurm_dir/shard-\$i.out") ;;
    130) failed+=("task \$i: stopped before its end (exit 130: time limit, cancelled or preempted without requeue); see \$slurm_dir/shard-\$i.out") ;;
    *) failed+=("task \$i: failed with exit \$s; see \$slurm_dir/shard-\$i.out") ;;
  esac
  failed_ids+="\${failed_ids:+,}\$i"
done
EOF
)"

shard_script="$slurm_dir/shard.sbatch"
cat >"$shard_script.tmp" <<EOF
#!/bin/bash
# One shard of the campaign; written by scripts/slurm/submit.sh. Rerun task I alone with
#   sbatch --array=I $(q "$shard_script")
#SBATCH --job-name=snapsim-shard
#SBATCH --output=$slurm_dir/shard-%a.out
#SBATCH --open-mode=append
#SBATCH --requeue
#SBATCH --cpus-per-task=$cpus
#SBATCH --array=0-$last
$extra_directive
set -u
$scenario_env
i=\${SLURM_ARRAY_TASK_ID:?run as an array task: sbatch --array=I \$0}
status_file=$(q "$slurm_dir")/shard-\$i.status
rm -f "\$status_file"
echo "snapsim shard \$i/$tasks: job \${SLURM_JOB_ID:-?} (\${SLURM_ARRAY_JOB_ID:-?}_\$i) on \$(hostname), run \$((\${SLURM_RESTART_COUNT:-0} + 1)), \$(date -u +%FT%TZ)"
# Slurm sends SIGTERM to every process of the task when it is preempted, requeued, cancelled or
# out of time: the campaign then keeps what is done and exits 130; this shell waits for it.
trap 'echo "snapsim shard \$i/$tasks: SIGTERM at \$(date -u +%FT%TZ); the shard resumes when rerun"' TERM
# A trapped signal waits for the foreground command: the status is the campaign's.
$(q "${campaign_cmd[@]}") --shard "\$i/$tasks" --out $(q "$outdir")/shard-"\$i"
status=\$?
echo "\$status" >"\$status_file.tmp" && mv "\$status_file.tmp" "\$status_file"
echo "snapsim shard \$i/$tasks: campaign exit status \$status at \$(date -u +%FT%TZ)"
# Findings (1) are a finished shard, not a failed job: the merge depends on afterok.
case "\$status" in 0 | 1) exit 0 ;; *) exit "\$status" ;; esac
EOF

mv "$shard_script.tmp" "$shard_script"

cat >"$slurm_dir/merge.sbatch" <<EOF
#!/bin/bash
# Merges the shards; written by scripts/slurm/submit.sh. Refuses while a shard is unfinished.
#SBATCH --job-name=snapsim-merge
#SBATCH --output=$slurm_dir/merge.out
#SBATCH --open-mode=append
#SBATCH --cpus-per-task=1
$extra_directive
set -u
$scenario_env
echo "snapsim merge: job \${SLURM_JOB_ID:-?} on \$(hostname), \$(date -u +%FT%TZ)"
rm -f $(q "$slurm_dir/merge.status")
$status_check
if [ \${#failed[@]} -gt 0 ]; then
  echo "snapsim merge: not merging, \${#failed[@]} of \$tasks tasks did not finish:"
  printf '  %s\n' "\${failed[@]}"
  exit 3
fi
status=0
$(q "$snapsim") report merge $(q "$outdir/merged")$shard_dirs || status=\$?
echo "\$status" >$(q "$slurm_dir/merge.status")
case "\$status" in 0 | 1) rm -f $(q "$slurm_dir/FAILED") ;; esac
echo "snapsim merge: exit status \$status (0 no finding, 1 findings), report $(q "$outdir/merged/index.html")"
case "\$status" in 0 | 1) exit 0 ;; *) exit "\$status" ;; esac
EOF

cat >"$slurm_dir/check.sbatch" <<EOF
#!/bin/bash
# Runs after every task ended, however: names the failed tasks, says how to rerun them, and
# cancels the merge job (argument 1) that would otherwise wait for ever. Written by submit.sh.
#SBATCH --job-name=snapsim-check
#SBATCH --output=$slurm_dir/check.out
#SBATCH --open-mode=append
#SBATCH --cpus-per-task=1
$extra_directive
set -u
merge_job=\${1:-}
$status_check
if [ \${#failed[@]} -eq 0 ]; then
  echo "snapsim check: all \$tasks tasks finished, \$(date -u +%FT%TZ); merge job \$merge_job merges them"
  rm -f "\$slurm_dir/FAILED"
  exit 0
fi
{
  echo "snapsim check: \${#failed[@]} of \$tasks tasks failed, \$(date -u +%FT%TZ); merge job \$merge_job cancelled"
  printf '  %s\n' "\${failed[@]}"
  echo "  rerun them (each resumes its shard), then the merge after them:"
  echo "    sbatch --array=\$failed_ids $(q "$shard_script")"
  echo "    sbatch --dependency=afterok:<the job id it printed> $(q "$slurm_dir/merge.sbatch")"
} | tee "\$slurm_dir/FAILED"
[ -z "\$merge_job" ] || scancel "\$merge_job" || true
exit 1
EOF
chmod +x "$slurm_dir"/*.sbatch

sbatch_err="$(mktemp "${TMPDIR:-/tmp}/snapsim-submit.XXXXXX")"
trap 'rm -f "$probe" "$sbatch_err"' EXIT
sbatch_id() {  # sbatch OPTIONS... -> the job id on stdout, or sbatch's complaint and status 1
  local out
  if ! out="$(sbatch --parsable "$@" 2>"$sbatch_err")"; then
    echo "$prog: sbatch refused: $(tail -n 1 "$sbatch_err")" >&2
    return 1
  fi
  out="$(printf '%s\n' "$out" | tail -n 1)"
  printf '%s\n' "${out%%;*}"
}

array_job="$(sbatch_id "$slurm_dir/shard.sbatch")" || exit 1
merge_job="$(sbatch_id --dependency="afterok:$array_job" "$slurm_dir/merge.sbatch")" || {
  scancel "$array_job" || true
  exit 1
}
check_job="$(sbatch_id --dependency="afterany:$array_job" "$slurm_dir/check.sbatch" "$merge_job")" || {
  scancel "$array_job" "$merge_job" || true
  exit 1
}
printf 'array=%s\nmerge=%s\ncheck=%s\n' "$array_job" "$merge_job" "$check_job" >"$slurm_dir/jobs"

echo "array job $array_job: $tasks tasks, task I: snapsim campaign --shard I/$tasks --out $outdir/shard-I"
echo "merge job $merge_job: after all tasks succeed, into $outdir/merged (log $slurm_dir/merge.out)"
echo "check job $check_job: after all tasks end, names failed tasks (log $slurm_dir/check.out)"
echo "follow: squeue -j $array_job,$merge_job,$check_job; job ids also in $slurm_dir/jobs"

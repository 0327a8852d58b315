#!/usr/bin/env bash
# Builds the libFuzzer targets and runs each for a bounded time, one after another.
#
#   Fuzz/run.sh [SECONDS] [TARGET...]     (default: 60 seconds each, every target)
#
# New corpus entries go to Fuzz/.work/corpus/TARGET (scratch, not committed; the seeds in
# Fuzz/Corpus/TARGET are only read), logs to Fuzz/.work/TARGET.log, and every crash, timeout or
# out-of-memory input to Fuzz/Crashes/TARGET/. Prints per target the executions and findings;
# exits 1 if any target found something. Not part of the test suite (scripts/test.sh).
# Environment: FUZZ_JOBS_BUILD=N limits build parallelism; FUZZ_NO_BUILD=1 skips the build.
set -uo pipefail
cd "$(dirname "$0")"

seconds=${1:-60}
if [ $# -gt 0 ]; then shift; fi
all=(FuzzFeedQuery FuzzRuleDecoder FuzzFeedVerifier FuzzTimeStampToken)
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=("${all[@]}")
case "$seconds" in ''|*[!0-9]*) echo "usage: $0 [SECONDS] [TARGET...]" >&2; exit 2 ;; esac
for target in "${targets[@]}"; do
    [[ " ${all[*]} " == *" $target "* ]] || { echo "unknown target $target (known: ${all[*]})" >&2; exit 2; }
done

# Every module, ours and the dependencies', Swift and C, is instrumented for coverage; Swift
# code also for AddressSanitizer. The targets link libFuzzer themselves (Package.swift).
build_flags=(
    -c release --scratch-path .build
    -Xswiftc -sanitize=address
    -Xswiftc -sanitize-coverage=edge,trace-cmp,inline-8bit-counters,pc-table
    -Xcc -fsanitize-coverage=inline-8bit-counters,pc-table,trace-cmp
)
[ -z "${FUZZ_JOBS_BUILD:-}" ] || build_flags+=(-j "$FUZZ_JOBS_BUILD")
if [ -z "${FUZZ_NO_BUILD:-}" ]; then
    echo "building ${targets[*]} (the first build takes several minutes)"
    swift build "${build_flags[@]}" 2>&1 | grep -v "warning: Cannot export local symbol" | tail -20
    [ "${PIPESTATUS[0]}" -eq 0 ] || { echo "build failed" >&2; exit 2; }
fi
bin=$(swift build "${build_flags[@]}" --show-bin-path)

# Per target: -max_len (bytes), the dictionary, and extra seeds from outside the repository.
declare -A max_len=([FuzzFeedQuery]=4096 [FuzzRuleDecoder]=8192 [FuzzFeedVerifier]=32768 [FuzzTimeStampToken]=16384)
declare -A dict=([FuzzFeedQuery]=query.dict [FuzzRuleDecoder]=yaml.dict [FuzzFeedVerifier]=xml.dict [FuzzTimeStampToken]=asn1.dict)
microsoft_feed=../../shared/data/microsoft-feed-2021-09.xml

# The Swift backtracer would hold every crashing process for up to 30 s; ASan's leak check
# reports the runtime's caches at exit.
export SWIFT_BACKTRACE=enable=no
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=0}

found=0
summary=()
for target in "${targets[@]}"; do
    corpus=.work/corpus/$target
    crashes=Crashes/$target
    log=.work/$target.log
    mkdir -p "$corpus" "$crashes"
    if [ "$target" = FuzzFeedVerifier ] && [ -f "$microsoft_feed" ]; then
        cp "$microsoft_feed" "$corpus/microsoft-feed-2021-09.xml"
    fi
    before=$(ls "$crashes" | wc -l)
    echo "running $target for ${seconds}s (log: Fuzz/$log)"
    started=$SECONDS
    "$bin/$target" "$corpus" "Corpus/$target" \
        -dict="Dictionaries/${dict[$target]}" \
        -max_total_time="$seconds" -max_len="${max_len[$target]}" \
        -timeout=10 -rss_limit_mb=2048 -malloc_limit_mb=2048 \
        -artifact_prefix="$crashes/" -print_final_stats=1 -print_pcs=0 \
        >"$log" 2>&1
    status=$?
    elapsed=$(( SECONDS - started ))
    executions=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
    rate=$(grep -o 'exec/s: [0-9]*' "$log" | tail -1 | sed 's/exec\/s: //')
    coverage=$(grep -oE '(cov|ft): [0-9]+' "$log" | tail -2 | tr '\n' ' ')
    entries=$(ls "$corpus" | wc -l)
    new=$(( $(ls "$crashes" | wc -l) - before ))
    if [ "$status" -ne 0 ] || [ "$new" -gt 0 ]; then
        found=1
        finding="FOUND (exit $status): $(grep -m1 -E 'Fatal error|ERROR: libFuzzer|ERROR: AddressSanitizer|SUMMARY' "$log" | cut -c1-200); $(ls -t "$crashes" | head -1)"
    else
        finding="no findings"
    fi
    line="$target: ${executions:-?} executions in ${elapsed}s (${rate:-?} exec/s), ${coverage}corpus ${entries} entries; ${finding}"
    echo "$line"
    summary+=("$line")
done

echo
echo "summary:"
printf '  %s\n' "${summary[@]}"
exit "$found"

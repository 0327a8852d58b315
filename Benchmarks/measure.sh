# Helpers the benchmark scripts share; sourced, not run.

# CPU time (utime + stime, clock ticks) of processes; a process gone meanwhile counts 0.
cpu_ticks() { # pid...
    local total=0 pid
    for pid in "$@"; do total=$((total + $(awk '{print $14 + $15}' "/proc/$pid/stat" 2>/dev/null || echo 0))); done
    echo "$total"
}

# The median of the numbers on standard input, separated by spaces or lines.
median() { tr ' ' '\n' | sed '/^$/d' | sort -g | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }

#!/usr/bin/env bash
# Soak test: HOURS of simulated time (default 6; the release check runs 168 = 7 days) of
# `greenwave sim --speed max` in segments, with faults injected at random from a seed, every
# segment's event log checked by `greenwave verify` against the board's MMU card.
#
# Usage: tools/soak.sh [HOURS] [SEED]      (SEED defaults to the current time; it is printed, and
#                                           the same HOURS and SEED replay the same soak)
#
# Faults, one per segment in a seeded order, all segments also with `--faults SEED` (the simulated
# hardware's own faults: camera stall and lost frames, detectors stuck on / stuck off / chattering,
# a welded relay seen by read-back, see src/sim/faults.rs):
#   hup      SIGHUP bursts while the site file flips between two good versions and broken ones
#   term     SIGTERM part-way (clean stop), then the next segment starts on the same state
#   kill     SIGKILL part-way (no clean-up at all), then restart on the same state and event log
#   disk     the event log on a tiny tmpfs that fills up, then gets space back (needs mount(8)
#            rights; skipped with a note where there are none)
#   state    the counters state file replaced by a directory (unwritable state), restored after
#   plain    none beyond --faults
# Every restart takes the event timestamps' wall-clock base from the system clock again while the
# previous segment ran hours ahead in simulated time, so the continued log steps back in time at
# each restart; mid-run clock steps are not injected (controller time is the tick count).
#
# Each segment must exit 0 (except the killed ones), and `greenwave verify` must find no conflict,
# no short clearance and (with the segment's counters) no event lost without being counted. The
# heap in use at the end of a run may not exceed the heap after its start-up. Last line:
#   soak: H h simulated, K faults injected, 0 conflicts, 0 short clearances, 0 uncounted losses, heap growth 0 B
set -euo pipefail
cd "$(dirname "$0")/.."
hours=${1:-6}
seed=${2:-$(date +%s)}
echo "soak: $hours h simulated, seed $seed (replay: tools/soak.sh $hours $seed)"
RANDOM=$((seed % 32768))

if [ -z "${GREENWAVE:-}" ]; then
    cargo build --release --bin greenwave -q
    GREENWAVE=target/release/greenwave
fi
work=${SOAK_DIR:-target/soak}
# The full-disk tmpfs never outlives the script.
unmount_full() {
    if mountpoint -q "$work/events-full" 2>/dev/null; then
        umount "$work/events-full"
    fi
}
unmount_full
trap unmount_full EXIT
rm -rf "$work"
mkdir -p "$work/events" "$work/state"
site=$work/site.toml
cp board/sites/nema8-4leg.toml "$work/site-good.toml"
# A second good file with other maximum greens, so an applied reload really hands over.
sed 's/^max_green_s = 45$/max_green_s = 38/' board/sites/nema8-4leg.toml >"$work/site-good2.toml"
# Broken copies a technician might save: cut off mid-file, and a phase in two rings.
head -c 1500 board/sites/nema8-4leg.toml >"$work/site-bad-cut.toml"
sed 's/^rings = .*/rings = [[1, 2, 3, 4], [5, 6, 7, 2]]/' board/sites/nema8-4leg.toml >"$work/site-bad-ring.toml"
cp "$work/site-good.toml" "$site"
# The cabinet's MMU card: the sim's monitor and `greenwave verify` both use the board file's [mmu].
board=board/host-fake.toml

target_ms=$((hours * 3600 * 1000))
sim_ms=0
faults=0
conflicts=0
short=0
lost=0
heap_growth=0
seg=0
actions=(hup term kill disk state plain)
order=()
failed=0

# Rewrites the site file atomically (as an editor saving it would).
put_site() {
    cp "$1" "$site.tmp" && mv "$site.tmp" "$site"
}

# Waits (at most 2 s) until the run has created its event log file: by then its signal handlers
# are installed, so a SIGTERM or SIGHUP is handled rather than fatal.
wait_started() {
    local i
    for i in $(seq 200); do
        if [ "$(ls "$1" | grep -cE '^events-[0-9]{8}\.csv$')" -gt "$2" ] || ! kill -0 "$3" 2>/dev/null; then
            return
        fi
        sleep 0.01
    done
}

# Milliseconds between the first and last row of the given logs (a killed run has no summary).
log_span_ms() {
    local first last
    first=$(cat "$@" | grep -v '^TimeStamp' | head -n 1 | cut -d, -f1)
    last=$(cat "$@" | grep -v '^TimeStamp' | grep -E '^[0-9-]+ [0-9:.]+,[0-9]+,[0-9]+,[0-9]+$' | tail -n 1 | cut -d, -f1)
    if [ -z "$first" ] || [ -z "$last" ]; then
        echo 0
        return
    fi
    echo $(( ($(date -ud "$last" +%s%3N) - $(date -ud "$first" +%s%3N)) ))
}

while [ "$sim_ms" -lt "$target_ms" ]; do
    seg=$((seg + 1))
    if [ ${#order[@]} -eq 0 ]; then
        order=("${actions[@]}")
        for ((i = ${#order[@]} - 1; i > 0; i--)); do
            j=$((RANDOM % (i + 1)))
            tmp=${order[i]}
            order[i]=${order[j]}
            order[j]=$tmp
        done
    fi
    action=${order[0]}
    order=("${order[@]:1}")
    # 20-90 simulated minutes, not beyond the target (at least a minute).
    left_s=$(( (target_ms - sim_ms) / 1000 ))
    dur=$((1200 + RANDOM % 4200))
    [ "$dur" -gt "$left_s" ] && dur=$left_s
    [ "$dur" -lt 60 ] && dur=60
    sim_seed=$((RANDOM * 32768 + RANDOM))
    fault_seed=$((RANDOM * 32768 + RANDOM))
    evdir=$work/events
    mounted=""
    note=""
    case $action in
        disk)
            evdir=$work/events-full
            mkdir -p "$evdir"
            if mount -t tmpfs -o size=192k tmpfs "$evdir" 2>/dev/null; then
                mounted=$evdir
                # Leave ~24 kB: the header and a few hundred rows fit, then the disk is full.
                dd if=/dev/zero of="$evdir/filler" bs=4k count=42 status=none 2>/dev/null || true
            else
                note=" (no rights to mount a tmpfs here: full disk not injected)"
                evdir=$work/events
            fi
            ;;
        state)
            if [ -f "$work/state/counters.bin" ]; then
                mv "$work/state/counters.bin" "$work/state/counters.bin.aside"
            fi
            mkdir -p "$work/state/counters.bin"
            ;;
    esac
    before=$(ls "$evdir" | grep -E '^events-[0-9]{8}\.csv$' || true)
    out=$work/seg$seg.out
    err=$work/seg$seg.err
    echo "segment $seg: $action$note, $dur s, --seed $sim_seed --faults $fault_seed"
    "$GREENWAVE" sim --site "$site" --board "$board" --duration "$dur" --speed max --seed "$sim_seed" --faults "$fault_seed" \
        --event-dir "$evdir" --state-dir "$work/state" >"$out" 2>"$err" &
    pid=$!
    killed=""
    wait_started "$evdir" "$(echo -n "$before" | grep -c . || true)" "$pid"
    case $action in
        hup)
            # Bursts of SIGHUP, the file flipping between good and broken copies in between.
            for burst in 1 2 3 4 5 6; do
                # A segment lasts a fraction of a second of wall time at --speed max.
                sleep "0.00$((RANDOM % 9 + 1))"
                case $((RANDOM % 4)) in
                    0) put_site "$work/site-good.toml" ;;
                    1) put_site "$work/site-good2.toml" ;;
                    2) put_site "$work/site-bad-cut.toml" ;;
                    3) put_site "$work/site-bad-ring.toml" ;;
                esac
                for _ in $(seq $((RANDOM % 8 + 1))); do
                    kill -HUP "$pid" 2>/dev/null || break
                done
                faults=$((faults + 1))
            done
            put_site "$work/site-good.toml"
            ;;
        term | kill)
            sleep "0.0$((RANDOM % 6 + 2))"
            if kill -0 "$pid" 2>/dev/null; then
                if [ "$action" = kill ]; then
                    kill -KILL "$pid" 2>/dev/null && killed=1
                else
                    kill -TERM "$pid" 2>/dev/null || true
                fi
                faults=$((faults + 1))
            else
                echo "  (the run ended before the signal)"
            fi
            ;;
        disk)
            if [ -n "$mounted" ]; then
                # Full for a while, then space comes back.
                sleep 0.02
                rm -f "$evdir/filler"
                faults=$((faults + 1))
            fi
            ;;
        state)
            faults=$((faults + 1))
            ;;
    esac
    rc=0
    { wait "$pid"; } 2>/dev/null || rc=$?
    put_site "$work/site-good.toml"
    after=$(ls "$evdir" | grep -E '^events-[0-9]{8}\.csv$' || true)
    new=()
    for f in $(comm -13 <(echo "$before" | sort) <(echo "$after" | sort)); do
        new+=("$evdir/$f")
    done
    if [ "$action" = state ]; then
        rm -rf "$work/state/counters.bin"
        if [ -f "$work/state/counters.bin.aside" ]; then
            mv "$work/state/counters.bin.aside" "$work/state/counters.bin"
        fi
    fi
    vargs=(--board "$board")
    for f in "${new[@]}"; do vargs+=(--events "$f"); done
    if [ ${#new[@]} -eq 0 ] && [ -z "$killed" ]; then
        echo "  FAIL: no event log file was written"
        failed=1
    fi
    if [ -n "$killed" ]; then
        span=0
        [ ${#new[@]} -gt 0 ] && span=$(log_span_ms "${new[@]}")
        sim_ms=$((sim_ms + span))
        vargs+=(--killed)
        echo "  killed (exit $rc) after $((span / 1000)) s simulated"
    else
        # Exit 3: the run completed but counted lost rows or failed state saves (full disk,
        # unwritable state), which those segments are for.
        if [ "$rc" -ne 0 ] && ! { [ "$rc" -eq 3 ] && { [ "$action" = disk ] || [ "$action" = state ]; }; }; then
            echo "  FAIL: exit $rc"
            tail -n 5 "$err"
            failed=1
        fi
        s=$(sed -n 's/^simulated time *\([0-9.]*\) s.*/\1/p' "$out")
        sim_ms=$((sim_ms + $(awk -v s="${s:-0}" 'BEGIN { printf "%d", s * 1000 }')))
        # "events  G generated, W written, L lost (…), Q dropped (log queue full), R dropped (event ring full)"
        ev=$(grep '^events ' "$out" || true)
        emitted=$(echo "$ev" | sed -n 's/^events *\([0-9]*\) generated.*/\1/p')
        logged=$(echo "$ev" | sed -n 's/.* \([0-9]*\) written.*/\1/p')
        lost_rows=$(echo "$ev" | sed -n 's/.* \([0-9]*\) lost.*/\1/p')
        qd=$(echo "$ev" | sed -n 's/.* \([0-9]*\) dropped (log queue full).*/\1/p')
        rd=$(echo "$ev" | sed -n 's/.* \([0-9]*\) dropped (event ring full).*/\1/p')
        dropped=$((${lost_rows:-0} + ${qd:-0} + ${rd:-0}))
        inj=$(sed -n 's/^faults injected *\([0-9]*\).*/\1/p' "$out")
        faults=$((faults + ${inj:-0}))
        heap=$(sed -n 's/^heap in use *\([0-9]*\) B after start-up, \([0-9]*\) B at the end.*/\1 \2/p' "$out")
        if [ -z "$heap" ] || [ -z "$emitted" ] || [ -z "$logged" ]; then
            echo "  FAIL: the summary lacks heap or event counters"
            cat "$out"
            failed=1
        else
            read -r h0 h1 <<<"$heap"
            [ "$h1" -gt "$h0" ] && heap_growth=$((heap_growth + h1 - h0))
            vargs+=(--emitted "$emitted" --dropped "$dropped" --logged "$logged")
            # Rows lost to a full disk leave holes: resynchronise after a silence.
            [ "$dropped" -gt 0 ] && vargs+=(--resync-gap 5)
        fi
        echo "  $(grep -E '^(reloads|faults  )' "$out" | tr -s ' ' | paste -sd ';' -), $logged logged, $dropped dropped, heap ${heap:-?}"
    fi
    if [ ${#new[@]} -gt 0 ]; then
        vout=$("$GREENWAVE" verify "${vargs[@]}" 2>&1) || {
            echo "$vout" | tail -n 25
            failed=1
        }
        last=$(echo "$vout" | grep '^verify:' | tail -n 1)
        echo "  $last"
        c=$(echo "$last" | sed -n 's/.* \([0-9]*\) conflicts.*/\1/p')
        sy=$(echo "$last" | sed -n 's/.* \([0-9]*\) short yellows.*/\1/p')
        sr=$(echo "$last" | sed -n 's/.* \([0-9]*\) short red clearances.*/\1/p')
        u=$(echo "$last" | sed -n 's/.* \([0-9]*\) uncounted losses.*/\1/p')
        conflicts=$((conflicts + ${c:-0}))
        short=$((short + ${sy:-0} + ${sr:-0}))
        lost=$((lost + ${u:-0}))
    fi
    if [ -n "$mounted" ]; then
        cp "$mounted"/events-*.csv "$work/" 2>/dev/null || true
        umount "$mounted"
    fi
done

h=$(awk -v ms="$sim_ms" 'BEGIN { printf "%.1f", ms / 3600000 }')
echo "soak: $h h simulated, $faults faults injected, $conflicts conflicts, $short short clearances, $lost uncounted losses, heap growth $heap_growth B"
if [ "$failed" -ne 0 ] || [ "$conflicts" -ne 0 ] || [ "$short" -ne 0 ] || [ "$lost" -ne 0 ] || [ "$heap_growth" -ne 0 ]; then
    exit 1
fi

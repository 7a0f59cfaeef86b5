#!/bin/bash
# Captures the live board of `gaussdb-job wait` in tmux: 12 jobs against the emulator (nine that complete, two that
# fail with long reasons, one unknown id), mid-wait and at the end. Usage, from the root of the checkout:
#   docs/screens/capture.sh 80 24     # writes docs/screens/80x24-waiting.txt and 80x24-final.txt
#   docs/screens/capture.sh 80 24 queued   # the default request budget (no --max-rate): one list call a round
#                                          # serves every job, the reads of ended jobs wait their turn (the
#                                          # hint at the end); writes 80x24-queued-waiting.txt and -final.txt
set -euo pipefail
W=$1 H=$2 MODE=${3:-}
rate="--max-rate 20" name=${W}x${H}
if [ "$MODE" = queued ]; then rate="" name=${W}x${H}-queued; fi
root=$PWD out=$PWD/docs/screens scratch=$(mktemp -d)
eval "$("$root/.venv/bin/gaussdb-emulator" --port 0 --background 2>/dev/null)"
trap 'kill "$GAUSSDB_EMULATOR_PID"; rm -rf "$scratch"' EXIT
new() { curl -fsS -X POST "$GAUSSDB_ENDPOINT/_emulator/jobs" -d "$1" | python3 -c 'import json,sys; print(json.load(sys.stdin)["job"]["id"])'; }
names=(RestartGaussDBInstance ResizeFlavor AddReadReplica BindEIP CreateBackup ModifyParameters ChangePort RenameInstance UpgradeMinorVersion)
ids=()
for i in "${!names[@]}"; do ids+=("$(new "{\"name\": \"${names[$i]}\", \"duration\": $((4 + i))}")"); done
ids+=("$(new '{"name": "DeleteReadReplica", "duration": 3, "outcome": "Failed", "fail_reason": "The replica could not be removed: the primary node is being backed up (a manual backup started at 09:12 holds a lock on the instance); retry once the backup has finished"}')")
ids+=("$(new '{"name": "ResizeStorage", "duration": 5, "outcome": "Failed", "fail_reason": "Disk full on the primary node: the binlog volume reached 100 % while the resize copied data, so the task was rolled back; free space or add storage, then retry"}')")
ids+=(a9767ede-fe0f-4888-9003-e843a4c90514)   # unknown: not found after the grace period
sock=gaussdb-job-screens-$$
cat > "$scratch/run.sh" <<CMD
export GAUSSDB_ENDPOINT=$GAUSSDB_ENDPOINT HW_PROJECT_ID=$HW_PROJECT_ID HW_ACCESS_KEY=$HW_ACCESS_KEY HW_SECRET_KEY=$HW_SECRET_KEY TERM=xterm-256color
clear
"$root/.venv/bin/gaussdb-job" wait ${ids[*]} --not-found-grace 4s $rate > /dev/null
echo "exit \$?"
tmux -L $sock wait-for -S done
exec cat
CMD
tmux -L "$sock" -f /dev/null new-session -d -s s -x "$W" -y "$H" "bash $scratch/run.sh"
sleep 2.5   # a human's glance mid-wait; not a test
tmux -L "$sock" capture-pane -p -t s | sed -e :a -e '/^\n*$/{$d;N;ba' -e '}' > "$out/$name-waiting.txt"
tmux -L "$sock" wait-for done
# -S -: with the lines that scrolled off the top (the errors in full can be longer than the screen).
tmux -L "$sock" capture-pane -p -S - -t s | sed -e :a -e '/^\n*$/{$d;N;ba' -e '}' > "$out/$name-final.txt"
tmux -L "$sock" kill-server

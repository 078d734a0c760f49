#!/usr/bin/env bash
# Soak (not CI): bots at the in-memory store's cap beside people's signups, then the same on Redis.
# Prints resident memory, managed heap, store state, 5xx (unavailable) and completed signups every 10 s.
#   bash benchmarks/soak.sh                 # 10 minutes per store (20 minutes in all)
#   SOAK_SECONDS=180 bash benchmarks/soak.sh
#   # bots cycling through 70,000 addresses (each started at most 5 times an hour): the limit records
#   # stop growing after one pass (~13 min), so a steady state shows within half an hour:
#   SOAK_SECONDS=1500 SOAK_CAP=8000 SOAK_RECORDS=400000 SOAK_BOTS_PER_SECOND=90 SOAK_PEOPLE_PER_SECOND=10 SOAK_BOT_ADDRESSES=70000 SOAK_REPORT_EVERY=60 bash benchmarks/soak.sh
#   # the in-memory store on a clock 4x real time: the rolling hour passes in 15 real minutes (run directly):
#   dotnet run -c Release --project benchmarks/OtpVerification.Benchmarks -- soak --store memory --seconds 1920 --cap 2000 --records 400000 --bots-per-second 90 --people-per-second 10 --report-every 60 --time-scale 4
#   # past the rolling hour of the limit records, where the plateau shows (about 2 h 20 min in all):
#   SOAK_SECONDS=4200 SOAK_CAP=8000 SOAK_RECORDS=400000 SOAK_BOTS_PER_SECOND=90 SOAK_PEOPLE_PER_SECOND=10 SOAK_REPORT_EVERY=60 bash benchmarks/soak.sh
# Needs redis-server (apt-get install -y redis-server); the run starts its own on a free loopback port.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${SOAK_SECONDS:-600}"
cap="${SOAK_CAP:-20000}"
bots="${SOAK_BOTS_PER_SECOND:-200}"
people="${SOAK_PEOPLE_PER_SECOND:-20}"
records="${SOAK_RECORDS:-$((cap * 8))}"
every="${SOAK_REPORT_EVERY:-10}"
bot_addresses="${SOAK_BOT_ADDRESSES:-0}"
out="${SOAK_OUT:-benchmarks/soak-$(date -u +%Y%m%dT%H%M%SZ).md}"

dotnet build benchmarks/OtpVerification.Benchmarks -c Release -m:1 -v q -nologo
for store in memory redis; do
    # One measurement at a time on a shared machine (the other benchmarks take the same lock).
    flock -o /tmp/otp-bench.lock dotnet run -c Release --no-build --project benchmarks/OtpVerification.Benchmarks -- \
        soak --store "$store" --seconds "$seconds" --cap "$cap" --bots-per-second "$bots" --people-per-second "$people" --records "$records" --report-every "$every" --bot-addresses "$bot_addresses" | tee -a "$out"
    echo | tee -a "$out"
done
echo "written to $out"

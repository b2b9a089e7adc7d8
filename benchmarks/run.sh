#!/usr/bin/env bash
# Runs the session benchmarks against a redis-server of their own and prints
# Markdown tables of medians, with ratios to bare Gin and the targets checked.
#
# Environment:
#   BENCH_COUNT  rounds: runs of each benchmark, medians are taken over them (default 5)
#   BENCH_TIME   -benchtime of each run (default 1s)
#   BENCH_ARGS   more flags for go test, e.g. "-cpuprofile cpu.out"
#   BENCH_OUT    where the raw go test output is kept (default bench.txt here)
set -euo pipefail
cd "$(dirname "$0")"

count=${BENCH_COUNT:-5}
benchtime=${BENCH_TIME:-1s}
out=${BENCH_OUT:-bench.txt}

command -v redis-server >/dev/null || {
	echo "run.sh: redis-server is not on PATH (make redis-server installs it)" >&2
	exit 1
}

dir=$(mktemp -d)
pid=
cleanup() {
	if [ -n "$pid" ]; then
		kill "$pid" 2>/dev/null || true
		wait "$pid" 2>/dev/null || true
	fi
	rm -rf "$dir"
}
trap cleanup EXIT INT TERM

# port_in_use asks the kernel whether something listens on the port.
port_in_use() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# redis_ping answers PING over bash's own TCP, needing no redis-cli.
redis_ping() {
	local reply
	exec 3<>"/dev/tcp/127.0.0.1/$1" || return 1
	printf 'PING\r\n' >&3
	read -r -t 1 reply <&3 || true
	exec 3>&-
	[ "${reply%$'\r'}" = "+PONG" ]
}

for attempt in $(seq 1 20); do
	port=$((20000 + RANDOM % 40000))
	port_in_use "$port" && continue
	redis-server --port "$port" --bind 127.0.0.1 --save '' --appendonly no \
		--dir "$dir" --logfile "$dir/redis.log" &
	pid=$!
	for _ in $(seq 1 100); do
		redis_ping "$port" 2>/dev/null && break
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.05
	done
	if redis_ping "$port" 2>/dev/null; then
		break
	fi
	kill "$pid" 2>/dev/null || true
	wait "$pid" 2>/dev/null || true
	pid=
done
if [ -z "$pid" ]; then
	echo "run.sh: could not start redis-server; its log:" >&2
	cat "$dir/redis.log" >&2 || true
	exit 1
fi
export BENCH_REDIS_ADDR="127.0.0.1:$port"

# The PostgreSQL systems: BENCH_PG_URL or PG_URL names a throwaway server;
# otherwise each round's test binary starts one of its own (initdb and
# then postgres, in a temporary folder, on a free loopback port).
if [ -z "${BENCH_PG_URL:-${PG_URL:-}}" ] && ! command -v initdb >/dev/null && ! ls /usr/lib/postgresql/*/bin/postgres >/dev/null 2>&1; then
	echo "run.sh: PostgreSQL's initdb and postgres are missing (make postgresql installs them); the PostgreSQL rows are skipped" >&2
fi

echo "redis-server $(redis-server --version | grep -o 'v=[^ ]*') on $BENCH_REDIS_ADDR (pid $pid)"
echo "$count rounds of go test -bench . -benchmem -benchtime $benchtime on $(nproc) cores, $(go version | cut -d' ' -f3-)"
# Rounds of -count 1 rather than one -count N: go test repeats each
# benchmark N times in a row, so a burst of load from elsewhere on the
# machine would land on one system's runs only. Round by round, every
# system gets a share of it, and the medians compare like with like.
: >"$out"
for round in $(seq 1 "$count"); do
	echo "round $round of $count"
	# shellcheck disable=SC2086
	go test -run '^$' -bench . -benchmem -count 1 -benchtime "$benchtime" ${BENCH_ARGS:-} . | tee -a "$out"
done
echo
go run ./cmd/benchtable "$out"

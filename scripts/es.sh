#!/usr/bin/env bash
# Elasticsearch for benchrig's integration tests: a real single-node server
# (the integ-test-zip distribution of the same version as the Go client) on
# 127.0.0.1, run as a dedicated non-root user. Idempotent.
#
#   es.sh up     install Java 17 and Maven if missing, fetch and unpack the
#                server (cached in ${BENCHRIG_CACHE:-/var/cache/benchrig}),
#                start it and write BENCHRIG_ES_URL and BENCHRIG_ES_CTL to
#                .testenv/env
#   es.sh down   stop it (by pid) and remove its data
#   es.sh stop   stop it, keep its data and port (tests: an outage)
#   es.sh start  start it again on the same port and data, wait until it answers
#   es.sh url    print its URL
#
# State lives in the checkout's .testenv/es/: pidfile, port, config, data,
# logs. The unpacked distribution is shared read-only from the cache.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd -P)

version=8.19.7
artifact=org.elasticsearch.distribution.integ-test-zip:elasticsearch:$version:zip
cache=${BENCHRIG_CACHE:-/var/cache/benchrig}
esuser=benchrig-es
state=$root/.testenv/es
home=$cache/elasticsearch-$version
pidfile=$state/es.pid
portfile=$state/port
# The server starts in about 15-40 s on a 2-core VM; 180 s leaves room for
# a busy machine (three builds side by side) without hanging forever.
start_timeout=${BENCHRIG_ES_START_TIMEOUT:-180}

log() { echo "es: $*" >&2; }

running() {
	[ -s "$pidfile" ] && kill -0 "$(cat "$pidfile")" 2>/dev/null
}

port_busy() {
	ss -Hltn "sport = :$1" 2>/dev/null | grep -q .
}

url() {
	echo "http://127.0.0.1:$(cat "$portfile")"
}

install_deps() {
	local need=()
	[ -d /usr/lib/jvm/java-17-openjdk-amd64 ] || ls -d /usr/lib/jvm/java-17-openjdk-* >/dev/null 2>&1 || need+=(openjdk-17-jre-headless)
	command -v mvn >/dev/null 2>&1 || need+=(maven)
	command -v unzip >/dev/null 2>&1 || need+=(unzip)
	command -v curl >/dev/null 2>&1 || need+=(curl)
	if [ ${#need[@]} -gt 0 ]; then
		log "installing ${need[*]}"
		export DEBIAN_FRONTEND=noninteractive
		apt-get update -qq
		apt-get install -y -qq "${need[@]}" >/dev/null
	fi
	id -u "$esuser" >/dev/null 2>&1 ||
		useradd --system --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin "$esuser"
}

java_home() {
	local d
	for d in /usr/lib/jvm/java-17-openjdk-*; do
		[ -x "$d/bin/java" ] && { echo "$d"; return; }
	done
	log "no Java 17 under /usr/lib/jvm"
	exit 1
}

fetch() {
	[ -x "$home/bin/elasticsearch" ] && return
	mkdir -p "$cache/es-dist"
	local zip=$cache/es-dist/elasticsearch-$version.zip
	if [ ! -s "$zip" ]; then
		log "fetching $artifact with mvn"
		# A repository of its own under the cache, so a fresh clone reuses it
		# and the user's ~/.m2 is not touched.
		mvn -q -B -Dmaven.repo.local="$cache/m2" \
			org.apache.maven.plugins:maven-dependency-plugin:3.6.1:copy \
			-Dartifact="$artifact" -DoutputDirectory="$cache/es-dist" \
			-Dmdep.stripVersion=false >&2
		mv "$cache/es-dist/elasticsearch-$version.zip" "$zip" 2>/dev/null || true
	fi
	local tmp
	tmp=$(mktemp -d "$cache/es-unpack.XXXXXX")
	unzip -q "$zip" -d "$tmp"
	chmod -R a+rX "$tmp"
	rm -rf "$home"
	mv "$tmp/elasticsearch-$version" "$home"
	rmdir "$tmp"
}

pick_port() {
	if [ -s "$portfile" ]; then
		local p
		p=$(cat "$portfile")
		if ! port_busy "$p"; then
			echo "$p"
			return
		fi
	fi
	local p
	for p in $(seq 9200 9299); do
		port_busy "$p" || { echo "$p"; return; }
	done
	log "no free port in 9200-9299"
	exit 1
}

configure() {
	mkdir -p "$state/config" "$state/data" "$state/logs" "$state/tmp"
	# The distribution's config (jvm.options, log4j2) with our settings on top.
	cp -r "$home/config/." "$state/config/"
	cat >"$state/config/elasticsearch.yml" <<EOF
cluster.name: benchrig-test
node.name: benchrig-test
path.data: $state/data
path.logs: $state/logs
network.host: 127.0.0.1
http.port: $(cat "$portfile")
discovery.type: single-node
cluster.routing.allocation.disk.threshold_enabled: false
# Plain HTTP, no users: a test server on loopback only.
xpack.security.enabled: false
EOF
	# The traverse bit on the checkout's .testenv for the server's user.
	chmod o+x "$root/.testenv" 2>/dev/null || true
	chown -R "$esuser" "$state"
}

start() {
	if running; then
		return
	fi
	install_deps
	fetch
	mkdir -p "$state"
	pick_port >"$portfile.tmp"
	mv "$portfile.tmp" "$portfile"
	configure
	rm -f "$pidfile"
	log "starting Elasticsearch $version on $(url)"
	# -d detaches once the node has started (or failed), -p writes the pid.
	if ! runuser -u "$esuser" -- env \
		ES_JAVA_HOME="$(java_home)" ES_PATH_CONF="$state/config" ES_TMPDIR="$state/tmp" \
		ES_JAVA_OPTS="-Xms512m -Xmx512m" \
		"$home/bin/elasticsearch" -d -p "$pidfile" >"$state/logs/stdout.log" 2>&1; then
		log "start failed"
		tail -n 40 "$state/logs/stdout.log" "$state/logs/benchrig-test.log" >&2 2>/dev/null || true
		exit 1
	fi
	local deadline=$((SECONDS + start_timeout))
	until curl -fsS "$(url)/_cluster/health?wait_for_status=yellow&timeout=5s" >/dev/null 2>&1; do
		if [ $SECONDS -ge $deadline ] || ! running; then
			log "not answering on $(url) after $start_timeout s"
			tail -n 40 "$state/logs/benchrig-test.log" "$state/logs/stdout.log" >&2 2>/dev/null || true
			exit 1
		fi
		sleep 1
	done
	log "ready on $(url)"
}

stop() {
	running || { rm -f "$pidfile"; return 0; }
	local pid
	pid=$(cat "$pidfile")
	kill "$pid"
	local deadline=$((SECONDS + 60))
	while kill -0 "$pid" 2>/dev/null; do
		if [ $SECONDS -ge $deadline ]; then
			log "pid $pid still alive after 60 s: killing it"
			kill -9 "$pid" 2>/dev/null || true
		fi
		sleep 0.2
	done
	rm -f "$pidfile"
}

write_env() {
	local env=$root/.testenv/env
	touch "$env"
	{
		grep -v -e '^BENCHRIG_ES_URL=' -e '^BENCHRIG_ES_CTL=' "$env" || true
		printf 'BENCHRIG_ES_URL=%q\n' "$(url)"
		printf 'BENCHRIG_ES_CTL=%q\n' "$root/scripts/es.sh"
	} >"$env.tmp"
	mv "$env.tmp" "$env"
}

case "${1:-up}" in
up)
	start
	write_env
	;;
start)
	start
	;;
stop)
	stop
	;;
down)
	stop
	rm -rf "$state"
	if [ -f .testenv/env ]; then
		grep -v -e '^BENCHRIG_ES_URL=' -e '^BENCHRIG_ES_CTL=' .testenv/env >.testenv/env.tmp || true
		mv .testenv/env.tmp .testenv/env
	fi
	;;
url)
	url
	;;
*)
	echo "usage: $0 up|down|start|stop|url" >&2
	exit 2
	;;
esac

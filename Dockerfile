# The benchrig image: the server (benchrig serve, the default command) and
# the node collector (benchrig collector) in one image.
#
# The binaries are built on the host, static (CGO off), and copied in:
# there is no multi-stage build because the test lab has no registry to
# pull a golang image from, and a static binary runs on any base.
#
#   make image                                  # FROM debian:bookworm-slim (needs a registry)
#   make image BASE=benchrig/debian:amd64       # FROM the lab's local image (no registry)
#
# make image runs `make image-bin` first (bin/image/: benchrig and the
# in-container timing shims); see docs/deploy.md.
ARG BASE=debian:bookworm-slim
FROM ${BASE}

# A user of its own, with fixed ids so that a volume's owner is the same on
# every host. The server needs nothing of root's; /data is its only state.
ARG UID=10001
ARG GID=10001
RUN groupadd --system --gid "${GID}" benchrig \
 && useradd --system --uid "${UID}" --gid benchrig --home-dir /data --no-create-home --shell /usr/sbin/nologin benchrig \
 && mkdir -p /data \
 && chown benchrig:benchrig /data \
 && chmod 0750 /data

# The shims sit beside the binary, where benchrig looks for them (and
# BENCHRIG_SHIM_DIR says so explicitly): the docker executor copies the one
# of the node's architecture into each benchmark container.
COPY bin/image/benchrig bin/image/benchrig-shim-linux-* /usr/local/bin/

ENV BENCHRIG_SHIM_DIR=/usr/local/bin \
    BENCHRIG_ES_SPOOL=/data/es-spool \
    HOME=/data

USER benchrig:benchrig
WORKDIR /data
VOLUME ["/data"]
EXPOSE 8080
ENTRYPOINT ["/usr/local/bin/benchrig"]
CMD ["serve", "--listen", "0.0.0.0:8080", "--store", "/data/benchrig.db"]

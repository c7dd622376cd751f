# sandq image. One image serves every role:
#   docker run … sandq start api | start worker | start all (the default)
# `start all` without REDIS_URL would start a private redis-server, which this
# image does not ship: set REDIS_URL (docker-compose.yml does).
# NODE_ENV=production: the API (roles api and all) refuses to start without
# API_KEYS, and serves Bull Board and /metrics only with ADMIN_USER/ADMIN_PASSWORD.
# The worker role needs extra container settings for bubblewrap; see the
# comment at the end of this file and the worker service in docker-compose.yml.

ARG NODE_IMAGE=node:20-bookworm-slim

# ---- build: compile TypeScript to dist/ ----
FROM ${NODE_IMAGE} AS build
WORKDIR /app
# Manifests first, so the dependency layer is reused while only src/ changes.
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npm run build

# ---- runtime ----
FROM ${NODE_IMAGE} AS runtime

# bubblewrap builds the sandboxes; python3 is a sandbox runtime. node (the
# image's own, /usr/local/bin/node) and bash are already here, and all three
# live under /usr, the only host tree the sandbox mounts (read-only).
# bash-builtins gives test cases' runner an rm without a process of its own.
RUN apt-get update \
 && apt-get install -y --no-install-recommends bubblewrap bash-builtins python3 \
 && rm -rf /var/lib/apt/lists/*

# Fixed ids so volume ownership and host-side policies can name them.
# (uid 1000 is the base image's `node` user.)
RUN groupadd --system --gid 10001 sandq \
 && useradd --system --uid 10001 --gid sandq --home-dir /nonexistent --no-create-home \
      --shell /usr/sbin/nologin sandq

WORKDIR /app
# Runtime dependencies only. --ignore-scripts is safe: esbuild finds its binary
# in the @esbuild/linux-* optional package, and msgpackr-extract (optional,
# prebuilt) falls back to pure JS if absent.
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund \
 && npm cache clean --force
COPY --from=build /app/dist ./dist
# The built-in language definitions, read at start (dist/ resolves them at ../languages).
COPY languages ./languages
# Python, JavaScript, TypeScript and Bash run with what is above. More languages'
# toolchains: --build-arg LANGUAGES="c go rust" (names or aliases), or
# LANGUAGES=--all for every built-in one, installed as on a host.
ARG LANGUAGES=""
RUN if [ -n "$LANGUAGES" ]; then \
      node dist/cli/sandq.js languages install $LANGUAGES && rm -rf /var/lib/apt/lists/*; \
    fi
# /app stays root-owned: the service cannot rewrite its own code.

# SANDBOX_WORK_ROOT is where each job's files are written before bwrap binds
# them in. /tmp is world-writable (1777), so the worker creates /tmp/sandq
# itself, as whatever user it runs as, and can chmod it 0711 as the code does.
ENV NODE_ENV=production \
    HOST=0.0.0.0 \
    PORT=3000 \
    SANDBOX_WORK_ROOT=/tmp/sandq

# Non-root for every role, the worker included: bubblewrap (not setuid on
# Debian) then runs unprivileged in a user namespace of its own. The price,
# which `sandq doctor` and /readyz report: every sandbox runs as this same
# uid (a root worker gives each its own uid from SANDBOX_UID_BASE), work dirs
# are plain directories rather than size-capped tmpfs mounts, and without a
# delegated, writable cgroup the limits fall back to rlimits. A worker that
# must hold Node's memory needs a writable cgroup (cgroup v2 with
# --cgroupns=private and write access to it).
USER sandq

# 3000: the API. 9464: a worker's /metrics and /healthz, when WORKER_METRICS_PORT=9464.
EXPOSE 3000 9464

# Liveness of the API role (no curl in the slim image; Node 20 has fetch).
# A worker has no API port: docker-compose.yml replaces this check with one on
# its metrics listener's /healthz; with plain `docker run … start worker`, set
# WORKER_METRICS_PORT and --health-cmd likewise, or pass --no-healthcheck.
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.PORT||3000)+'/healthz',{signal:AbortSignal.timeout(4000)}).then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]

ENTRYPOINT ["node", "dist/cli/sandq.js"]
CMD ["start", "all"]

# What bubblewrap needs from the container (roles worker and all), without
# --privileged:
#  - The host kernel must allow unprivileged user namespaces
#    (kernel.unprivileged_userns_clone=1 where that sysctl exists; on Ubuntu
#    23.10+ also kernel.apparmor_restrict_unprivileged_userns=0).
#  - seccomp=unconfined (or a custom profile): Docker's default profile allows
#    unshare, clone with namespace flags (CLONE_NEWUSER…), mount, umount2 and
#    pivot_root only to containers granted CAP_SYS_ADMIN.
#  - apparmor=unconfined: the docker-default AppArmor profile has `deny mount`.
#  - systempaths=unconfined: Docker masks parts of /proc (/proc/kcore,
#    /proc/keys, …) and the kernel refuses a new procfs mount (bwrap --proc,
#    for the sandbox's PID namespace) while paths of the old one are covered.
#  - On SELinux hosts, possibly label=disable (container_t may not mount tmpfs).

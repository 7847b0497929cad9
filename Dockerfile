# SFU server image. Not exercised by CI (no Docker engine there): it runs the
# same set-up script as `npm start`, so keep the two in step.
#
#   docker build -t sfu-server .
#   docker run --rm --network host -e SFU_MEDIASOUP_ANNOUNCED_ADDRESS=<public IP> -e SFU_AUTH_SECRET=<32+ chars> sfu-server
#   docker run --rm -e SFU_AUTH_SECRET=<same> sfu-server node dist/server/cli/token.js --room R --identity I --role host
#
# Without SFU_AUTH_SECRET the server runs open (anyone gets a participant token), with a warning.
#
# Host networking is simplest for media (one UDP+TCP port per worker from
# 44444, and 40000-49999 for PlainTransports). Without it, publish 4443/tcp
# and 44444-44444+N/udp+tcp, and set SFU_MEDIASOUP_ANNOUNCED_ADDRESS.

# --- build: compiler, Debian libraries, meson; builds the worker, server and web client
FROM node:20-bookworm AS build
WORKDIR /app
COPY package.json package-lock.json ./
COPY scripts ./scripts
COPY tsconfig.json tsconfig.build.json ./
COPY config ./config
COPY server ./server
COPY web ./web
# Installs the Debian build packages, meson/ninja (pip), npm dependencies, builds
# mediasoup's worker against Debian's libraries (libsrtp from Debian's source,
# with OpenSSL), then the web client and the server.
RUN node scripts/setup.mjs --for start \
	&& npm prune --omit=dev --no-audit --no-fund \
	&& ! ldd node_modules/mediasoup/worker/out/Release/mediasoup-worker | grep -q libsrtp2.so

# --- runtime: Node and the worker's shared libraries only
FROM node:20-bookworm-slim
RUN apt-get update \
	&& apt-get install -y --no-install-recommends libuv1 libssl3 libusrsctp2 libabsl20220623 ca-certificates \
	&& rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY --from=build /app/package.json ./
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY --from=build /app/web/dist ./web/dist
COPY --from=build /app/config ./config
ENV NODE_ENV=production
# Self-signed certificates (and open mode's own secret) are kept here; mount a volume, or set SFU_HTTP_TLS_CERT_FILE / SFU_HTTP_TLS_KEY_FILE.
RUN mkdir -p /app/data && chown node:node /app/data
VOLUME ["/app/data"]
EXPOSE 4443/tcp
# SIGTERM drains: meetings run on until they end or SFU_DRAIN_TIMEOUT_MS (10 min); give `docker stop -t` (default 10 s) that long, or lower the setting.
STOPSIGNAL SIGTERM
USER node
CMD ["node", "dist/server/main.js"]

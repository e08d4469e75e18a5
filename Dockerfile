# One image for every role: `docker run IMAGE up` (all in one) or `serve origin|edge|api|worker|chat`.
# Configuration comes from the environment only (TRIBUTARY_*, DATABASE_URL, REDIS_URL): see
# docs/cluster.md and docker-compose.yml.

# The web UI's browser packages (hls.js, socket.io-client, tus-js-client) from npm, pinned by
# the lock file; only node_modules is carried over.
FROM node:20-bookworm-slim AS web-packages
WORKDIR /build/web
COPY web/package.json web/package-lock.json ./
RUN npm ci --no-audit --no-fund --loglevel=error

FROM python:3.11-slim-bookworm
ENV PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    TRIBUTARY_DATA_DIR=/var/lib/tributary \
    TRIBUTARY_LOG_FORMAT=json
# PyAV's wheels carry their own FFmpeg libraries, so the image needs no ffmpeg package.
RUN useradd --system --create-home --home-dir /var/lib/tributary tributary
WORKDIR /opt/tributary
# Dependencies first, so editing the code does not reinstall them.
COPY pyproject.toml README.md ./
RUN mkdir -p tributary && touch tributary/__init__.py \
    && pip install . && pip uninstall -y tributary && rm -rf tributary build
COPY . .
COPY --from=web-packages /build/web/node_modules web/node_modules
RUN pip install --no-deps -e .
USER tributary
VOLUME /var/lib/tributary
# RTMP, the origin/API/all-in-one HTTP port, an edge, a worker's health port, a chat node.
EXPOSE 1935 8080 8081 8082 8083
ENTRYPOINT ["tributary"]
CMD ["up"]

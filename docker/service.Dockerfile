# The service itself (worker and HTTP API in one image; the command chooses), built offline by
# scripts/service-image.ts FROM the local base image the sandbox uses (git and CA certificates
# included): Node from the build's context, the app compiled to JavaScript, production
# dependencies only. Never pulled from a registry.
ARG BASE
FROM ${BASE}

COPY node /usr/local/bin/node
# A fixed non-root uid. A worker also needs the Docker engine's socket (add its group with
# `--group-add`), see README "Deployment".
RUN groupadd -g 1002 bugfix && useradd -u 1002 -g bugfix -d /app -s /usr/sbin/nologin -M bugfix
WORKDIR /app
# Dependencies first: a change of the app alone reuses this layer.
COPY app/node_modules /app/node_modules
COPY app/ /app/
COPY service-entry.sh /usr/local/bin/bugfix-service
ENV NODE_ENV=production LANG=C.UTF-8 PATH=/usr/local/bin:/usr/bin:/bin
USER 1002:1002
ENTRYPOINT ["/usr/local/bin/bugfix-service"]

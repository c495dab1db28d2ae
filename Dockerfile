# One image, two commands: `start` (the balancer, the default) and `replica` (one replica server).
# BASE is any image with node >= 20 and npm; `docker/make-base-image.sh` makes one with no registry.
ARG BASE=node:20-bookworm-slim

FROM ${BASE} AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npm run build && npm prune --omit=dev --ignore-scripts --no-audit --no-fund

FROM ${BASE}
WORKDIR /app
ENV NODE_ENV=production
ENV MALLOC_MMAP_THRESHOLD_=65536
COPY --from=build /app/package.json ./
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
# Replicas run as `node`; the balancer's service runs as root to reach the Docker socket (compose.yaml).
USER node
EXPOSE 5000
ENTRYPOINT ["node", "--max-semi-space-size=2", "--single-threaded-gc", "--v8-pool-size=1", "dist/cli/main.js"]
CMD ["start"]

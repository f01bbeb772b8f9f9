# One image recipe for every service of the example shop:
#   docker build --build-arg SERVICE=billing-service -t tidings-billing .
# docker-compose.yml builds the four services from it.
FROM node:20-alpine AS build
WORKDIR /app
COPY package.json package-lock.json tsconfig.json tsconfig.base.json ./
COPY packages ./packages
COPY examples ./examples
COPY tests ./tests
# npm ci builds too (the root's prepare); the build below then has nothing left to do
RUN npm ci --no-audit --no-fund
RUN npx tsc -b tsconfig.json && npm prune --omit=dev --no-audit --no-fund

FROM node:20-alpine
ARG SERVICE
RUN test -n "$SERVICE" || (echo "Build with --build-arg SERVICE=<order|billing|logistic|notification>-service" && false)
ENV NODE_ENV=production
WORKDIR /app
COPY --from=build --chown=node:node /app ./
WORKDIR /app/examples/${SERVICE}
USER node
# node itself as the command (not npm), so SIGTERM reaches the service and closeOnSignals drains it.
CMD ["node", "dist/src/main.js"]

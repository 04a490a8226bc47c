# The app image: worker and API share it (the compose file runs each as its own service).
# Node 24 runs the TypeScript sources directly (type stripping); there is no build step.
FROM node:24-bookworm-slim
WORKDIR /app
ENV NODE_ENV=production
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force
COPY platform ./platform
COPY domain ./domain
COPY contracts ./contracts
COPY workflows ./workflows
COPY activities ./activities
COPY services ./services
COPY workers ./workers
COPY api ./api
COPY db ./db
COPY assets ./assets
COPY scripts/migrate.ts ./scripts/migrate.ts
USER node
EXPOSE 3000
CMD ["node", "api/server.ts"]

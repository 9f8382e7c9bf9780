# The image relman's GitLab components run: a static relman on a small base with a shell
# (GitLab runs `script:` through sh). Build: docker build -t relman .
FROM rust:1.89-alpine AS build
RUN apk add --no-cache musl-dev
WORKDIR /src
COPY . .
RUN cargo build --release --locked --bin relman \
 && cp target/release/relman /relman

FROM alpine:3.20
RUN apk add --no-cache ca-certificates git \
 && adduser -D -u 10001 relman
COPY --from=build /relman /usr/local/bin/relman
USER relman
ENTRYPOINT ["relman"]
